"""``gankit collect``: play a game into the frame cache, optionally copy the frames to a
``.npy`` of the user's, draw a preview of them, and say the command that trains on them.

``--out`` never overwrites: the name may be a data set the user cares about, and collecting
again is cheap and deterministic, so an existing file is an error, not a replacement. The
preview beside it is a picture made from the frames and is simply rewritten.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import numpy as np

from gankit.data import atari
from gankit.errors import UserError

TRAIN_PRESET = "breakout-fast"  # any game's 210x160 frames, at half size, in minutes on a CPU
PREVIEW_FRAMES = 16  # frames in the preview grid, spread over the whole collection
PREVIEW_COLS = 4


def check_out(out: Path) -> None:
    """Refuse an ``--out`` that could not be written or would replace a file, before playing."""
    if out.suffix.lower() != ".npy":
        raise UserError(
            f"--out {out} has suffix {out.suffix!r}; accepted: a .npy file name, the array "
            "`gankit train` reads with data.name=array."
        )
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: the folder {out.parent} does not exist; create it first.")
    if out.exists():
        raise UserError(
            f"--out {out} already exists; give a new file name (collect never overwrites one)."
        )


def preview_path(frames_file: Path) -> Path:
    """The preview PNG beside a frames file: ``x.npy`` or ``x.zst`` -> ``x.preview.png``."""
    return frames_file.with_suffix(".preview.png")


def save_preview(frames: np.ndarray, path: Path) -> Path:
    """A grid of :data:`PREVIEW_FRAMES` frames taken evenly from first to last."""
    from gankit.viz.images import image_grid
    from gankit.viz.points import save_png

    pick = np.unique(np.linspace(0, len(frames) - 1, PREVIEW_FRAMES).round().astype(int))
    return save_png(image_grid(frames[pick], cols=min(PREVIEW_COLS, len(pick))), path)


def train_command(
    game: str, n: int, frameskip: int, dedupe: bool, seed: int, out: Path | None
) -> str | None:
    """The ``gankit train`` line that trains on these frames, or None when none can (frames of
    a seed other than 0 live only in the cache, and training plays its own with seed 0).

    With ``out``: the array file, whose last fifth (at most ``data.holdout``) is held out.
    Without: the preset with the settings that differ, so it finds the cached frames by them."""
    from gankit.config import load_config

    sets: list[str] = []
    if out is not None:
        sets = ["data.name=array", f"data.path={out.resolve()}"]
    elif seed != 0:
        return None
    else:
        d = load_config(TRAIN_PRESET).data
        for key, value, default in (
            ("game", game, d.game),
            ("n", n, d.n),
            ("frameskip", frameskip, d.frameskip),
            ("dedupe", dedupe, d.dedupe),
        ):
            if value != default:
                sets.append(f"data.{key}={str(value).lower() if key == 'dedupe' else value}")
    words = ["gankit", "train", TRAIN_PRESET]
    for s in sets:
        words += ["--set", s]
    return shlex.join(words)


def _size(n_bytes: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes} bytes"


def _save_npy(frames: np.ndarray, out: Path) -> None:
    """A plain ``.npy`` written atomically, with the permissions a new file gets (the temporary
    file it is renamed from is private to the user)."""
    atari.write_atomic(out, lambda f: np.save(f, frames, allow_pickle=False))
    umask = os.umask(0)
    os.umask(umask)
    out.chmod(0o666 & ~umask)


def run(
    game: str,
    n: int,
    frameskip: int,
    dedupe: bool,
    seed: int,
    out: Path | None,
    progress: bool = True,
) -> list[str]:
    """Collect, write ``out`` (a plain ``.npy``) and the preview; return what to tell the user."""
    if out is not None:
        check_out(out)
        out = out.resolve()  # the message's paths and command work from any folder
    frames, cached = atari.collect_frames(game, n, frameskip, dedupe, seed, progress)
    record = cached.with_suffix(".json")
    lines = [
        f"{n:,} frames of {game} cached in {cached} ({_size(cached.stat().st_size)}; how they "
        f"were collected: {record})"
    ]
    if out is not None:
        _save_npy(frames, out)
        lines.append(f"and written to {out} ({_size(out.stat().st_size)}, uint8 {frames.shape})")
    preview = save_preview(frames, preview_path(out if out is not None else cached))
    lines.append(f"preview of {min(n, PREVIEW_FRAMES)} of them: {preview}")
    command = train_command(game, n, frameskip, dedupe, seed, out)
    if command is None:
        lines.append(
            f"train on them: collect again with --out FILE.npy (training plays its frames with "
            f"seed 0, these have seed {seed})"
        )
    else:
        lines.append(f"train on them: {command}")
    return lines
