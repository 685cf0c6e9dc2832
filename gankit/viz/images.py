"""Pictures of image GANs: sample grids, a real image beside a generated one (as the Breakout
seed showed after every epoch), and the GIF of the grids over training.

Pixels are drawn as they are, enlarged by whole factors with nearest-neighbour so that 8x8
digits and Atari frames stay crisp. Pillow only: these run during training, between chunks.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gankit.viz.gif import readable, snapshot_paths, write_gif
from gankit.viz.points import load_npz, save_png

BACKGROUND = (255, 255, 255)
INK = (30, 30, 30)
MIN_SIDE = 96  # small images are enlarged until their shorter side reaches this


def _rgb(images: np.ndarray) -> np.ndarray:
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


def image_grid(
    images: np.ndarray, cols: int | None = None, pad: int = 2, min_side: int = MIN_SIDE
) -> np.ndarray:
    """uint8 (n, H, W, C) -> one RGB picture, row by row, with white gutters; images whose
    sides are all under ``min_side`` are enlarged by a whole factor."""
    images = _rgb(np.asarray(images, dtype=np.uint8))
    n, h, w, _ = images.shape
    f = max(1, math.ceil(min_side / min(h, w))) if max(h, w) < min_side else 1
    images = images.repeat(f, axis=1).repeat(f, axis=2)
    h, w = h * f, w * f
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 255, np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) :][:, :w] = img
    return out


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one fixed-size default font
        return ImageFont.load_default()


def with_header(picture: np.ndarray, text: str, min_width: int = 0) -> np.ndarray:
    """A white band with ``text`` above the picture (centred, widened to ``min_width``)."""
    h, w, _ = picture.shape
    size = 16 if w >= 320 else 12
    band = size + 12
    font = _font(size)
    text_width = math.ceil(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(text, font=font))
    width = max(w, min_width, text_width + 16)
    canvas = Image.new("RGB", (width, h + band), BACKGROUND)
    canvas.paste(Image.fromarray(picture), ((width - w) // 2, band))
    draw = ImageDraw.Draw(canvas)
    draw.text((width // 2, band // 2), text, fill=INK, font=font, anchor="mm")
    return np.asarray(canvas)


def real_beside_fake(real: np.ndarray, fake: np.ndarray, step: int) -> np.ndarray:
    """One real image and one generated image side by side, each under its label."""
    panels = [  # enlarged to at least 160 pixels a side: a frame a person can look at
        with_header(image_grid(real[None], pad=0, min_side=160), "real"),
        with_header(image_grid(fake[None], pad=0, min_side=160), f"generated, step {step:,}"),
    ]
    gap = np.full((panels[0].shape[0], 12, 3), 255, np.uint8)
    width = max(p.shape[1] for p in panels)
    panels = [
        np.pad(p, ((0, 0), (0, width - p.shape[1]), (0, 0)), constant_values=255) for p in panels
    ]
    return np.hstack([panels[0], gap, panels[1]])


def grid_frame(
    fake: np.ndarray, step: int, fooled: float | None, min_side: int = MIN_SIDE
) -> np.ndarray:
    """A GIF frame: the fixed-noise grid under a title with the step and D's verdict."""
    title = f"step {step:,}"
    if fooled is not None:
        title += f"  ·  {100 * fooled:.0f} % of these fool D"
    return with_header(image_grid(fake, min_side=min_side), title)


def write_snapshot_pictures(
    snap_dir: Path, step: int, real: np.ndarray, fake: np.ndarray, fooled: float | None
) -> None:
    """``step_N.png`` (real beside generated) and ``grid_N.png`` (the fixed-noise grid)."""
    save_png(real_beside_fake(real[0], fake[0], step), snap_dir / f"step_{step:07d}.png")
    save_png(grid_frame(fake, step, fooled), snap_dir / f"grid_{step:07d}.png")


def training_gif(run_dir: str | Path, fps: float = 4.0, max_frames: int = 120) -> Path:
    """``RUN/training.gif``: the fixed-noise grid at every snapshot (thinned evenly to at
    most ``max_frames``, the last always kept); also ``snapshots/last.png``."""
    run_dir = Path(run_dir)
    paths = _thin(snapshot_paths(run_dir), max_frames)
    frames = []
    for snap in readable(paths):  # a torn snapshot is a frame left out, with a warning
        fooled = float(np.mean(snap["fake_score"] > 0.5)) if "fake_score" in snap else None
        frames.append(grid_frame(snap["fake"], int(snap["step"]), fooled))
    save_png(frames[-1], run_dir / "snapshots" / "last.png")
    return write_gif(frames, run_dir / "training.gif", fps=fps)


def _thin(paths: Sequence[Path], k: int) -> list[Path]:
    if len(paths) <= k:
        return list(paths)
    keep = np.unique(np.linspace(0, len(paths) - 1, k).round().astype(int))
    return [paths[i] for i in keep]


def latent_walk(z: np.ndarray, frames_between: int, spherical: bool) -> np.ndarray:
    """Latent vectors walking from each of ``z`` to the next and back to the first:
    along great circles for normal latents (where their mass lies), straight lines else."""
    keys = np.concatenate([z, z[:1]])
    t = np.arange(frames_between, dtype=np.float64)[:, None] / frames_between
    steps = []
    for a, b in itertools.pairwise(keys):
        if spherical:
            cos = np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12)
            omega = np.arccos(np.clip(cos, -1.0, 1.0))
            if omega < 1e-6:
                steps.append((1 - t) * a + t * b)
                continue
            steps.append((np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega))
        else:
            steps.append((1 - t) * a + t * b)
    return np.concatenate(steps).astype(np.float32)


def latent_walk_gif(
    engine: object, n_points: int, rng: np.random.Generator, path: str | Path, fps: float = 12.0
) -> Path:
    """A looping GIF of G's output as the latent moves through ``n_points`` random points."""
    from gankit.engines.base import Engine

    assert isinstance(engine, Engine)
    z = engine.latent(n_points, rng)
    walk = latent_walk(z, 16, spherical=engine.cfg.model.latent_dist == "normal")
    images = engine.sample(walk)
    return write_gif([image_grid(img[None], pad=0) for img in images], path, fps=fps)


def sweep_gif(
    run_dirs: Sequence[str | Path], labels: Sequence[str], path: str | Path, fps: float = 4.0
) -> Path:
    """A sweep of image runs: each run's fixed-noise grid under its label, side by side, one
    frame per snapshot index (a run with fewer snapshots holds its last); also a PNG of the
    last frame with the GIF's stem."""
    runs = [snapshot_paths(d) for d in run_dirs]
    frames = []
    for t in range(max(len(p) for p in runs)):
        panels = []
        for label, paths in zip(labels, runs, strict=True):
            snap = load_npz(paths[min(t, len(paths) - 1)])
            panels.append(with_header(grid_frame(snap["fake"], int(snap["step"]), None), label))
        height = max(p.shape[0] for p in panels)
        panels = [np.pad(p, ((0, height - p.shape[0]), (0, 8), (0, 0)), constant_values=255)
                  for p in panels]  # fmt: skip
        frames.append(np.hstack(panels))
    path = Path(path)
    save_png(frames[-1], path.with_suffix(".png"))
    return write_gif(frames, path, fps=fps)
