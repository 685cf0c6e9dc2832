"""``gankit tensorboard RUN...``: TensorBoard event files written from a run directory after
the fact, so any run (any engine, trained anywhere) opens in TensorBoard.

What is written, for each run, into ``RUN/tensorboard`` (or ``LOGDIR/<run name>``):

* every number of metrics.jsonl as a scalar at its row's step, tagged by its key's path in
  the row: ``d_loss``, ``layer_grads/G.fc0``, ``eval/w1/value``. Protocols (``.../protocol``:
  sample counts and settings of a score, not measurements), lists (per-mode counts), booleans
  and nulls (a NaN or inf in the run) are left out. A step logged twice (a second ``gankit
  eval`` at the same step) keeps its last value;
* the snapshot pictures as images at their steps: for image runs
  ``snapshots/real_vs_generated`` (step_N.png) and ``snapshots/grid`` (grid_N.png), for point
  runs ``snapshots/frame``, the frame training.gif shows for that snapshot;
* the resolved config (config.json) as text, tag ``config``.

Writing goes through TensorBoard's own event-file writer (via torch.utils.tensorboard, which
needs the ``tensorboard`` package, not TensorFlow). Earlier event files in the target folder
are deleted first, so a rerun replaces the export instead of adding a second copy of every
event.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from gankit.errors import UserError
from gankit.run import RunDir

EVENT_FILES = "events.out.tfevents.*"
_PICTURE = re.compile(r"^(step|grid)_(\d+)\.png$")
IMAGE_TAGS = {"step": "snapshots/real_vs_generated", "grid": "snapshots/grid"}
FRAME_TAG = "snapshots/frame"
CONFIG_TAG = "config"


def flatten(row: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, float]]:
    """(tag, value) for every number of a metrics row, nested keys joined by '/'."""
    for key, value in row.items():
        if (not prefix and key == "step") or key == "protocol":
            continue
        tag = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from flatten(value, f"{tag}/")
        elif _number(value):
            yield tag, float(value)


def _number(value: Any) -> bool:
    """A finite int or float (bool is an int to Python, not a metric)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def scalars(run: RunDir) -> dict[str, dict[int, float]]:
    """tag -> step -> value over metrics.jsonl (the last row wins a repeated step)."""
    out: dict[str, dict[int, float]] = {}
    for row in run.metrics():
        step = row.get("step")
        if not isinstance(step, int) or isinstance(step, bool):
            continue
        for tag, value in flatten(row):
            out.setdefault(tag, {})[step] = value
    return out


def _read_png(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except OSError as e:
        raise UserError(f"the snapshot picture {path} is unreadable ({e}).") from None


def pictures(run: RunDir) -> Iterator[tuple[str, int, np.ndarray]]:
    """(tag, step, RGB uint8 HWC) for each snapshot picture, in step order."""
    if run.config().data.is_image:
        found = []
        for p in run.snapshots.glob("*.png"):
            m = _PICTURE.match(p.name)
            if m:
                found.append((int(m.group(2)), IMAGE_TAGS[m.group(1)], p))
        for step, tag, path in sorted(found):
            yield tag, step, _read_png(path)
        return
    from gankit.viz.gif import snapshot_paths
    from gankit.viz.palette import run_palette
    from gankit.viz.points import render_frame

    paths = snapshot_paths(run.path)
    if not paths:
        return  # a run stopped before its first snapshot: scalars and config only
    ref = _read_npz(run.snapshots / "real.npz")
    if "real" not in ref or "extent" not in ref:
        raise UserError(f"{run.snapshots / 'real.npz'} lacks the 'real' or 'extent' array.")
    palette = run_palette(run.path)  # the GIF's colours
    for p in paths:
        snap = _read_npz(p)
        step = int(np.asarray(snap["step"]).reshape(-1)[0])
        yield FRAME_TAG, step, render_frame(ref["real"], ref["extent"], snap, palette=palette)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    from gankit.viz.points import load_npz

    try:
        return load_npz(path)
    except (OSError, ValueError, EOFError) as e:  # missing, or half-written by a live run
        raise UserError(f"the snapshot file {path} is unreadable ({e}).") from None


def config_text(run: RunDir) -> str:
    """config.json as Markdown TensorBoard's text plugin renders: a code block."""
    text = json.dumps(run.raw_config(), indent=2)
    return "\n".join(f"    {line}" for line in text.splitlines())


def target_dir(run: RunDir, logdir: Path | None) -> Path:
    return run.path / "tensorboard" if logdir is None else logdir / run.path.resolve().name


def write_events(run_path: str | Path, logdir: str | Path | None = None) -> Path:
    """Write one run's TensorBoard events; returns the folder they are in."""
    from torch.utils.tensorboard import SummaryWriter

    run = RunDir.open(run_path)
    target = target_dir(run, None if logdir is None else Path(logdir))
    if target.exists() and not target.is_dir():
        raise UserError(f"{target} is a file; TensorBoard events need a folder there.")
    series = scalars(run)  # read and draw everything before the old events go
    text = config_text(run)
    drawn = list(pictures(run))
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob(EVENT_FILES):
        old.unlink()
    with SummaryWriter(str(target)) as writer:
        writer.add_text(CONFIG_TAG, text, 0)
        for tag, by_step in series.items():
            for step in sorted(by_step):
                writer.add_scalar(tag, by_step[step], step)
        for tag, step, picture in drawn:
            writer.add_image(tag, picture, step, dataformats="HWC")
    return target


def write_tensorboard(runs: Sequence[str | Path], logdir: str | Path | None = None) -> list[Path]:
    """Events for each of ``runs`` (see :func:`write_events`), checked together first: under
    one --logdir two runs of the same name would overwrite each other."""
    opened = [RunDir.open(r) for r in runs]
    if logdir is not None:
        if Path(logdir).exists() and not Path(logdir).is_dir():
            raise UserError(f"--logdir {logdir} is a file; give a folder.")
        names = [r.path.resolve().name for r in opened]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise UserError(
                f"--logdir {logdir} would get two runs named {twice[0]}; export them one at a "
                "time to different --logdir folders."
            )
    return [write_events(r.path, logdir) for r in opened]
