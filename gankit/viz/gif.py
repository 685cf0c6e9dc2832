"""Animated GIFs of training: one run, or several runs of a sweep side by side.

All frames of a GIF are quantised to one shared palette without dithering. Per-frame adaptive
palettes make the grey heat-map flicker from frame to frame, and dithering both adds noise to
the flat background and defeats the LZW compression that keeps the file small.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from gankit.errors import UserError
from gankit.viz.palette import Palette, run_palette
from gankit.viz.points import load_npz, render_frame, save_png

_STEP_FILE = re.compile(r"^step_(\d+)\.npz$")
_PALETTE_SAMPLES = 8  # frames that vote on the shared palette


def _shared_palette(frames: Sequence[np.ndarray], exact: Sequence[str] = ()) -> Image.Image:
    """A 256-colour palette built from a few frames spread over the run, holding the
    ``exact`` colours ("#rrggbb") as they are: the median cut merges a colour that covers
    few pixels (a legend's marker when no point has it) into a larger neighbour."""
    picks = np.unique(np.linspace(0, len(frames) - 1, _PALETTE_SAMPLES).round().astype(int))
    # Stack every other row/column of the picked frames: plenty of pixels, a quarter of the work.
    sample = np.concatenate([np.asarray(frames[i])[::2, ::2, :3] for i in picks], axis=0)
    quantized = Image.fromarray(np.ascontiguousarray(sample, dtype=np.uint8)).quantize(
        colors=256 - len(exact), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    if not exact:
        return quantized
    found = (quantized.getpalette() or [])[: 3 * (256 - len(exact))]
    found += [0] * (3 * (256 - len(exact)) - len(found))
    extra = [int(c[i : i + 2], 16) for c in exact for i in (1, 3, 5)]
    palette = Image.new("P", (1, 1))
    palette.putpalette(found + extra)
    return palette


def write_gif(
    frames: Sequence[np.ndarray], path: str | Path, fps: float = 10.0, exact: Sequence[str] = ()
) -> Path:
    """Write RGB uint8 frames (all the same shape) as a GIF that loops forever, the
    ``exact`` colours ("#rrggbb", the points' palette) kept as they are.

    Pillow is called directly rather than through ``imageio.v3.imwrite`` because imageio hands
    Pillow RGB arrays, which Pillow then quantises frame by frame with a fresh palette each time.
    Note that Pillow merges consecutive identical frames into one longer frame, so a GIF of
    unchanging frames reads back with fewer frames than were written.
    """
    if not frames:
        raise UserError("There are no frames to write to a GIF.")
    if fps <= 0:
        raise UserError(f"The GIF frame rate must be positive, got {fps}.")
    shape = np.asarray(frames[0]).shape
    if any(np.asarray(f).shape != shape for f in frames):
        raise ValueError("all GIF frames must have the same shape")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    palette = _shared_palette(frames, exact)
    images = [
        Image.fromarray(np.asarray(f, dtype=np.uint8)[..., :3]).quantize(
            palette=palette, dither=Image.Dither.NONE
        )
        for f in frames
    ]
    from gankit.run import replacing

    with replacing(path) as tmp:  # a Ctrl-C mid-write leaves no 0-byte GIF
        images[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=round(1000.0 / fps),
            loop=0,
            optimize=False,  # True would build a per-frame local palette again
            disposal=1,
        )
    return path


def snapshot_paths(run_dir: str | Path) -> list[Path]:
    """The run's ``step_*.npz`` files ordered by step (numeric, so 10,000,000 sorts last)."""
    snap_dir = Path(run_dir) / "snapshots"
    found = []
    for p in snap_dir.glob("step_*.npz"):
        m = _STEP_FILE.match(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return [p for _, p in sorted(found)]


def readable(paths: Sequence[Path]) -> list[dict[str, np.ndarray]]:
    """The snapshots that load; one a crash or a disk left torn is passed over with a
    warning (the GIF loses a frame, not the run its pictures), unless none is left."""
    out = []
    for path in paths:
        try:
            out.append(load_npz(path))
        except UserError as e:
            warnings.warn(f"{e} It is left out of the GIF.", stacklevel=2)
    if not out:
        raise UserError(f"none of the {len(paths)} snapshot files could be read; see above.")
    return out


def _load_run(run_dir: str | Path) -> tuple[np.ndarray, np.ndarray, list[Path]]:
    """Real points, plot extent and ordered snapshot paths; UserError if anything is missing."""
    run_dir = Path(run_dir)
    real_path = run_dir / "snapshots" / "real.npz"
    paths = snapshot_paths(run_dir)
    if not paths:
        raise UserError(f"The run {run_dir} has no snapshots (snapshots/step_*.npz) to animate.")
    if not real_path.is_file():
        raise UserError(f"The run {run_dir} has snapshots but no {real_path.name} next to them.")
    real = load_npz(real_path)  # torn: one sentence naming it
    if "real" not in real or "extent" not in real:
        raise UserError(f"The file {real_path} lacks the 'real' or 'extent' array.")
    return real["real"], real["extent"], paths


def training_gif(run_dir: str | Path, fps: float = 10.0, palette: Palette | None = None) -> Path:
    """Animate one run: writes ``RUN/training.gif`` and ``RUN/snapshots/last.png``.

    Every snapshot becomes one frame, so the snapshot interval of the training loop decides
    the GIF's length and file size (roughly 20-60 kB per frame). The points take
    ``palette``'s colours, by default those of the run's ``viz.palette``.
    """
    run_dir = Path(run_dir)
    real, extent, paths = _load_run(run_dir)
    colours = palette or run_palette(run_dir)
    frames = [render_frame(real, extent, snap, palette=colours) for snap in readable(paths)]
    save_png(frames[-1], run_dir / "snapshots" / "last.png")
    keep = (colours.real, colours.fooled, colours.caught)
    return write_gif(frames, run_dir / "training.gif", fps=fps, exact=keep)


def side_by_side_gif(
    run_dirs: Sequence[str | Path],
    labels: Sequence[str],
    path: str | Path,
    fps: float = 10.0,
    palette: Palette | None = None,
) -> Path:
    """Animate a sweep: one panel per run, side by side, aligned by snapshot index.

    Runs with fewer snapshots hold their last frame while the others go on. The last combined
    frame is also saved as a PNG with the GIF's stem, for slides and reports. The points take
    ``palette``'s colours, by default the first run's ``viz.palette``.
    """
    if not run_dirs:
        raise UserError("There are no runs to put side by side.")
    if len(labels) != len(run_dirs):
        raise UserError(f"Got {len(run_dirs)} runs but {len(labels)} labels; give one per run.")
    runs = [_load_run(d) for d in run_dirs]  # fail early, before any rendering
    n_frames = max(len(paths) for _, _, paths in runs)
    colours = palette or run_palette(run_dirs[0])

    # Render lazily and keep only each run's latest panel, so memory holds combined frames only.
    latest: list[np.ndarray | None] = [None] * len(runs)
    combined = []
    for t in range(n_frames):
        for i, (real, extent, paths) in enumerate(runs):
            if t < len(paths):
                snap = load_npz(paths[t])
                latest[i] = render_frame(real, extent, snap, labels[i], colours)
        combined.append(np.hstack([p for p in latest if p is not None]))

    path = Path(path)
    save_png(combined[-1], path.with_suffix(".png"))
    return write_gif(combined, path, fps=fps, exact=(colours.real, colours.fooled, colours.caught))
