"""What the page draws, computed from an engine through its public interface only
(``sample``, ``critic``, ``latent``) and the loss table, so it holds for every engine:

* real and fake samples, each fake coloured by whether it fools D (D's realness > 0.5);
* D's decision heat-map: realness on a grid over the plot;
* G's gradient on each fake sample: the direction (and size) in which G's own objective
  pushes that sample, -dL_G/dx = -dL_G/dD(x) * dD/dx: the first factor from the loss table
  by autograd on D's outputs alone, the second from D by finite differences (so it holds
  for every engine, whatever computes D's gradients);
* G's manifold: a latent grid pushed through G (for a latent of more than two, a 2-D slice
  through the origin along two chosen components, the others held at 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gankit import streams
from gankit.config import Config
from gankit.data.toy import PointData, plot_extent
from gankit.engines.base import Engine, realness
from gankit.losses import LOSSES, torch_ops

SHOWN = 200  # fake samples (each with its arrow) and real samples drawn per frame
REAL_REF = 200  # held-out real samples D's realness is centred on (critics, relativistic D)
GRID = 32  # D's heat-map is GRID x GRID realness values
MANIFOLD_1D = 120  # latent points along a 1-D latent
MANIFOLD_2D = 20  # latent grid side for 2-D slices


def _round(a: np.ndarray, digits: int = 4) -> list[Any]:
    return np.round(np.asarray(a, dtype=np.float64), digits).tolist()


def push_points(fake: np.ndarray, h: float) -> np.ndarray:
    """The points D is asked about for G's push: each fake sample moved by h along each axis
    in turn (forward differences of D: half the evaluations of central ones, and D's slope
    over h, 0.1 % of the plot, differs from its gradient only where a kink lies that close)."""
    return np.concatenate([fake + h * e for e in np.eye(fake.shape[1])])


def g_push(
    cfg: Config, fake_out: np.ndarray, moved_out: np.ndarray, real_out: np.ndarray, h: float
):
    """-dL_G/dx for each fake sample x, times the number of samples (each sample's own
    share of G's objective, not diluted by the batch size), from D's raw outputs on the
    fakes, on :func:`push_points` and on real samples."""
    import torch

    n = len(fake_out)
    d = len(moved_out) // n
    dd_dx = ((moved_out - np.tile(fake_out, d)) / h).reshape(d, n).T  # (n, d)
    loss = LOSSES[cfg.loss.name]
    f = torch.tensor(fake_out, dtype=torch.float64, requires_grad=True)
    r = torch.tensor(np.resize(real_out, n), dtype=torch.float64)
    loss.g(torch_ops(), r if loss.relativistic else None, f).backward()
    dl_df = f.grad.numpy() * n  # type: ignore[union-attr]
    return -dl_df[:, None] * dd_dx


class Views:
    """The fixed draws of one session's views (latent batch, real samples shown, the grid),
    and :meth:`frame`, the views of the engine as it stands."""

    def __init__(self, cfg: Config, engine: Engine, data: PointData, slice_dims=(0, 1)) -> None:
        self.cfg, self.engine, self.data = cfg, engine, data
        self.dim = data.dim
        self.extent = plot_extent(data)
        self.z = engine.latent(SHOWN, streams.rng(cfg.seed, streams.SNAPSHOT_LATENT))
        rng = streams.rng(cfg.seed, streams.SHOWN_REAL)
        self.real = data.train[rng.permutation(len(data.train))[:SHOWN]]
        self.real_ref = data.holdout[:REAL_REF]
        span = self.extent[1::2] - self.extent[0::2]
        self.h = float(1e-3 * span.mean())  # D's finite-difference step: 0.1 % of the plot
        self.grid = self._grid()
        self.slice_dims = self._slice(slice_dims)
        self.manifold_z = self._manifold_z()

    def _grid(self) -> np.ndarray:
        e = self.extent
        xs = np.linspace(e[0], e[1], GRID, dtype=np.float32)
        if self.dim == 1:
            return xs[:, None]
        ys = np.linspace(e[2], e[3], GRID, dtype=np.float32)
        gx, gy = np.meshgrid(xs, ys)  # row 0 = ymin
        return np.stack([gx.ravel(), gy.ravel()], axis=1)

    def _slice(self, dims: tuple[int, int] | list[int]) -> tuple[int, int]:
        k = self.cfg.model.latent_dim
        if k < 2:
            return (0, 0)
        i, j = (int(dims[0]) % k, int(dims[1]) % k)
        return (i, j) if i != j else (i, (i + 1) % k)

    def _manifold_z(self) -> np.ndarray | None:
        m = self.cfg.model
        lo, hi = (-1.0, 1.0) if m.latent_dist == "uniform" else (-2.5, 2.5)
        if m.latent_dim == 1:
            return np.linspace(lo, hi, MANIFOLD_1D, dtype=np.float32)[:, None]
        axis = np.linspace(lo, hi, MANIFOLD_2D, dtype=np.float32)
        a, b = np.meshgrid(axis, axis)
        z = np.zeros((MANIFOLD_2D * MANIFOLD_2D, m.latent_dim), dtype=np.float32)
        z[:, self.slice_dims[0]], z[:, self.slice_dims[1]] = a.ravel(), b.ravel()
        return z

    def real_points(self) -> dict[str, Any]:
        """What changes only with the data: sent once per data set."""
        return {"real": _round(self.real), "extent": _round(self.extent), "dim": self.dim}

    def frame(self) -> dict[str, Any]:
        """The views now. One call of G and one of D for all of them: a frame costs a few
        milliseconds, so the page redraws often without slowing training much."""
        e, loss, n = self.engine, self.cfg.loss.name, len(self.z)
        zs = self.z if self.manifold_z is None else np.concatenate([self.z, self.manifold_z])
        made = e.sample(zs).astype(np.float64)
        fake, manifold = made[:n], made[n:]
        finite = bool(np.isfinite(made).all())
        if not finite:  # a diverged G: nothing to judge; the page says the samples are NaN
            fake = np.nan_to_num(fake, nan=0.0, posinf=0.0, neginf=0.0)
            manifold = np.nan_to_num(manifold, nan=0.0, posinf=0.0, neginf=0.0)
        moved = push_points(fake, self.h)
        asked = np.concatenate([self.real_ref, fake, moved, self.grid]).astype(np.float32)
        out_all = e.critic(asked).astype(np.float64)
        k = len(self.real_ref)
        real_out, fake_out = out_all[:k], out_all[k : k + n]
        moved_out, grid_out = out_all[k + n : k + n + len(moved)], out_all[k + n + len(moved) :]
        push = g_push(self.cfg, fake_out, moved_out, real_out, self.h) if finite else 0 * fake
        score = realness(loss, fake_out, real_out, fake_out)
        field = realness(loss, grid_out, real_out, fake_out)
        out: dict[str, Any] = {
            "fake": _round(fake),
            "fooled": (score > 0.5).astype(int).tolist(),
            "push": _round(np.nan_to_num(push), 5),
            "field": np.round(np.nan_to_num(field, nan=0.5) * 255).astype(int).tolist(),
            "grid": GRID,
            "finite": finite,
            "slice": list(self.slice_dims),
        }
        if self.manifold_z is not None and self.dim == 2:
            out["manifold"] = {
                "points": _round(manifold),
                "side": 0 if self.cfg.model.latent_dim == 1 else MANIFOLD_2D,
            }
        return out
