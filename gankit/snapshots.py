"""Snapshots: what the pictures of a run are made from, taken by the training loop between
chunks. Points: G on a fixed latent batch and D's field over the plot. Images: G on a fixed
latent batch, D's verdict on each, and the pictures a person looks at during training."""

from __future__ import annotations

from typing import Any

import numpy as np

from gankit import streams
from gankit.config import Config
from gankit.data import Data, ImageData
from gankit.data.toy import plot_extent
from gankit.engines.base import Engine, realness
from gankit.run import RunDir

REAL_REFERENCE = 2000  # real points drawn under every 2-D frame


def save_real_reference(run: RunDir, cfg: Config, data: Data) -> None:
    """``snapshots/real.npz``: the real points (and the plot range) or real images that every
    picture of the run shows beside the generated ones."""
    rng = streams.rng(cfg.seed, streams.SHOWN_REAL)
    if isinstance(data, ImageData):
        pick = rng.permutation(len(data.holdout))[: cfg.viz.images]
        run.save_real(real=data.holdout[pick])
    else:
        real = data.train[rng.permutation(len(data.train))[:REAL_REFERENCE]]
        run.save_real(real=real, extent=plot_extent(data))


class PointSnapshots:
    """What one 2-D GIF frame needs: G on a fixed latent batch, D on those points and on a
    grid over the plot."""

    def __init__(self, cfg: Config, engine: Engine, data: Data, run: RunDir) -> None:
        self.cfg, self.engine, self.run = cfg, engine, run
        self.z = engine.latent(cfg.viz.points, streams.rng(cfg.seed, streams.SNAPSHOT_LATENT))
        self.real_ref = data.holdout[: cfg.viz.points]
        self.extent = plot_extent(data)
        self.grid = _grid(self.extent, cfg.viz.grid) if data.dim <= 2 else None

    def __call__(self, step: int, stats: dict[str, float]) -> None:
        e, loss = self.engine, self.cfg.loss.name
        fake = e.sample(self.z)
        real_out, fake_out = e.critic(self.real_ref), e.critic(fake)
        arrays: dict[str, Any] = {
            "fake": fake.astype(np.float32),
            "fake_score": realness(loss, fake_out, real_out, fake_out),
            **_losses(stats),
        }
        if self.grid is not None:
            field = realness(loss, e.critic(self.grid), real_out, fake_out)
            side = self.cfg.viz.grid
            arrays["field"] = field.reshape(side, side) if self.grid.shape[1] == 2 else field
        self.run.save_snapshot(step, arrays)


class ImageSnapshots:
    """G on a fixed latent batch (the grid of the GIF), D's realness of each image, and the
    seed's picture: a real image beside a generated one."""

    def __init__(self, cfg: Config, engine: Engine, data: ImageData, run: RunDir) -> None:
        self.cfg, self.engine, self.run = cfg, engine, run
        self.z = engine.latent(cfg.viz.images, streams.rng(cfg.seed, streams.SNAPSHOT_LATENT))
        rng = streams.rng(cfg.seed, streams.SHOWN_REAL)
        self.real_ref = data.holdout[rng.permutation(len(data.holdout))[: cfg.viz.images]]

    def __call__(self, step: int, stats: dict[str, float]) -> None:
        from gankit.viz.images import write_snapshot_pictures

        e, loss = self.engine, self.cfg.loss.name
        fake = e.sample(self.z)
        real_out, fake_out = e.critic(self.real_ref), e.critic(fake)
        score = realness(loss, fake_out, real_out, fake_out)
        self.run.save_snapshot(step, {"fake": fake, "fake_score": score, **_losses(stats)})
        fooled = float(np.mean(score > 0.5))
        write_snapshot_pictures(self.run.snapshots, step, self.real_ref, fake, fooled)


def make_snapshots(
    cfg: Config, engine: Engine, data: Data, run: RunDir
) -> PointSnapshots | ImageSnapshots:
    if isinstance(data, ImageData):
        return ImageSnapshots(cfg, engine, data, run)
    return PointSnapshots(cfg, engine, data, run)


def _losses(stats: dict[str, float]) -> dict[str, Any]:
    return {
        "d_loss": np.float64(stats.get("d_loss", np.nan)),
        "g_loss": np.float64(stats.get("g_loss", np.nan)),
    }


def _grid(extent: np.ndarray, side: int) -> np.ndarray:
    """Points of a regular grid over the plot range; rows run along y (row 0 = ymin)."""
    xs = np.linspace(extent[0], extent[1], side, dtype=np.float32)
    if len(extent) == 2:
        return xs[:, None]
    ys = np.linspace(extent[2], extent[3], side, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)
