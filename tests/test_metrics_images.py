"""Known answers for the feature-space image scores in gankit.metrics.images."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.linalg import sqrtm
from scipy.spatial.distance import cdist

from gankit.metrics import images
from gankit.metrics.images import density_coverage, frechet_distance, kid, precision_recall


def _exact_moments(mean: np.ndarray, var: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n samples whose sample mean is ``mean`` and sample covariance (ddof 1) is diag(var)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, len(mean)))
    z -= z.mean(axis=0)
    chol = np.linalg.cholesky(np.cov(z, rowvar=False))
    z = np.linalg.solve(chol, z.T).T  # whitened: sample covariance exactly I
    return mean + z * np.sqrt(var)


def _modes(centres: np.ndarray, n: int, seed: int, spread: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return centres[rng.integers(0, len(centres), n)] + rng.normal(
        0.0, spread, (n, centres.shape[1])
    )


# --------------------------------------------------------------------------- Fréchet distance


def test_fd_identical_sets_is_zero() -> None:
    x = np.random.default_rng(0).normal(size=(500, 16))
    result = frechet_distance(x, x.copy())
    assert result["value"] == pytest.approx(0.0, abs=1e-9)
    assert result["protocol"] == {
        "name": "frechet",
        "n_real": 500,
        "n_fake": 500,
        "dim": 16,
        "cov_ddof": 1,
        "trace_sqrt": "eigvalsh(S1^1/2 S2 S1^1/2), float64",
    }


def test_fd_matches_closed_form_for_diagonal_gaussians() -> None:
    m1, m2 = np.array([0.0, 1.0, -2.0, 0.5]), np.array([1.0, 1.0, 0.0, -0.5])
    s1, s2 = np.array([1.0, 4.0, 0.25, 2.0]), np.array([2.0, 1.0, 0.25, 9.0])
    x = _exact_moments(m1, s1, 300, seed=1)
    y = _exact_moments(m2, s2, 400, seed=2)
    expected = np.sum((m1 - m2) ** 2) + np.sum(s1 + s2 - 2.0 * np.sqrt(s1 * s2))
    assert frechet_distance(x, y)["value"] == pytest.approx(expected, rel=1e-6)


def test_fd_matches_sqrtm_formula_for_full_covariances() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
    y = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6)) + 0.5
    c1, c2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    diff = x.mean(0) - y.mean(0)
    expected = diff @ diff + np.trace(c1 + c2 - 2.0 * np.real(sqrtm(c1 @ c2)))
    assert frechet_distance(x, y)["value"] == pytest.approx(expected, rel=1e-8)


def test_fd_with_fewer_samples_than_features_is_finite() -> None:
    # Singular covariances: where sqrtm of S1 S2 needs an epsilon, the symmetric route does not.
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(20, 64)), rng.normal(size=(20, 64))
    value = frechet_distance(x, y)["value"]
    assert np.isfinite(value) and value > 0
    assert frechet_distance(x, x)["value"] == pytest.approx(0.0, abs=1e-9)


def test_fd_and_kid_grow_with_added_noise() -> None:
    rng = np.random.default_rng(5)
    real = rng.normal(size=(400, 8))
    base = rng.normal(size=(400, 8))
    noise = rng.normal(size=(400, 8))
    fds, kids = [], []
    for std in (0.0, 0.5, 1.0, 2.0):
        fake = base + std * noise
        fds.append(frechet_distance(real, fake)["value"])
        kids.append(kid(real, fake, n_subsets=20, subset_size=200)["value"])
    assert np.all(np.diff(fds) > 0), fds
    assert np.all(np.diff(kids) > 0), kids


# --------------------------------------------------------------------------- KID


def test_kid_identical_sets_is_near_zero_and_far_sets_large() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=(300, 8))
    same = kid(x, x.copy(), n_subsets=50, subset_size=100)
    far = kid(x, x + 10.0, n_subsets=50, subset_size=100)
    assert abs(same["value"]) < 0.05 * far["value"]
    assert abs(same["value"]) < 3 * same["std"]
    assert far["value"] > 1.0


def test_kid_is_unbiased_for_independent_samples_of_one_distribution() -> None:
    rng = np.random.default_rng(7)
    values = []
    for _ in range(8):
        x, y = rng.normal(size=(200, 4)), rng.normal(size=(200, 4))
        result = kid(x, y, n_subsets=10, subset_size=100, seed=1)
        values.append(result["value"])
        assert abs(result["value"]) < 5 * result["std"] + 1e-3
    assert min(values) < 0 < max(values)  # unbiased: it straddles 0, a biased one would not


def test_kid_caps_subset_size_and_records_protocol() -> None:
    rng = np.random.default_rng(8)
    result = kid(rng.normal(size=(50, 3)), rng.normal(size=(80, 3)), n_subsets=5, seed=2)
    assert result["protocol"] == {
        "name": "kid",
        "n_real": 50,
        "n_fake": 80,
        "dim": 3,
        "n_subsets": 5,
        "subset_size": 50,
        "subset_size_requested": 1000,
        "seed": 2,
        "kernel": "(x.y/d + 1)^3",
        "estimator": "unbiased MMD^2",
    }
    again = kid(rng.normal(size=(50, 3)), rng.normal(size=(80, 3)), n_subsets=5, seed=2)
    assert again["value"] != result["value"]  # different data, same protocol
    assert kid(np.ones((5, 2)), np.ones((5, 2)), n_subsets=3)["value"] == pytest.approx(0.0)


def test_kid_matches_direct_unbiased_formula() -> None:
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(30, 5)), rng.normal(size=(30, 5)) + 0.3
    k = lambda a, b: (a @ b.T / 5 + 1.0) ** 3  # noqa: E731
    m = 30
    expected = (
        (k(x, x).sum() - np.trace(k(x, x))) / (m * (m - 1))
        + (k(y, y).sum() - np.trace(k(y, y))) / (m * (m - 1))
        - 2.0 * k(x, y).mean()
    )
    # subset_size = n: every subset is the whole set (in another order), so every round agrees
    result = kid(x, y, n_subsets=3, subset_size=30)
    assert result["value"] == pytest.approx(expected, rel=1e-10)
    assert result["std"] == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------------------- k-NN scores


def test_identical_sets_give_perfect_knn_scores() -> None:
    x = np.random.default_rng(10).normal(size=(300, 8))
    pr = precision_recall(x, x.copy())
    dc = density_coverage(x, x.copy())
    assert pr["precision"] == 1.0 and pr["recall"] == 1.0
    assert dc["coverage"] == 1.0
    # Each real ball (open, radius = k-th neighbour) holds its centre and k - 1 neighbours, so
    # density is exactly 1 in exact arithmetic; rounding may flip a tie with the k-th neighbour.
    assert dc["density"] == pytest.approx(1.0, abs=0.01)


def test_disjoint_sets_give_zero_knn_scores_and_large_fd() -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(200, 4))
    y = rng.normal(size=(200, 4)) + 100.0
    pr, dc = precision_recall(x, y), density_coverage(x, y)
    assert pr["precision"] == 0.0 and pr["recall"] == 0.0
    assert dc["coverage"] == 0.0 and dc["density"] == 0.0
    assert frechet_distance(x, y)["value"] > 4 * 100.0**2 * 0.99


def test_half_the_modes_gives_half_recall_and_coverage_full_precision() -> None:
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    real = _modes(centres, 800, seed=12)
    fake = _modes(centres[:2], 800, seed=13)
    pr, dc = precision_recall(real, fake), density_coverage(real, fake)
    assert pr["precision"] > 0.95
    assert pr["recall"] == pytest.approx(0.5, abs=0.06)
    assert dc["coverage"] == pytest.approx(0.5, abs=0.06)
    # density compares each fake with the real density where it lands, not with the fake count:
    # the covered modes are matched in shape, so it stays near 1
    assert dc["density"] == pytest.approx(1.0, abs=0.15)


def _brute_force(real: np.ndarray, fake: np.ndarray, k_pr: int, k_dc: int) -> dict[str, float]:
    """Reference computed on full distance matrices, as the authors' code does."""
    drr, dff, drf = cdist(real, real), cdist(fake, fake), cdist(real, fake)
    r_real = lambda k: np.sort(drr, axis=1)[:, k]  # noqa: E731
    r_fake = np.sort(dff, axis=1)[:, k_pr]
    rr_pr, rr_dc = r_real(k_pr), r_real(k_dc)
    return {
        "precision": float((drf <= rr_pr[:, None]).any(axis=0).mean()),
        "recall": float((drf <= r_fake[None, :]).any(axis=1).mean()),
        "density": float((drf < rr_dc[:, None]).sum(axis=0).mean() / k_dc),
        "coverage": float((drf.min(axis=1) < rr_dc).mean()),
    }


@pytest.mark.parametrize("chunk_bytes", [64 * 2**20, 8 * 37 * 5])  # one block / blocks of 5 rows
def test_chunked_knn_scores_match_brute_force(
    monkeypatch: pytest.MonkeyPatch, chunk_bytes: int
) -> None:
    monkeypatch.setattr(images, "_CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(14)
    real = rng.normal(size=(37, 6))
    fake = rng.normal(size=(41, 6)) * 1.3 + 0.4
    expected = _brute_force(real, fake, k_pr=3, k_dc=5)
    pr, dc = precision_recall(real, fake, k=3), density_coverage(real, fake, k=5)
    got = {
        **{k: pr[k] for k in ("precision", "recall")},
        **{k: dc[k] for k in ("density", "coverage")},
    }
    assert got == pytest.approx(expected)
    assert 0 < got["precision"] < 1 and 0 < got["recall"] < 1


def test_knn_protocols_record_counts_and_k() -> None:
    rng = np.random.default_rng(15)
    x, y = rng.normal(size=(30, 3)), rng.normal(size=(20, 3))
    pr, dc = precision_recall(x, y, k=4), density_coverage(x, y, k=2)
    assert pr["protocol"]["k"] == 4 and dc["protocol"]["k"] == 2
    assert (pr["protocol"]["n_real"], pr["protocol"]["n_fake"], pr["protocol"]["dim"]) == (
        30,
        20,
        3,
    )
    assert pr["protocol"]["name"] == "precision-recall"
    assert dc["protocol"]["name"] == "density-coverage"
    for result in (pr, dc, frechet_distance(x, y), kid(x, y, n_subsets=2)):
        json.dumps(result)


# --------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    "call",
    [
        lambda x, y: frechet_distance(x, y),
        lambda x, y: kid(x, y, n_subsets=2),
        lambda x, y: precision_recall(x, y),
        lambda x, y: density_coverage(x, y),
    ],
)
def test_bad_inputs_raise_value_error(call) -> None:
    rng = np.random.default_rng(16)
    good = rng.normal(size=(20, 4))
    with pytest.raises(ValueError, match="same number of features"):
        call(good, rng.normal(size=(20, 5)))
    bad = good.copy()
    bad[7, 2] = np.nan
    with pytest.raises(ValueError, match="row 7"):
        call(good, bad)
    with pytest.raises(ValueError, match="shape"):
        call(good[:, 0], good)


def test_too_few_rows_for_k_raise_value_error() -> None:
    rng = np.random.default_rng(17)
    x = rng.normal(size=(10, 2))
    with pytest.raises(ValueError, match="real needs at least 4 rows"):
        precision_recall(x[:3], x, k=3)
    with pytest.raises(ValueError, match="fake needs at least 4 rows"):
        precision_recall(x, x[:3], k=3)
    with pytest.raises(ValueError, match="real needs at least 6 rows"):
        density_coverage(x[:5], x, k=5)
    assert density_coverage(x, x[:1], k=5)["protocol"]["n_fake"] == 1  # fakes need no balls
    with pytest.raises(ValueError, match="k must be"):
        precision_recall(x, x, k=0)
    with pytest.raises(ValueError, match="at least 2 rows"):
        frechet_distance(x[:1], x)
    with pytest.raises(ValueError, match="subset_size must be"):
        kid(x, x, subset_size=1)
