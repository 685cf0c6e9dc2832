"""KL and JS divergence between two sets of 1-D or 2-D points, on a fixed histogram grid.

GAN Lab charts these over training: they say in one number how far G's distribution is
from the data's, where the losses say only how D and G are doing against each other (a
bce D's loss sits near ln 2 both when G is perfect and when D has given up learning).

Pure NumPy, no engine. Both sets are binned on the same fixed grid over ``extent`` (the
lab's plot range), a point outside it counted in the nearest border bin (G's mass far
from the data must still count against it, not vanish from both histograms). Each
histogram is mixed with a little of the uniform distribution over the bins (``smoothing``)
so that an empty bin has a small positive probability and KL stays finite: without it, one
fake-free bin holding a real point makes KL(real || fake) infinite, from the first step to
the last. With ``smoothing = 0`` the plain histogram estimates come back (KL may be inf).

Natural logarithms: JS lies in [0, ln 2], ln 2 for disjoint supports.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["BINS_1D", "BINS_2D", "SMOOTHING", "bin_probabilities", "histogram_divergences"]

BINS_1D = 40  # bins over a 1-D extent
BINS_2D = 20  # bins per axis over a 2-D extent: 400 cells, ~2.5 samples each for 1,000
SMOOTHING = 1e-3  # weight of the uniform distribution mixed into each histogram


def bin_probabilities(
    x: Any, extent: Any, bins: int | None = None, smoothing: float = SMOOTHING
) -> np.ndarray:
    """The smoothed histogram of points ``x`` ((n,), (n, 1) or (n, 2)) on the grid of
    ``bins`` equal bins per axis over ``extent`` ([x0, x1] or [x0, x1, y0, y1]), flattened,
    summing to 1."""
    pts = np.asarray(x, dtype=np.float64)
    if pts.ndim == 1:
        pts = pts[:, None]
    lims = np.asarray(extent, dtype=np.float64).reshape(-1, 2)
    dim = len(lims)
    if pts.ndim != 2 or pts.shape[1] != dim or dim not in (1, 2) or len(pts) < 1:
        raise ValueError(f"points must be (n, {dim}) with n >= 1 for this extent; got {pts.shape}.")
    if not np.isfinite(pts).all():
        raise ValueError("points must be finite to be binned.")
    if not 0.0 <= smoothing <= 1.0:
        raise ValueError(f"smoothing must be in [0, 1]; got {smoothing!r}.")
    side = int(bins or (BINS_1D if dim == 1 else BINS_2D))
    lo, width = lims[:, 0], (lims[:, 1] - lims[:, 0]) / side
    if not (width > 0).all():
        raise ValueError(f"the extent must have x1 > x0 (and y1 > y0); got {list(extent)}.")
    cell = np.clip(np.floor((pts - lo) / width), 0, side - 1).astype(np.int64)
    flat = cell[:, 0] if dim == 1 else cell[:, 0] * side + cell[:, 1]
    counts = np.bincount(flat, minlength=side**dim).astype(np.float64)
    return (1.0 - smoothing) * counts / counts.sum() + smoothing / counts.size


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) in nats, 0 log 0 = 0; inf where p has mass that q has not."""
    held = p > 0
    if np.any(q[held] == 0):
        return math.inf
    return max(float(np.sum(p[held] * np.log(p[held] / q[held]))), 0.0)


def histogram_divergences(
    real: Any, fake: Any, extent: Any, bins: int | None = None, smoothing: float = SMOOTHING
) -> dict[str, float]:
    """``kl``: KL(real || fake), large when G misses part of the data (a lost mode is a
    real bin G leaves empty); ``js``: the Jensen-Shannon divergence, symmetric and at most
    ln 2. Both on :func:`bin_probabilities` of the two sets (the same grid)."""
    p = bin_probabilities(real, extent, bins, smoothing)
    q = bin_probabilities(fake, extent, bins, smoothing)
    m = 0.5 * (p + q)
    js = 0.5 * _kl(p, m) + 0.5 * _kl(q, m)
    return {"kl": _kl(p, q), "js": min(js, math.log(2.0))}
