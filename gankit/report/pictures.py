"""The pictures of the report: the training GIF, real beside generated at the last snapshot,
and the frames of the snapshot slider.

The slider's frames are drawn by the same renderers as the GIF (2-D frames from
gankit.viz.points, image grids from gankit.viz.images), so a frame on the page is the frame
a person saw in the GIF. Sizes are bounded so that a long run still gives a page a browser
opens at once: at most MAX_FRAMES frames thinned evenly (first and last always kept), a
byte budget on top, and a GIF over its budget is re-encoded with fewer frames.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image, ImageSequence

from gankit.report.encode import png_bytes
from gankit.report.plots import points_side_by_side
from gankit.report.runinfo import RunInfo
from gankit.viz.gif import snapshot_paths, write_gif
from gankit.viz.images import grid_frame, image_grid, with_header
from gankit.viz.points import load_npz, render_frame

MAX_FRAMES = 60  # snapshot frames embedded in the slider
SLIDER_BUDGET = 4_000_000  # PNG bytes for all slider frames together
GIF_BUDGET = 3_000_000  # bytes; a larger training.gif is re-encoded with fewer frames
MAX_WIDTH = 1100  # pixels: wider pictures are scaled down to the page's column

T = TypeVar("T")


def thin(items: Sequence[T], k: int) -> list[T]:
    """At most ``k`` items spread evenly, the first and the last always among them."""
    if len(items) <= k:
        return list(items)
    keep = np.unique(np.linspace(0, len(items) - 1, max(k, 2)).round().astype(int))
    return [items[i] for i in keep]


def _fit(img: Image.Image) -> Image.Image:
    if img.width <= MAX_WIDTH:
        return img
    h = round(img.height * MAX_WIDTH / img.width)
    return img.resize((MAX_WIDTH, h), Image.Resampling.BOX)


def _step_of(path: Path) -> int:
    return int(path.stem.split("_")[1])


def training_gif(run: RunInfo) -> tuple[bytes | None, str]:
    """The run's training.gif (re-encoded with fewer frames when over GIF_BUDGET), or None
    and the reason."""
    path = run.path / "training.gif"
    if not path.is_file():
        return None, "This run has no training.gif yet; finishing the run writes it."
    data = path.read_bytes()
    if len(data) <= GIF_BUDGET:
        return data, ""
    with Image.open(path) as gif:
        duration = float(gif.info.get("duration", 100)) or 100.0
        frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(gif)]
    keep = max(2, int(len(frames) * GIF_BUDGET / len(data)))
    with tempfile.TemporaryDirectory() as tmp:
        out = write_gif(thin(frames, keep), Path(tmp) / "t.gif", fps=1000.0 / duration)
        small = out.read_bytes()
    note = f"{len(thin(frames, keep))} of the GIF's {len(frames)} frames, to keep the page small."
    return small, note


def real_beside_generated(run: RunInfo) -> tuple[bytes | None, int | None]:
    """A picture of real data beside G's output at the last snapshot, and that step."""
    paths = snapshot_paths(run.path)
    real_path = run.path / "snapshots" / "real.npz"
    if not paths or not real_path.is_file():
        return None, None
    real, snap = load_npz(real_path), load_npz(paths[-1])
    step = _step_of(paths[-1])
    if "real" not in real or "fake" not in snap:
        return None, None
    if run.is_image:
        fake = np.asarray(snap["fake"])
        n = min(len(fake), len(real["real"]))
        panels = [
            with_header(image_grid(real["real"][:n]), "real (held out)"),
            with_header(image_grid(fake[:n]), f"generated at step {step:,}"),
        ]
        height = max(p.shape[0] for p in panels)
        panels = [
            np.pad(p, ((0, height - p.shape[0]), (0, 0), (0, 0)), constant_values=255)
            for p in panels
        ]
        gap = np.full((height, 24, 3), 255, np.uint8)
        picture = Image.fromarray(np.hstack([panels[0], gap, panels[1]]))
        return png_bytes(_fit(picture)), step
    scores = np.asarray(snap.get("fake_score", np.zeros(len(snap["fake"]))))
    extent = real.get("extent", np.array([-1.0, 1.0, -1.0, 1.0]))
    return points_side_by_side(real["real"], extent, snap["fake"], scores, step), step


def _frame(run: RunInfo, path: Path, real: dict[str, np.ndarray] | None) -> Image.Image:
    """The GIF's frame of one snapshot: the saved grid picture for images (drawn again when
    missing), the 2-D frame for points."""
    if run.is_image:
        grid = path.with_name(f"grid_{path.stem.split('_')[1]}.png")
        if grid.is_file():
            return _fit(Image.open(grid).convert("RGB"))
        snap = load_npz(path)
        score = snap.get("fake_score")
        fooled = float(np.mean(score > 0.5)) if score is not None and score.size else None
        return _fit(Image.fromarray(grid_frame(snap["fake"], _step_of(path), fooled)))
    assert real is not None
    frame = render_frame(real["real"], real["extent"], load_npz(path))
    return _fit(Image.fromarray(frame))


def slider_frames(run: RunInfo) -> tuple[list[tuple[int, bytes]], int]:
    """(step, PNG) of the slider's frames, and the number of snapshots the run has."""
    paths = snapshot_paths(run.path)
    if not paths:
        return [], 0
    real = None
    if not run.is_image:
        real_path = run.path / "snapshots" / "real.npz"
        if not real_path.is_file():
            return [], len(paths)
        real = load_npz(real_path)
        if "real" not in real or "extent" not in real:
            return [], len(paths)
    frames = []
    for p in thin(paths, MAX_FRAMES):
        try:
            frames.append((_step_of(p), png_bytes(_frame(run, p, real))))
        except (OSError, ValueError, KeyError, EOFError):
            continue  # a snapshot being written right now, or torn by a crash
    total = sum(len(b) for _, b in frames)
    if total > SLIDER_BUDGET and len(frames) > 2:
        frames = thin(frames, max(2, int(len(frames) * SLIDER_BUDGET / total)))
    return frames, len(paths)
