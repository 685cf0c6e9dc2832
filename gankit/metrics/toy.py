"""Scores for the toy problems: mode coverage, Wasserstein-1, sine-curve fit, 1-D Gaussian fit.

Pure NumPy / SciPy / POT, no engine and no file I/O, so that the same function scores samples
from any engine (or from the data itself, which gives the floor a model can reach).

Every score returns a dict with a ``protocol`` entry that says what was measured, on how many
samples and with which parameters. A number in a results file means little without it: the
share of "high-quality" samples depends on sigma, the Wasserstein distance on how many points
were compared, the x coverage on the number of bins. All values are plain Python ``int`` /
``float`` / ``str`` / ``list`` so that the dicts go straight into JSON (the one exception is
``reverse_kl = inf`` when no sample is high quality; ``json.dumps`` writes it as ``Infinity``).

Inputs must be finite: a ``ValueError`` names the first bad row. A generator that emits NaN has
diverged, and a score computed around the NaNs would hide that.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
import ot
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist
from scipy.stats import norm, wasserstein_distance

__all__ = [
    "GRID25_SIGMA",
    "RING8_SIGMA",
    "gaussian_scores",
    "grid25_centres",
    "mode_scores",
    "ring8_centres",
    "sine_scores",
    "wasserstein1",
]

RING8_SIGMA = 0.01  # PacGAN (Lin et al. 2018), Table 1: 8 Gaussians on the unit circle
GRID25_SIGMA = 0.05  # PacGAN, Table 1: 25 Gaussians on {-4, -2, 0, 2, 4}^2

# Share of a 2-D isotropic Gaussian within 3 sigma of its mean: 1 - exp(-9/2). The chi
# distribution with 2 degrees of freedom has P(r <= t) = 1 - exp(-t^2 / 2).
HQ_CEILING_2D = 1.0 - math.exp(-4.5)  # 0.98889...

SINE_CURVE_POINTS = 20_001  # vertices of the polyline that stands in for y = sin(5x) + c
SINE_OUTSIDE_X = 1.05  # |x| beyond this counts as "outside" the data's x range


# --------------------------------------------------------------------------- helpers


def _points(x: Any, name: str, dim: int | None = None) -> np.ndarray:
    """``x`` as a finite float64 (n, d) array with n >= 1; (n,) is read as (n, 1)."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must have shape (n, d) with n >= 1; got {np.shape(x)}.")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"{name} must have shape (n, {dim}); got {arr.shape}.")
    if not np.isfinite(arr).all():
        row = int(np.argwhere(~np.isfinite(arr))[0][0])
        raise ValueError(f"{name} has a NaN or infinite value in row {row}.")
    return arr


def _positive(value: float, name: str) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive finite number; got {value!r}.")
    return v


# --------------------------------------------------------------------------- mode coverage


def ring8_centres() -> np.ndarray:
    """The 8 centres of PacGAN's ring, ``(cos 2πk/8, sin 2πk/8)`` for k = 0..7, as (8, 2).

    Angles are ``2πk/8``, not ``linspace(0, 2π, 8)``: the latter puts the first and last centre
    on the same point and leaves a gap, so a "perfect" generator would score 7 modes.
    Use with ``sigma = RING8_SIGMA`` (0.01).
    """
    angle = 2.0 * np.pi * np.arange(8) / 8.0
    return np.stack([np.cos(angle), np.sin(angle)], axis=1)


def grid25_centres() -> np.ndarray:
    """The 25 centres of PacGAN's grid, ``{-4, -2, 0, 2, 4}²``, as (25, 2), row-major in x.

    Use with ``sigma = GRID25_SIGMA`` (0.05).
    """
    g = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    return np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)


def mode_scores(
    samples: np.ndarray, centres: np.ndarray, sigma: float, min_count: int = 1
) -> dict[str, Any]:
    """Mode coverage of 2-D samples against a Gaussian mixture, as in PacGAN's Table 1.

    A sample is *high quality* (HQ) when it lies within ``3 * sigma`` (Euclidean) of its
    nearest centre; it is then registered to that centre. Returns:

    * ``modes``: number of centres with at least ``min_count`` HQ samples (1 in the brief and by
      default: "the generator reached this mode at all").
    * ``n_modes``: number of centres.
    * ``high_quality``: share of all samples that are HQ, in [0, 1]. Samples drawn from the
      mixture itself reach only ``1 - exp(-4.5) ≈ 0.9889`` (``HQ_CEILING_2D``): the radius of a
      2-D isotropic Gaussian is chi with 2 degrees of freedom. That is the ceiling; a model
      scoring above it is tighter than the data, not better.
    * ``reverse_kl``: ``KL(p || uniform)`` where ``p`` is the histogram of HQ samples over the
      centres, natural log, ``0 log 0 = 0``. 0 means the HQ samples are spread evenly; all of
      them on one centre gives exactly ``ln k``. With no HQ sample ``p`` does not exist and
      the value is ``float('inf')``: a model that produces nothing near any mode must not score
      as if it were merely collapsed (``ln k``) or, worse, perfect (0).
    * ``per_mode``: HQ counts per centre, in the order of ``centres``.
    * ``protocol``: what was measured.

    The reverse KL is taken over HQ samples only, so it measures how evenly the *good* samples
    share the modes; ``high_quality`` says how many samples that is.
    """
    x = _points(samples, "samples", dim=2)
    c = _points(centres, "centres", dim=2)
    sigma = _positive(sigma, "sigma")
    if int(min_count) < 1:
        raise ValueError(f"min_count must be >= 1; got {min_count!r}.")
    n, k = x.shape[0], c.shape[0]
    radius = 3.0 * sigma

    dist, nearest = cKDTree(c).query(x, k=1)
    hq = dist <= radius
    counts = np.bincount(nearest[hq], minlength=k)
    n_hq = int(counts.sum())

    if n_hq == 0:
        kl = float("inf")
    else:
        p = counts[counts > 0] / n_hq  # 0 log 0 = 0: empty modes drop out of the sum
        kl = float(np.sum(p * (np.log(p) + math.log(k))))
        kl = max(kl, 0.0)  # rounding can leave -1e-17 for an exactly uniform histogram

    return {
        "modes": int(np.count_nonzero(counts >= int(min_count))),
        "n_modes": int(k),
        "high_quality": n_hq / n,
        "reverse_kl": kl,
        "per_mode": [int(v) for v in counts],
        "protocol": {
            "name": "pacgan-modes",
            "n_samples": int(n),
            "sigma": sigma,
            "hq_radius": radius,
            "min_count": int(min_count),
            "kl": "KL(HQ histogram || uniform), natural log",
        },
    }


# --------------------------------------------------------------------------- Wasserstein-1


def wasserstein1(
    a: np.ndarray, b: np.ndarray, max_points: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """Exact Wasserstein-1 (earth mover's) distance between two point sets, Euclidean cost.

    Both sets get uniform weights. For d == 1 all points are used with
    ``scipy.stats.wasserstein_distance`` (sorting: exact and O(n log n)). For d >= 2 the exact
    network-simplex solver ``ot.emd2`` runs on the full (n, m) cost matrix, whose memory and
    time grow as n*m, so each set larger than ``max_points`` is first subsampled without
    replacement to ``max_points`` rows by ``np.random.default_rng(seed)`` (the same seed gives
    the same subsets, so scores of successive checkpoints compare like with like). A
    subsampled W1 is the exact distance between the subsets, which is biased upward against
    the full-set distance; ``protocol`` records the sizes actually used.
    """
    x = _points(a, "a")
    y = _points(b, "b")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"a and b must have the same dimension; got {x.shape} and {y.shape}.")
    if int(max_points) < 1:
        raise ValueError(f"max_points must be >= 1; got {max_points!r}.")
    n_total, m_total, d = x.shape[0], y.shape[0], x.shape[1]

    if d == 1:
        value = float(wasserstein_distance(x[:, 0], y[:, 0]))
        solver = "scipy 1-D"
    else:
        rng = np.random.default_rng(seed)
        if n_total > max_points:
            x = x[rng.choice(n_total, size=max_points, replace=False)]
        if m_total > max_points:
            y = y[rng.choice(m_total, size=max_points, replace=False)]
        # cdist computes each distance directly; ot.dist's "euclidean" expands |x|²+|y|²-2x·y
        # and takes a square root, which turns rounding into ~1e-8 errors (0 becomes 2e-9).
        cost = cdist(x, y, metric="euclidean")
        # The default iteration cap (1e5) is too low for 2000 x 2000 and would return a
        # non-optimal plan with only a warning; raise it and check the solver's verdict.
        value, log = ot.emd2(
            ot.unif(x.shape[0]), ot.unif(y.shape[0]), cost, numItermax=100_000_000, log=True
        )
        if log.get("warning"):
            raise RuntimeError(f"ot.emd2 did not reach the optimum: {log['warning']}")
        value = max(float(value), 0.0)
        solver = "ot.emd2"

    return {
        "value": value,
        "protocol": {
            "name": "w1",
            "n_a": int(x.shape[0]),
            "n_b": int(y.shape[0]),
            "n_a_total": int(n_total),
            "n_b_total": int(m_total),
            "dim": int(d),
            "max_points": int(max_points),
            "seed": int(seed),
            "ground": "euclidean",
            "solver": solver,
        },
    }


# --------------------------------------------------------------------------- sine wave


@lru_cache(maxsize=8)
def _sine_curve(noise_mean: float) -> tuple[np.ndarray, cKDTree]:
    """Dense polyline of y = sin(5x) + noise_mean over x in [-1, 1], and a KD-tree of it."""
    xs = np.linspace(-1.0, 1.0, SINE_CURVE_POINTS)
    poly = np.stack([xs, np.sin(5.0 * xs) + noise_mean], axis=1)
    return poly, cKDTree(poly)


def _distance_to_polyline(points: np.ndarray, poly: np.ndarray, tree: cKDTree) -> np.ndarray:
    """Euclidean distance from each point to the polyline ``poly``.

    The nearest vertex comes from the KD-tree; the distance is then refined by projecting on the
    two segments that meet at that vertex. Segments are < 6e-4 long here, so the result is the
    distance to the curve up to far less than any score resolution.
    """
    d_vertex, i = tree.query(points, k=1)
    best = d_vertex
    last = len(poly) - 1
    for lo in (i - 1, i):  # segment (lo, lo + 1) on either side of the nearest vertex
        ok = (lo >= 0) & (lo < last)
        lo_c = np.clip(lo, 0, last - 1)
        p0, p1 = poly[lo_c], poly[lo_c + 1]
        seg = p1 - p0
        t = np.einsum("ij,ij->i", points - p0, seg) / np.einsum("ij,ij->i", seg, seg)
        foot = p0 + np.clip(t, 0.0, 1.0)[:, None] * seg
        d_seg = np.linalg.norm(points - foot, axis=1)
        best = np.where(ok, np.minimum(best, d_seg), best)
    return best


def sine_scores(samples: np.ndarray, noise_mean: float, n_bins: int = 40) -> dict[str, Any]:
    """How well 2-D samples follow the sine data y = sin(5x) + noise, x in [-1, 1].

    * ``curve_distance``: mean Euclidean (shortest, not vertical) distance from each sample to
      the curve y = sin(5x) + noise_mean restricted to x in [-1, 1]; points beyond the ends get
      their distance to the nearer end. The noise's mean shifts the curve to where the data sit;
      its spread is a floor: real data with uniform [0, 0.1) noise score about 0.010, not 0
      (the vertical offset is uniform on ±0.05, mean 0.025; where the curve is steep, up to
      slope 5, the shortest way to it is much shorter than the vertical one).
    * ``x_coverage``: share of ``n_bins`` equal bins over [-1, 1] holding at least half the
      samples a uniform spread would put there (``n / n_bins / 2``, n = all samples). A
      generator that collapses onto part of the curve loses bins; one that follows the curve
      everywhere keeps them. Samples outside [-1, 1] fall in no bin.
    * ``outside``: share of samples with |x| > 1.05, i.e. beyond the data's x range.
    * ``protocol``: what was measured.
    """
    x = _points(samples, "samples", dim=2)
    noise_mean = float(noise_mean)
    if not math.isfinite(noise_mean):
        raise ValueError(f"noise_mean must be finite; got {noise_mean!r}.")
    if int(n_bins) < 1:
        raise ValueError(f"n_bins must be >= 1; got {n_bins!r}.")
    n_bins = int(n_bins)
    n = x.shape[0]

    poly, tree = _sine_curve(noise_mean)
    dist = _distance_to_polyline(x, poly, tree)

    counts, _ = np.histogram(x[:, 0], bins=n_bins, range=(-1.0, 1.0))  # [-1, 1], ends included
    covered = counts >= n / n_bins / 2.0

    return {
        "curve_distance": float(dist.mean()),
        "x_coverage": float(np.count_nonzero(covered) / n_bins),
        "outside": float(np.count_nonzero(np.abs(x[:, 0]) > SINE_OUTSIDE_X) / n),
        "protocol": {
            "name": "sine",
            "curve": "y = sin(5x) + noise_mean",
            "noise_mean": noise_mean,
            "n_samples": int(n),
            "n_bins": n_bins,
            "coverage_rule": "bin count >= half of uniform",
            "outside_rule": f"|x| > {SINE_OUTSIDE_X}",
            "distance": "mean Euclidean distance to the curve over x in [-1, 1]",
        },
    }


# --------------------------------------------------------------------------- 1-D Gaussian


def gaussian_scores(samples: np.ndarray, mean: float, std: float) -> dict[str, Any]:
    """How close 1-D samples are to N(mean, std).

    Returns the sample ``mean`` and ``std`` (ddof = 1) and ``w1``, the Wasserstein-1 distance
    between the samples and the n quantiles of N(mean, std) at (i + 0.5) / n, i = 0..n-1: a
    deterministic stand-in for the true Gaussian with the same number of points, so the score
    carries no sampling noise from the reference side. Samples may be (n, 1) or (n,).
    """
    x = _points(samples, "samples", dim=1)[:, 0]
    mean = float(mean)
    if not math.isfinite(mean):
        raise ValueError(f"mean must be finite; got {mean!r}.")
    std = _positive(std, "std")
    n = x.shape[0]
    reference = norm.ppf((np.arange(n) + 0.5) / n, loc=mean, scale=std)
    return {
        "mean": float(x.mean()),
        "std": float(x.std(ddof=1)) if n > 1 else 0.0,
        "w1": float(wasserstein_distance(x, reference)),
        "protocol": {
            "name": "gauss1d",
            "n_samples": int(n),
            "target_mean": mean,
            "target_std": std,
            "std_ddof": 1,
            "w1_reference": "n quantiles of N(mean, std) at (i + 0.5) / n",
        },
    }
