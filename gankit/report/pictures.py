"""The pictures of the report: the training GIF, real beside generated at the last snapshot,
and the frames of the snapshot slider.

The slider's frames are drawn by the same renderers as the GIF (2-D frames from
gankit.viz.points, image grids from gankit.viz.images), so a frame on the page is the frame
a person saw in the GIF. Sizes are bounded so that a long run still gives a page a browser
opens at once: at most MAX_FRAMES frames thinned evenly (first and last always kept), a
byte budget on top, and a GIF over its budget is re-encoded with fewer frames.
"""

from __future__ import annotations

import math
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
SLIDER_BUDGET = 2_500_000  # PNG bytes for all slider frames together
GIF_BUDGET = 1_200_000  # bytes; a larger training.gif is re-encoded smaller for the page
GIF_WIDTH = 480  # pixels: the width of such a re-encoded GIF
MAX_WIDTH = 1100  # pixels: wider pictures are scaled down to the page's column
MAX_HEIGHT = 900  # pixels: a slider frame of images no taller, to fit a laptop's screen
TITLE_BAND = 28  # pixels: with_header's band over a grid at least 320 wide

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
    """The run's training.gif, or None and the reason. A GIF over GIF_BUDGET is made
    smaller for the page (narrower, then fewer frames): the slider below it holds the
    snapshots at full size, so the GIF only needs to show the motion."""
    path = run.path / "training.gif"
    if not path.is_file():
        return None, "This run has no training.gif yet; finishing the run writes it."
    data = path.read_bytes()
    if len(data) <= GIF_BUDGET:
        return data, ""
    with Image.open(path) as gif:
        duration = float(gif.info.get("duration", 100)) or 100.0
        frames = [f.convert("RGB") for f in ImageSequence.Iterator(gif)]
    if run.is_image:  # drawn again with smaller whole-pixel cells: blurred pixels compress badly
        frames = _small_grids(run, len(frames)) or frames
    w, h = frames[0].size
    if w > GIF_WIDTH:
        size = (GIF_WIDTH, round(h * GIF_WIDTH / w))
        frames = [f.resize(size, Image.Resampling.LANCZOS) for f in frames]
    arrays = [np.asarray(f) for f in frames]
    keep = len(arrays)
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(3):  # the size is nearly proportional to the frame count
            out = write_gif(thin(arrays, keep), Path(tmp) / "t.gif", fps=1000.0 / duration)
            small = out.read_bytes()
            if len(small) <= GIF_BUDGET or keep <= 2:
                break
            keep = max(2, int(keep * 0.95 * GIF_BUDGET / len(small)))
    shown = len(thin(arrays, keep))
    note = f"shown smaller, {shown} of its {len(arrays)} frames"
    return small, note if shown < len(arrays) else "shown smaller"


def _small_grids(run: RunInfo, n_frames: int) -> list[Image.Image]:
    """The image GIF's frames (the fixed-noise grid under its title) with cells enlarged
    only as far as GIF_WIDTH allows."""
    frames = []
    for p in thin(snapshot_paths(run.path), n_frames):
        snap = load_npz(p)
        fake, score = np.asarray(snap["fake"]), snap.get("fake_score")
        side = _enlarged_side(fake.shape[1:3], len(fake), GIF_WIDTH)
        title = f"step {_step_of(p):,}"
        if score is not None and score.size:
            title += f"  ·  {100 * float(np.mean(score > 0.5)):.0f} % of these fool D"
        frames.append(Image.fromarray(with_header(image_grid(fake, min_side=side), title)))
    return frames


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
        side = _grid_side(fake.shape[1:3], n)
        panels = [
            with_header(image_grid(real["real"][:n], min_side=side), "real (held out)"),
            with_header(image_grid(fake[:n], min_side=side), f"generated at step {step:,}"),
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


def _enlarged_side(hw: tuple[int, int], n: int, width: int, height: int | None = None) -> int:
    """image_grid's ``min_side`` that enlarges ``n`` small images of ``hw`` pixels by the
    largest whole factor whose grid (and the title band above it) fits ``width`` (and
    ``height``): whole factors keep pixels square and crisp, where scaling the finished
    picture down would blur them."""
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    factor = (width // cols - 2) // max(hw)
    if height is not None:
        factor = min(factor, ((height - TITLE_BAND) // rows - 2) // max(hw))
    return factor * min(hw) if factor > 1 else 0


def _grid_side(hw: tuple[int, int], n: int) -> int:
    """Two grids side by side within the page."""
    return _enlarged_side(hw, n, (MAX_WIDTH - 24) // 2)


def _slider_side(hw: tuple[int, int], n: int) -> int:
    """A slider frame: within the page's column and MAX_HEIGHT (the saved grid pictures are
    drawn small, for the GIF; Breakout's come out twice as large here)."""
    return _enlarged_side(hw, n, MAX_WIDTH, MAX_HEIGHT)


def _frame(run: RunInfo, path: Path, real: dict[str, np.ndarray] | None) -> Image.Image:
    """The GIF's frame of one snapshot: for images the fixed-noise grid drawn again from
    the snapshot as large as the page allows (whole-pixel cells, the same title), for
    points the 2-D frame."""
    if run.is_image:
        snap = load_npz(path)
        fake, score = np.asarray(snap["fake"]), snap.get("fake_score")
        fooled = float(np.mean(score > 0.5)) if score is not None and score.size else None
        side = _slider_side(fake.shape[1:3], len(fake))
        return _fit(Image.fromarray(grid_frame(fake, _step_of(path), fooled, min_side=side)))
    assert real is not None
    frame = render_frame(real["real"], real["extent"], load_npz(path))
    return _fit(Image.fromarray(frame))


def _gif_frames(run: RunInfo, paths: list[Path], picks: list[Path]) -> list[Image.Image] | None:
    """The picked snapshots' frames read back from training.gif, which holds one frame per
    snapshot drawn by the same renderer: decoding is a hundred times cheaper than drawing
    again. None when the GIF does not match the snapshots one to one (a live run, or frames
    Pillow merged because they were identical)."""
    path = run.path / "training.gif"
    if not path.is_file() or path.stat().st_mtime < paths[-1].stat().st_mtime:
        return None
    index = {p: i for i, p in enumerate(paths)}
    try:
        with Image.open(path) as gif:
            if getattr(gif, "n_frames", 1) != len(paths):
                return None
            frames = []
            for p in picks:
                gif.seek(index[p])
                frames.append(gif.convert("RGB"))
            return frames
    except (OSError, ValueError, EOFError):
        return None


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
    picks = thin(paths, MAX_FRAMES)
    frames = []
    from_gif = None if run.is_image else _gif_frames(run, paths, picks)
    if from_gif is not None:
        frames = [(_step_of(p), png_bytes(_fit(f))) for p, f in zip(picks, from_gif, strict=True)]
    for p in [] if from_gif is not None else picks:
        try:
            frames.append((_step_of(p), png_bytes(_frame(run, p, real))))
        except (OSError, ValueError, KeyError, EOFError):
            continue  # a snapshot being written right now, or torn by a crash
    total = sum(len(b) for _, b in frames)
    if total > SLIDER_BUDGET and len(frames) > 2:
        frames = thin(frames, max(2, int(len(frames) * SLIDER_BUDGET / total)))
    return frames, len(paths)
