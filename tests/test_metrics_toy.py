"""Known answers for the toy-problem scores in gankit.metrics.toy."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from gankit.metrics.toy import (
    GRID25_SIGMA,
    HQ_CEILING_2D,
    RING8_SIGMA,
    gaussian_scores,
    grid25_centres,
    mode_scores,
    ring8_centres,
    sine_scores,
    wasserstein1,
)

MIXTURES = [
    ("ring8", ring8_centres, RING8_SIGMA),
    ("grid25", grid25_centres, GRID25_SIGMA),
]


def _mixture(centres: np.ndarray, sigma: float, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return centres[rng.integers(0, len(centres), n)] + rng.normal(0.0, sigma, (n, 2))


def _sine_data(n: int, seed: int, evenly: bool = True) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.linspace(-1.0, 1.0, n) if evenly else rng.uniform(-1.0, 1.0, n)
    return np.stack([x, np.sin(5 * x) + rng.uniform(0.0, 0.1, n)], axis=1)


# --------------------------------------------------------------------------- centres


def test_ring8_centres_are_eight_distinct_points_on_the_unit_circle() -> None:
    c = ring8_centres()
    assert c.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(c, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(c[0], [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(c[2], [0.0, 1.0], atol=1e-12)
    gaps = np.linalg.norm(c[:, None] - c[None], axis=-1) + np.eye(8) * 10
    # neighbours 45° apart: no two centres coincide (the linspace(0, 2π, 8) bug would)
    assert gaps.min() == pytest.approx(2 * math.sin(math.pi / 8), abs=1e-12)


def test_grid25_centres_are_the_5_by_5_grid() -> None:
    c = grid25_centres()
    assert c.shape == (25, 2)
    g = [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert {tuple(p) for p in c.tolist()} == {(x, y) for x in g for y in g}


# --------------------------------------------------------------------------- mode scores


def test_hq_ceiling_is_the_2d_gaussian_mass_within_3_sigma() -> None:
    assert pytest.approx(0.98889, abs=1e-5) == HQ_CEILING_2D


@pytest.mark.parametrize(("name", "centres_fn", "sigma"), MIXTURES)
def test_samples_from_the_mixture_hit_every_mode_near_the_hq_ceiling(
    name: str, centres_fn, sigma: float
) -> None:
    c = centres_fn()
    r = mode_scores(_mixture(c, sigma, 10_000, seed=1), c, sigma)
    assert r["modes"] == r["n_modes"] == len(c)
    assert 0.985 <= r["high_quality"] <= 1.0
    assert r["high_quality"] == pytest.approx(HQ_CEILING_2D, abs=0.004)
    assert sum(r["per_mode"]) == round(r["high_quality"] * 10_000)


@pytest.mark.parametrize(("name", "centres_fn", "sigma"), MIXTURES)
def test_reverse_kl_of_2500_mixture_samples_is_near_zero(
    name: str, centres_fn, sigma: float
) -> None:
    c = centres_fn()
    r = mode_scores(_mixture(c, sigma, 2500, seed=2), c, sigma)
    assert 0.0 <= r["reverse_kl"] < 0.01


def test_all_samples_on_one_centre_is_one_mode_and_kl_ln8() -> None:
    c = ring8_centres()
    x = np.repeat(c[3:4], 500, axis=0)
    r = mode_scores(x, c, RING8_SIGMA)
    assert r["modes"] == 1
    assert r["high_quality"] == 1.0
    assert r["reverse_kl"] == pytest.approx(math.log(8), abs=1e-15)
    assert r["per_mode"] == [0, 0, 0, 500, 0, 0, 0, 0]


def test_even_split_over_half_the_modes_gives_kl_ln2() -> None:
    c = ring8_centres()
    x = np.repeat(c[::2], 100, axis=0)
    r = mode_scores(x, c, RING8_SIGMA)
    assert r["modes"] == 4
    assert r["reverse_kl"] == pytest.approx(math.log(2), abs=1e-12)


def test_samples_far_from_every_centre_score_zero_and_kl_inf() -> None:
    c = grid25_centres()
    rng = np.random.default_rng(3)
    x = rng.uniform(20.0, 30.0, (1000, 2))
    r = mode_scores(x, c, GRID25_SIGMA)
    assert r["modes"] == 0
    assert r["high_quality"] == 0.0
    assert r["reverse_kl"] == float("inf")
    assert r["per_mode"] == [0] * 25


def test_hq_boundary_is_three_sigma_and_min_count_is_applied() -> None:
    c = ring8_centres()
    inside = c[0] + [0.0299, 0.0]  # just inside 3σ = 0.03
    outside = c[1] * 1.0301  # just outside, radially
    x = np.stack([inside, inside, outside])
    r = mode_scores(x, c, RING8_SIGMA)
    assert r["per_mode"][0] == 2 and r["per_mode"][1] == 0
    assert r["high_quality"] == pytest.approx(2 / 3)
    assert mode_scores(x, c, RING8_SIGMA, min_count=3)["modes"] == 0


def test_mode_protocol_and_json() -> None:
    c = ring8_centres()
    r = mode_scores(_mixture(c, RING8_SIGMA, 100, seed=4).astype(np.float32), c, RING8_SIGMA)
    assert r["protocol"] == {
        "name": "pacgan-modes",
        "n_samples": 100,
        "sigma": RING8_SIGMA,
        "hq_radius": pytest.approx(0.03),
        "min_count": 1,
        "kl": "KL(HQ histogram || uniform), natural log",
    }
    assert json.loads(json.dumps(r))["modes"] == r["modes"]


def test_mode_scores_reject_bad_input() -> None:
    c = ring8_centres()
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        mode_scores(np.zeros((5, 3)), c, RING8_SIGMA)
    with pytest.raises(ValueError, match="row 1"):
        mode_scores(np.array([[0.0, 0.0], [np.nan, 0.0]]), c, RING8_SIGMA)
    with pytest.raises(ValueError, match="sigma"):
        mode_scores(np.zeros((5, 2)), c, 0.0)


# --------------------------------------------------------------------------- Wasserstein-1


def test_w1_of_identical_sets_is_zero() -> None:
    a = np.random.default_rng(5).normal(size=(400, 2))
    r = wasserstein1(a, a.copy())
    assert r["value"] == pytest.approx(0.0, abs=1e-12)
    assert r["protocol"]["solver"] == "ot.emd2"
    assert r["protocol"]["ground"] == "euclidean"


def test_w1_of_a_set_and_its_double_is_zero() -> None:
    a = np.random.default_rng(6).normal(size=(150, 3))
    r = wasserstein1(a, np.concatenate([a, a]))
    assert r["value"] == pytest.approx(0.0, abs=1e-12)
    assert (r["protocol"]["n_a"], r["protocol"]["n_b"]) == (150, 300)


@pytest.mark.parametrize("shift", [(0.7, 0.0), (-2.0, 0.0), (3.0, 4.0)])
def test_w1_of_a_translation_is_the_shift_norm(shift: tuple[float, float]) -> None:
    a = np.random.default_rng(7).normal(size=(300, 2))
    r = wasserstein1(a, a + np.asarray(shift))
    assert r["value"] == pytest.approx(math.hypot(*shift), abs=1e-9)


def test_w1_1d_uses_all_points_and_gives_the_mean_shift() -> None:
    rng = np.random.default_rng(8)
    a = rng.normal(0.0, 1.0, (5000, 1))
    b = rng.normal(1.0, 1.0, (4000, 1))
    r = wasserstein1(a, b, max_points=100)
    assert r["value"] == pytest.approx(1.0, abs=0.06)
    p = r["protocol"]
    assert p["solver"] == "scipy 1-D"
    assert (p["n_a"], p["n_b"]) == (5000, 4000)


def test_w1_subsamples_large_sets_reproducibly() -> None:
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=(700, 2)), rng.normal(size=(300, 2))
    r1 = wasserstein1(a, b, max_points=250, seed=1)
    r2 = wasserstein1(a, b, max_points=250, seed=1)
    assert r1 == r2
    p = r1["protocol"]
    assert (p["n_a"], p["n_b"], p["n_a_total"], p["n_b_total"]) == (250, 250, 700, 300)
    assert p["max_points"] == 250 and p["seed"] == 1
    json.dumps(r1)


def test_w1_rejects_mismatched_dimensions() -> None:
    with pytest.raises(ValueError, match="same dimension"):
        wasserstein1(np.zeros((4, 2)), np.zeros((4, 3)))


# --------------------------------------------------------------------------- sine


def test_samples_on_the_curve_score_zero_distance_and_full_coverage() -> None:
    x = np.linspace(-1.0, 1.0, 4000)
    r = sine_scores(np.stack([x, np.sin(5 * x) + 0.05], axis=1), noise_mean=0.05)
    assert r["curve_distance"] < 1e-3
    assert r["x_coverage"] == 1.0
    assert r["outside"] == 0.0
    assert r["protocol"] == {
        "name": "sine",
        "curve": "y = sin(5x) + noise_mean",
        "noise_mean": 0.05,
        "n_samples": 4000,
        "n_bins": 40,
        "coverage_rule": "bin count >= half of uniform",
        "outside_rule": "|x| > 1.05",
        "distance": "mean Euclidean distance to the curve over x in [-1, 1]",
    }


def test_distance_is_euclidean_not_vertical() -> None:
    # 0.3 above the curve near its extrema: the shortest distance is at most the vertical 0.3
    x = np.concatenate([np.linspace(0.29, 0.34, 50), np.linspace(-0.34, -0.29, 50)])
    r = sine_scores(np.stack([x, np.sin(5 * x) + 0.05 + 0.3], axis=1), noise_mean=0.05)
    assert 0.05 < r["curve_distance"] <= 0.3 + 1e-9
    # above a maximum (outer side) the vertical is the shortest way: exactly 0.3
    top = np.array([[math.pi / 10, 1.05 + 0.3]])
    assert sine_scores(top, 0.05)["curve_distance"] == pytest.approx(0.3, abs=1e-6)
    # above a minimum (inner side, curvature radius 0.04) the curve comes closer
    bottom = np.array([[-math.pi / 10, -1.0 + 0.05 + 0.3]])
    assert sine_scores(bottom, 0.05)["curve_distance"] < 0.29


def test_distance_matches_brute_force_on_a_fine_grid() -> None:
    rng = np.random.default_rng(10)
    pts = np.stack([rng.uniform(-1.0, 1.0, 20), rng.uniform(-1.5, 1.5, 20)], axis=1)
    xs = np.linspace(-1.0, 1.0, 200_001)
    curve = np.stack([xs, np.sin(5 * xs) + 0.05], axis=1)
    brute = [np.linalg.norm(curve - p, axis=1).min() for p in pts]
    got = [sine_scores(p[None], 0.05)["curve_distance"] for p in pts]
    np.testing.assert_allclose(got, brute, atol=2e-6)


def test_points_beyond_the_ends_measure_to_the_end_point() -> None:
    end = math.sin(5.0) + 0.05
    r = sine_scores(np.array([[2.0, end], [-1.0 - 0.5, math.sin(-5.0) + 0.05]]), 0.05)
    assert r["curve_distance"] == pytest.approx(0.75, abs=1e-9)  # (1.0 + 0.5) / 2
    assert r["outside"] == 1.0
    assert r["x_coverage"] == 0.0


def test_collapse_onto_a_small_x_range_covers_two_bins_of_forty() -> None:
    x = np.random.default_rng(11).uniform(0.0, 0.1, 2000)
    r = sine_scores(np.stack([x, np.sin(5 * x) + 0.05], axis=1), noise_mean=0.05)
    assert r["x_coverage"] == pytest.approx(2 / 40)


def test_outside_counts_only_beyond_1_05() -> None:
    x = np.array([0.0, 1.04, -1.04, 1.06, -1.2])
    r = sine_scores(np.stack([x, np.sin(5 * x)], axis=1), noise_mean=0.0)
    assert r["outside"] == pytest.approx(2 / 5)


@pytest.mark.parametrize("evenly", [True, False])
def test_real_sine_data_sit_at_the_noise_floor(evenly: bool) -> None:
    r = sine_scores(_sine_data(2000, seed=12, evenly=evenly), noise_mean=0.05)
    # vertical offset is uniform on ±0.05 (mean 0.025); the slope shortens it to about 0.010
    assert 0.005 < r["curve_distance"] < 0.02
    assert r["x_coverage"] == 1.0
    assert r["outside"] == 0.0


# --------------------------------------------------------------------------- 1-D Gaussian


def test_gaussian_samples_score_near_zero_w1() -> None:
    x = np.random.default_rng(13).normal(4.0, 1.25, (5000, 1))
    r = gaussian_scores(x, mean=4.0, std=1.25)
    assert r["w1"] < 0.08
    assert r["mean"] == pytest.approx(4.0, abs=0.06)
    assert r["std"] == pytest.approx(1.25, abs=0.05)
    assert r["protocol"]["name"] == "gauss1d"
    assert r["protocol"]["n_samples"] == 5000
    json.dumps(r)


def test_gaussian_w1_of_shifted_samples_is_the_shift() -> None:
    x = np.random.default_rng(14).normal(4.5, 1.25, 5000)  # (n,) is accepted too
    r = gaussian_scores(x, mean=4.0, std=1.25)
    assert r["w1"] == pytest.approx(0.5, abs=0.06)


def test_gaussian_scores_reject_two_columns() -> None:
    with pytest.raises(ValueError, match=r"\(n, 1\)"):
        gaussian_scores(np.zeros((10, 2)), 0.0, 1.0)
