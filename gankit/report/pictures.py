"""The pictures of the report: the snapshot frames (which the page animates in place of
the training GIF and shows again under the slider), and real beside generated at the last
snapshot.

The frames are drawn by the same renderers as the GIF (2-D frames from gankit.viz.points,
image grids from gankit.viz.images), so a frame on the page is the frame a person saw in
the GIF. The page embeds each frame once (lossy WebP, or palette PNG where that is smaller)
and its animation plays those same frames: the GIF itself would add the same pictures again
at a GIF's much larger size. Sizes are bounded so that a long run still gives a page a
browser opens at once: at most MAX_FRAMES frames thinned evenly (first and last always
kept), and a byte budget on top.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image

from gankit.errors import UserError
from gankit.report.encode import png_bytes, webp_bytes
from gankit.report.plots import points_side_by_side
from gankit.report.runinfo import RunInfo
from gankit.viz.gif import snapshot_paths
from gankit.viz.images import grid_frame, image_grid
from gankit.viz.points import load_npz, render_frame

MAX_FRAMES = 60  # snapshot frames embedded in the page
# WebP bytes for all frames together: with the plots (about 0.2 MB) and base64's third on
# top it keeps a page under 1.5 MB; sixty 2-D frames or 36 Breakout grids take 0.9 MB
FRAMES_BUDGET = 950_000
MAX_WIDTH = 1100  # pixels: wider pictures are scaled down to the page's column
MAX_HEIGHT = 900  # pixels: a slider frame of images no taller, to fit a laptop's screen
TITLE_BAND = 28  # pixels: with_header's band over a grid at least 320 wide

T = TypeVar("T")
Frames = list[tuple[int, bytes]]  # (step, picture) of the frames a page shows


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


def real_beside_generated(run: RunInfo) -> tuple[list[tuple[str, bytes]], int | None]:
    """Real data and G's output at the last snapshot, as two (caption, PNG) pictures the
    page sets side by side (one under the other on a phone), and that step."""
    paths = snapshot_paths(run.path)
    real_path = run.path / "snapshots" / "real.npz"
    if not paths or not real_path.is_file():
        return [], None
    try:
        real, snap = load_npz(real_path), load_npz(paths[-1])
    except UserError:  # torn by a crash: the page goes without this picture
        return [], None
    step = _step_of(paths[-1])
    if "real" not in real or "fake" not in snap:
        return [], None
    if run.is_image:
        fake = np.asarray(snap["fake"])
        n = min(len(fake), len(real["real"]))
        side = _grid_side(fake.shape[1:3], n)
        grids = [
            ("real (held out)", image_grid(real["real"][:n], min_side=side)),
            (f"generated at step {step:,}", image_grid(fake[:n], min_side=side)),
        ]
        return [(cap, png_bytes(Image.fromarray(grid))) for cap, grid in grids], step
    scores = np.asarray(snap.get("fake_score", np.zeros(len(snap["fake"]))))
    extent = real.get("extent", np.array([-1.0, 1.0, -1.0, 1.0]))
    pngs = points_side_by_side(real["real"], extent, snap["fake"], scores, step, run.palette)
    return list(zip(("real", f"generated at step {step:,}"), pngs, strict=True)), step


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
    frame = render_frame(real["real"], real["extent"], load_npz(path), palette=run.palette)
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


def _encoder(sample: Image.Image) -> Callable[[Image.Image], bytes]:
    """The smaller of the two codecs for a run's frames, judged on one of them: lossy WebP
    for 2-D frames (a smooth heat-map) and game frames, palette PNG for grids of small
    images enlarged by whole pixels (8x8 digits), whose flat blocks PNG stores in a few
    bytes where WebP would spend more and blur their edges."""
    return png_bytes if len(png_bytes(sample)) <= len(webp_bytes(sample)) else webp_bytes


def _within_budget(frames: Frames) -> Frames:
    """Fewer frames, evenly spread, until they fit FRAMES_BUDGET (first and last kept)."""
    while len(frames) > 2 and (total := sum(len(b) for _, b in frames)) > FRAMES_BUDGET:
        keep = min(len(frames) - 1, int(len(frames) * FRAMES_BUDGET / total))
        frames = thin(frames, max(2, keep))
    return frames


def slider_frames(run: RunInfo) -> tuple[Frames, int]:
    """(step, WebP or PNG) of the page's frames, and the number of snapshots the run has."""
    paths = snapshot_paths(run.path)
    if not paths:
        return [], 0
    real = None
    if not run.is_image:
        real_path = run.path / "snapshots" / "real.npz"
        if not real_path.is_file():
            return [], len(paths)
        try:
            real = load_npz(real_path)
        except UserError:  # torn by a crash: no slider
            return [], len(paths)
        if "real" not in real or "extent" not in real:
            return [], len(paths)
    picks = thin(paths, MAX_FRAMES)
    from_gif = None if run.is_image else _gif_frames(run, paths, picks)
    drawn: dict[Path, Image.Image] = {}
    if from_gif is not None:
        drawn = {p: _fit(f) for p, f in zip(picks, from_gif, strict=True)}
    encode = None
    frames = []
    # the last frame first: the codec is chosen on it, the most detailed one as a rule
    for p in [picks[-1], *picks[:-1]]:
        try:
            img = drawn.pop(p) if p in drawn else _frame(run, p, real)
        except (OSError, ValueError, KeyError, EOFError, UserError):
            continue  # a snapshot being written right now, or torn by a crash
        encode = encode or _encoder(img)
        frames.append((_step_of(p), encode(img)))
    frames.sort(key=lambda frame: frame[0])
    return _within_budget(frames), len(paths)
