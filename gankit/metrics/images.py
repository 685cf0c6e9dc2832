"""Scores between two sets of image features: Fréchet distance, KID, precision/recall,
density/coverage.

Pure NumPy / SciPy on float feature vectors (N, F), so the same functions score any feature
space (InceptionV3 pool3 from ``gankit.metrics.inception``, or any other extractor) and no image
or model touches this module.

As in ``gankit.metrics.toy``, every score returns a dict with a ``protocol`` entry: how many
samples of each set were compared, in how many dimensions, with which k, subsets and seed.
Image scores move a lot with the protocol (sample counts bias FID upward, KID subsets set its
noise, k sets the size of the neighbourhood balls), so a number without it cannot be compared.
All values are plain Python ``int`` / ``float`` / ``str`` so the dicts go straight into JSON.

Bad inputs (NaN or infinite values, mismatched feature dimensions, too few rows for the
requested k) raise ``ValueError``: they are programmer errors, not something a user typed.

Distances for the k-NN scores are computed in chunks of query rows against the whole other set,
so 10,000 x 10,000 comparisons need about ``_CHUNK_BYTES`` of memory at a time instead of an
800 MB matrix.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["density_coverage", "frechet_distance", "kid", "precision_recall"]

_CHUNK_BYTES = 64 * 2**20  # memory for one block of squared distances (float64)


# --------------------------------------------------------------------------- helpers


def _features(x: Any, name: str, min_rows: int = 1) -> np.ndarray:
    """``x`` as a finite float64 (n, f) array with n >= ``min_rows``."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValueError(f"{name} must have shape (n, features); got {np.shape(x)}.")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows; got {arr.shape[0]}.")
    if not np.isfinite(arr).all():
        row = int(np.argwhere(~np.isfinite(arr))[0][0])
        raise ValueError(f"{name} has a NaN or infinite value in row {row}.")
    return arr


def _pair(
    real: Any, fake: Any, min_real: int = 1, min_fake: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    x = _features(real, "real", min_real)
    y = _features(fake, "fake", min_fake)
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"real and fake must have the same number of features; got {x.shape} and {y.shape}."
        )
    return x, y


def _positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def _sq_dist_blocks(query: np.ndarray, base: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
    """Squared Euclidean distances from ``query`` to ``base``, a block of query rows at a time.

    Uses |q|² + |b|² - 2 q·b (one BLAS product per block; a direct difference would need an
    (rows, n, f) temporary). Rounding can leave tiny negatives, clipped to 0. Callers centre both
    sets on a common mean first, which keeps the norms, and so the rounding, small.
    """
    base_sq = np.einsum("ij,ij->i", base, base)
    rows = max(1, _CHUNK_BYTES // (8 * max(1, base.shape[0])))
    for start in range(0, query.shape[0], rows):
        q = query[start : start + rows]
        d2 = np.einsum("ij,ij->i", q, q)[:, None] + base_sq[None, :] - 2.0 * (q @ base.T)
        np.maximum(d2, 0.0, out=d2)
        yield slice(start, start + q.shape[0]), d2


def _kth_nn_sq(x: np.ndarray, k: int) -> np.ndarray:
    """Squared distance from each row of ``x`` to its k-th nearest *other* row.

    The row itself sits at distance 0 and is the 0-th entry after sorting, so the k-th
    neighbour is the (k+1)-th smallest distance, as in the reference implementations. Duplicate
    rows count as neighbours at distance 0.
    """
    out = np.empty(x.shape[0])
    for rows, d2 in _sq_dist_blocks(x, x):
        idx = np.arange(d2.shape[0])
        d2[idx, idx + rows.start] = 0.0  # the self-distance, exactly, despite rounding
        out[rows] = np.partition(d2, k, axis=1)[:, k]
    return out


def _centred(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sets shifted by the real mean: distances are unchanged, rounding is smaller."""
    mu = x.mean(axis=0)
    return x - mu, y - mu


# --------------------------------------------------------------------------- Fréchet distance


def frechet_distance(real: np.ndarray, fake: np.ndarray) -> dict[str, Any]:
    """Fréchet distance between Gaussians fitted to two feature sets (FID on Inception features).

    ``|mu1 - mu2|² + Tr(S1 + S2 - 2 (S1 S2)^½)`` with sample means and covariances (ddof = 1,
    as pytorch-fid and torch-fidelity use ``np.cov``), all in float64.

    The trace of the matrix square root is taken as ``sum sqrt(eigvalsh(A S2 A))`` with
    ``A = S1^½`` (from ``eigh`` of S1): ``A S2 A`` is symmetric positive semi-definite and has
    the same eigenvalues as ``S1 S2``, so a symmetric eigensolver applies. ``scipy.linalg.sqrtm``
    of the non-symmetric product ``S1 S2`` (the usual recipe) can return complex parts and
    needs an ad-hoc epsilon when the covariances are singular, which they are whenever there are
    fewer samples than features. Tiny negative eigenvalues from rounding are clipped to 0. The
    final value is clipped at 0 for the same reason.
    """
    x, y = _pair(real, fake, min_real=2, min_fake=2)
    mu1, mu2 = x.mean(axis=0), y.mean(axis=0)
    s1 = np.atleast_2d(np.cov(x, rowvar=False))
    s2 = np.atleast_2d(np.cov(y, rowvar=False))

    w, v = np.linalg.eigh(s1)
    sqrt_s1 = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    m = sqrt_s1 @ s2 @ sqrt_s1
    eig = np.linalg.eigvalsh((m + m.T) / 2.0)
    tr_sqrt = float(np.sqrt(np.clip(eig, 0.0, None)).sum())

    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)
    return {
        "value": max(value, 0.0),
        "protocol": {
            "name": "frechet",
            "n_real": int(x.shape[0]),
            "n_fake": int(y.shape[0]),
            "dim": int(x.shape[1]),
            "cov_ddof": 1,
            "trace_sqrt": "eigvalsh(S1^1/2 S2 S1^1/2), float64",
        },
    }


# --------------------------------------------------------------------------- KID


def kid(
    real: np.ndarray,
    fake: np.ndarray,
    n_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD² between the two sets.

    Kernel ``k(x, y) = (x·y / d + 1)³``, d = number of features. Each of ``n_subsets`` rounds
    draws ``subset_size`` rows from each set without replacement (``np.random.default_rng(seed)``,
    so the same seed compares like with like across checkpoints) and computes the unbiased
    estimator, which leaves out the kernel's diagonal and therefore is 0 in expectation for two
    samples of one distribution and can come out slightly negative. ``value`` is the mean over
    rounds and ``std`` their standard deviation (ddof = 0, as torch-fidelity).

    ``subset_size`` is capped at the smaller set; ``protocol["subset_size"]`` is the size used.
    """
    x, y = _pair(real, fake, min_real=2, min_fake=2)
    n_subsets = _positive_int(n_subsets, "n_subsets")
    requested = _positive_int(subset_size, "subset_size", minimum=2)
    m = min(requested, x.shape[0], y.shape[0])
    d = x.shape[1]
    rng = np.random.default_rng(seed)

    def kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a @ b.T / d + 1.0) ** 3

    values = np.empty(n_subsets)
    for i in range(n_subsets):
        a = x[rng.choice(x.shape[0], size=m, replace=False)]
        b = y[rng.choice(y.shape[0], size=m, replace=False)]
        kxx, kyy, kxy = kernel(a, a), kernel(b, b), kernel(a, b)
        within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        values[i] = within - 2.0 * kxy.mean()

    return {
        "value": float(values.mean()),
        "std": float(values.std()),
        "protocol": {
            "name": "kid",
            "n_real": int(x.shape[0]),
            "n_fake": int(y.shape[0]),
            "dim": int(d),
            "n_subsets": n_subsets,
            "subset_size": int(m),
            "subset_size_requested": requested,
            "seed": int(seed),
            "kernel": "(x.y/d + 1)^3",
            "estimator": "unbiased MMD^2",
        },
    }


# --------------------------------------------------------------------------- k-NN scores


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> dict[str, Any]:
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    Each sample gets a ball of radius = Euclidean distance to its k-th nearest neighbour in its
    own set. ``precision``: share of fake samples inside at least one real ball (how much of
    the output looks real). ``recall``: share of real samples inside at least one fake ball (how
    much of the data the generator reaches). Balls are closed (``<=``), as in the authors' code.
    Both sets need at least k + 1 rows.
    """
    k = _positive_int(k, "k")
    x, y = _pair(real, fake, min_real=k + 1, min_fake=k + 1)
    x, y = _centred(x, y)
    r2_real, r2_fake = _kth_nn_sq(x, k), _kth_nn_sq(y, k)

    fake_in = np.empty(y.shape[0], dtype=bool)
    for rows, d2 in _sq_dist_blocks(y, x):
        fake_in[rows] = (d2 <= r2_real[None, :]).any(axis=1)
    real_in = np.empty(x.shape[0], dtype=bool)
    for rows, d2 in _sq_dist_blocks(x, y):
        real_in[rows] = (d2 <= r2_fake[None, :]).any(axis=1)

    return {
        "precision": float(fake_in.mean()),
        "recall": float(real_in.mean()),
        "protocol": _knn_protocol("precision-recall", x, y, k, "closed (<=)"),
    }


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = 5) -> dict[str, Any]:
    """Density and coverage (Naeem et al. 2020).

    Only real samples get balls (radius = distance to the k-th nearest other real sample), which
    makes both scores robust to outliers in the fake set. ``density``: number of real balls
    holding a fake sample, averaged over fake samples and divided by k; about 1 when the sets
    match, above 1 when fakes crowd into dense real regions, unbounded. ``coverage``: share of
    real samples whose ball holds at least one fake sample, in [0, 1]. Balls are open (``<``),
    as in the authors' ``prdc`` code. Real needs at least k + 1 rows; fake at least 1.
    """
    k = _positive_int(k, "k")
    x, y = _pair(real, fake, min_real=k + 1, min_fake=1)
    x, y = _centred(x, y)
    r2_real = _kth_nn_sq(x, k)

    hits = 0
    for _, d2 in _sq_dist_blocks(y, x):
        hits += int(np.count_nonzero(d2 < r2_real[None, :]))
    covered = np.empty(x.shape[0], dtype=bool)
    for rows, d2 in _sq_dist_blocks(x, y):
        covered[rows] = d2.min(axis=1) < r2_real[rows]

    return {
        "density": hits / (k * y.shape[0]),
        "coverage": float(covered.mean()),
        "protocol": _knn_protocol("density-coverage", x, y, k, "open (<)"),
    }


def _knn_protocol(name: str, x: np.ndarray, y: np.ndarray, k: int, ball: str) -> dict[str, Any]:
    return {
        "name": name,
        "n_real": int(x.shape[0]),
        "n_fake": int(y.shape[0]),
        "dim": int(x.shape[1]),
        "k": int(k),
        "distance": "euclidean",
        "ball": f"{ball}, radius = distance to k-th nearest neighbour in own set, self excluded",
    }
