"""Atari frames for GAN training: play any game ale-py ships with a random policy, keep the
screens, cache them as one ``uint8 (N, 210, 160, 3)`` array so a second run does not replay.

Why these choices:

* The env is ``ALE/<Name>-v5`` made with ``frameskip=1, repeat_action_probability=0.0,
  full_action_space=False``; we repeat each action ``frameskip`` times ourselves and keep the
  last screen. ALE's own frameskip hides the intermediate life counts, and sticky actions would
  make "frameskip 4" only roughly 4; doing it here makes the skip exact and any value possible.
* The policy is uniform over the game's minimal action set, except that it presses FIRE on
  reset and after every lost life: Breakout (and others) show no ball until it is served, and a
  GAN trained on ball-less frames would learn a game that never moves.
* Env and policy are both seeded from ``seed``, so the same arguments give the same frames.
* ``dedupe`` drops a frame whose bytes equal a kept one (title screens, pauses after a lost
  life), which would otherwise be over-weighted in training.
* The cache file (``<game>-<n>-fs<skip>-<dedupe|all>-s<seed>.zst``) is the array's plain
  ``.npy`` compressed with zstd (``zstd -d FILE -o FILE.npy`` gives the ``.npy`` back), with a
  ``.json`` of how the frames were collected beside it. Frames are a black background, a few
  colours and near-copies of their neighbours: 12,000 Breakout frames take 3.6 MB instead of
  1.2 GB (303 bytes a frame instead of 100,800) and loaded in a median 0.45 s on 2 cores
  (1.9 s in a run where touching fresh memory was slow, as raw ``.npy`` was then too).
  docs/benchmarks/frame-cache.md measures the others: palette indices cost more to expand
  back to RGB than zstd saves, zlib loads several times slower, and zstd level 1 is both
  smaller and faster to write than the default level 3 on these frames. Loading decompresses
  straight into the array, no second copy; a checksum catches a damaged file. A raw ``.npy``
  cached by earlier versions is read once, rewritten this way and removed.

Speed, measured 2026-11-23 on a 2-core machine shared with other work (load 1.5-2): 10,000
distinct Breakout frames, frameskip 4, dedupe on (18,151 agent steps, 8,151 duplicates skipped,
115 episodes) took 13.5-17.5 s of play (then 3.5 s to write the raw 1.0 GB ``.npy`` of those
days); with dedupe off, 8.7 s of play (about 1,150 frames/s, 4,600 emulator frames/s).
Stepping ALE directly instead of through ``env.step`` measured only ~30 % faster, not worth
leaving gymnasium for.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from gankit.cache import cache_dir
from gankit.errors import UserError

FRAME_SHAPE = (210, 160, 3)  # every ALE game renders at this size
ENV_KWARGS: dict[str, Any] = {
    "frameskip": 1,  # we skip frames ourselves, see the module docstring
    "repeat_action_probability": 0.0,  # no sticky actions: randomness comes from the policy
    "full_action_space": False,  # the game's minimal set, so random actions are meaningful
}
CACHE_SUFFIX = ".zst"  # a zstd-compressed .npy (the module docstring says why)
LEGACY_SUFFIX = ".npy"  # raw arrays cached before; read once, rewritten, removed
ZSTD_LEVEL = 1  # smaller and faster than zstd's default 3 on game frames
MAX_STEPS_WITHOUT_NEW_FRAME = 20_000  # a game that only repeats itself would loop forever
_PROGRESS_EVERY = 100  # frames between progress-bar refreshes; refreshing costs time


@functools.cache
def _env_ids() -> dict[str, str]:
    """snake_case game -> gymnasium id, read from ale-py's own registrations (not guessed).

    ale-py ships ROMs it registers no ``-v5`` env for (two-player-only games such as
    ``combat``); they are left out because they cannot be played here."""
    import ale_py
    import gymnasium as gym

    gym.register_envs(ale_py)
    roms = set(ale_py.roms.get_all_rom_ids())
    ids: dict[str, str] = {}
    for spec in gym.registry.values():
        game = spec.kwargs.get("game")
        if spec.id.startswith("ALE/") and spec.id.endswith("-v5") and game in roms:
            ids[str(game)] = spec.id
    return ids


def available_games() -> list[str]:
    """The snake_case names of the games ale-py ships and registers, sorted."""
    return sorted(_env_ids())


def _env_id(game: str) -> str:
    ids = _env_ids()
    if game not in ids:
        raise UserError(f"unknown game {game!r}; available: {', '.join(sorted(ids))}.")
    return ids[game]


def _check_args(game: str, n_frames: int, frameskip: int) -> str:
    env_id = _env_id(game)
    if n_frames < 1:
        raise UserError(f"n_frames is {n_frames}; give a whole number of frames of at least 1.")
    if frameskip < 1:
        raise UserError(f"frameskip is {frameskip}; give a whole number of at least 1.")
    return env_id


def frames_path(game: str, n_frames: int, frameskip: int, dedupe: bool, seed: int) -> Path:
    """Where the frames for these arguments are cached; the ``.json`` beside it says how."""
    _check_args(game, n_frames, frameskip)
    kind = "dedupe" if dedupe else "all"
    return cache_dir("atari") / f"{game}-{n_frames}-fs{frameskip}-{kind}-s{seed}{CACHE_SUFFIX}"


def write_frames(f: Any, frames: np.ndarray) -> None:
    """Write ``frames`` to the open binary file ``f`` as a zstd-compressed ``.npy``."""
    import zstandard

    cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True, threads=-1)
    with cctx.stream_writer(f, closefd=False) as z:
        np.save(z, np.ascontiguousarray(frames), allow_pickle=False)


def read_frames(path: Path) -> np.ndarray:
    """The uint8 array of a file :func:`write_frames` wrote, bit for bit. The ``.npy`` header
    is parsed first and the pixels decompressed straight into the array, so loading costs one
    pass of zstd and no copy. Raises ``ValueError`` (or ``OSError``, ``EOFError``, a zstd
    error) when the file is not such an array."""
    import zstandard

    fmt = np.lib.format
    with open(path, "rb") as f, zstandard.ZstdDecompressor().stream_reader(f) as z:
        version = fmt.read_magic(z)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"{path} holds .npy version {version}, not 1.0 or 2.0")
        read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = read_header(z)
        if dtype != np.uint8 or fortran:
            raise ValueError(f"{path} holds a {dtype} array (Fortran order {fortran}), not uint8")
        frames = np.empty(shape, np.uint8)
        pixels = memoryview(frames.reshape(-1))
        filled = 0
        while filled < len(pixels):
            got = z.readinto(pixels[filled:])
            if not got:
                raise EOFError(f"{path} ends after {filled:,} of {len(pixels):,} bytes")
            filled += got
        if z.read(1):
            raise ValueError(f"{path} holds more bytes than its array")
    return frames


def _read_cached(path: Path, n_frames: int) -> np.ndarray | None:
    """The frames cached at ``path`` (zstd, or a legacy raw ``.npy``), or None when the file is
    missing, unreadable or not ``n_frames`` uint8 frames: such a file is played again, not
    trusted."""
    import zstandard

    if not path.exists():
        return None
    try:
        if path.suffix == CACHE_SUFFIX:
            frames = read_frames(path)
        else:
            frames = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zstandard.ZstdError):
        return None
    if (
        isinstance(frames, np.ndarray)
        and frames.shape == (n_frames, *FRAME_SHAPE)
        and frames.dtype == np.uint8
    ):
        return frames
    return None


def write_atomic(path: Path, write: Any) -> None:
    """Write through a temporary file in the same folder and rename it into place, so a reader
    (or a run killed half-way) never sees a half-written cache file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _play(
    env_id: str, n_frames: int, frameskip: int, dedupe: bool, seed: int, progress: bool
) -> tuple[np.ndarray, dict[str, Any]]:
    """Play until ``n_frames`` frames are kept; return them and counts for the record."""
    import ale_py
    import gymnasium as gym
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    gym.register_envs(ale_py)
    env = gym.make(env_id, **ENV_KWARGS)
    try:
        meanings = env.unwrapped.get_action_meanings()  # type: ignore[attr-defined]
        n_actions = len(meanings)
        fire = meanings.index("FIRE") if "FIRE" in meanings else None
        rng = np.random.default_rng(seed)
        frames = np.empty((n_frames, *FRAME_SHAPE), dtype=np.uint8)
        seen: set[bytes] = set()
        kept = skipped = stale = 0
        _, info = env.reset(seed=seed)
        lives, serve, episodes = info["lives"], True, 1
        bar = Progress(
            TextColumn(f"[bold]{env_id}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not progress,
        )
        with bar:
            task = bar.add_task("frames", total=n_frames)
            while kept < n_frames:
                action = fire if serve and fire is not None else int(rng.integers(n_actions))
                serve = False
                for _ in range(frameskip):
                    obs, _, terminated, truncated, info = env.step(action)
                    if terminated or truncated:
                        break
                if dedupe:
                    digest = hashlib.blake2b(obs.data, digest_size=16).digest()
                    new = digest not in seen
                    seen.add(digest)
                else:
                    new = True
                if new:
                    frames[kept] = obs
                    kept += 1
                    stale = 0
                    if kept % _PROGRESS_EVERY == 0:
                        bar.update(task, completed=kept)
                else:
                    skipped += 1
                    stale += 1
                    if stale >= MAX_STEPS_WITHOUT_NEW_FRAME:
                        raise UserError(
                            f"{env_id} showed no new frame in {stale:,} random steps after "
                            f"{kept:,} distinct ones; ask for fewer frames or set dedupe off."
                        )
                if info["lives"] < lives:
                    serve = True
                lives = info["lives"]
                if terminated or truncated:
                    _, info = env.reset()
                    lives, serve = info["lives"], True
                    episodes += 1
            bar.update(task, completed=kept)
    finally:
        env.close()
    policy = "uniform random over the minimal action set" + (
        f"; FIRE (action {fire}) on reset and after each lost life" if fire is not None else ""
    )
    return frames, {"policy": policy, "episodes": episodes, "duplicates_skipped": skipped}


def collect(
    game: str,
    n_frames: int,
    frameskip: int = 4,
    dedupe: bool = True,
    seed: int = 0,
    progress: bool = True,
) -> Path:
    """Play ``game`` with the seeded random policy, write the frames and a JSON record of how
    they were made into the cache, and return the cache file. Always plays, even if cached."""
    return collect_frames(game, n_frames, frameskip, dedupe, seed, progress)[1]


def collect_frames(
    game: str,
    n_frames: int,
    frameskip: int = 4,
    dedupe: bool = True,
    seed: int = 0,
    progress: bool = True,
) -> tuple[np.ndarray, Path]:
    """:func:`collect`, returning the frames too (not read back from the cache)."""
    import ale_py
    import gymnasium as gym

    env_id = _check_args(game, n_frames, frameskip)
    path = frames_path(game, n_frames, frameskip, dedupe, seed)
    start = time.perf_counter()
    frames, counts = _play(env_id, n_frames, frameskip, dedupe, seed, progress)
    record = {
        "game": game,
        "env_id": env_id,
        "env_kwargs": ENV_KWARGS,
        "ale_py_version": ale_py.__version__,
        "gymnasium_version": gym.__version__,
        "n_frames": n_frames,
        "shape": list(frames.shape),
        "dtype": str(frames.dtype),
        "frameskip": frameskip,
        "dedupe": dedupe,
        "seed": seed,
        "policy": counts["policy"],
        "episodes": counts["episodes"],  # episodes frames came from; the last is unfinished
        "duplicates_skipped": counts["duplicates_skipped"],
        "seconds": round(time.perf_counter() - start, 3),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "stored_as": f"a .npy compressed by zstd level {ZSTD_LEVEL} (zstd -d gives the .npy)",
    }
    text = json.dumps(record, indent=2) + "\n"
    # the record first: frames in the cache then always have their .json beside them
    write_atomic(path.with_suffix(".json"), lambda f: f.write(text.encode()))
    write_atomic(path, lambda f: write_frames(f, frames))
    path.with_suffix(LEGACY_SUFFIX).unlink(missing_ok=True)  # a raw copy of the same frames
    return frames, path


def load_frames(
    game: str,
    n_frames: int,
    frameskip: int = 4,
    dedupe: bool = True,
    seed: int = 0,
    progress: bool = True,
) -> np.ndarray:
    """The frames for these arguments: from the cache when a sound copy is there, else played
    now and cached. A cached file that will not load or has the wrong shape or dtype is played
    again rather than trusted. A sound raw ``.npy`` of earlier versions is rewritten compressed
    and removed: the same frames, a hundredth of the disk."""
    path = frames_path(game, n_frames, frameskip, dedupe, seed)
    frames = _read_cached(path, n_frames)
    if frames is not None:
        return frames
    legacy = path.with_suffix(LEGACY_SUFFIX)
    frames = _read_cached(legacy, n_frames)
    if frames is not None:
        write_atomic(path, lambda f: write_frames(f, frames))
        legacy.unlink(missing_ok=True)
        return frames
    return collect_frames(game, n_frames, frameskip, dedupe, seed, progress)[0]
