"""KL and JS on a histogram grid against answers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gankit.metrics.divergence import bin_probabilities, histogram_divergences

SQUARE = [0.0, 1.0, 0.0, 1.0]


def test_identical_sets_are_zero_apart() -> None:
    x = np.random.default_rng(0).uniform(0, 1, (500, 2))
    d = histogram_divergences(x, x.copy(), SQUARE)
    assert d == {"kl": 0.0, "js": 0.0}


def test_disjoint_sets_have_js_ln2_and_smoothing_keeps_kl_finite() -> None:
    left = np.full((50, 2), 0.1)
    right = np.full((50, 2), 0.9)
    plain = histogram_divergences(left, right, SQUARE, smoothing=0.0)
    assert plain["js"] == pytest.approx(math.log(2), abs=1e-12)
    assert plain["kl"] == math.inf
    smooth = histogram_divergences(left, right, SQUARE)
    assert math.isfinite(smooth["kl"]) and smooth["kl"] > 5
    assert math.log(2) - 0.01 < smooth["js"] <= math.log(2)


def test_a_small_case_by_hand() -> None:
    # two bins over [0, 1]: real 3 left, 1 right -> p = (3/4, 1/4); fake the reverse
    real, fake = [0.1, 0.2, 0.3, 0.8], [0.7, 0.8, 0.9, 0.2]
    d = histogram_divergences(real, fake, [0.0, 1.0], bins=2, smoothing=0.0)
    # KL = 3/4 ln 3 + 1/4 ln(1/3) = 1/2 ln 3; m = (1/2, 1/2), JS = 3/4 ln(3/2) + 1/4 ln(1/2)
    assert d["kl"] == pytest.approx(0.5 * math.log(3), abs=1e-12)
    assert d["js"] == pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5), abs=1e-12)


def test_kl_is_real_against_fake_a_lost_mode_costs_more_than_an_extra_one() -> None:
    two_modes = [0.1] * 50 + [0.9] * 50
    one_mode = [0.1] * 100
    lost = histogram_divergences(two_modes, one_mode, [0.0, 1.0], bins=2, smoothing=0.01)
    extra = histogram_divergences(one_mode, two_modes, [0.0, 1.0], bins=2, smoothing=0.01)
    assert lost["kl"] > 2 * extra["kl"]
    assert lost["js"] == pytest.approx(extra["js"])  # JS is symmetric


def test_points_outside_the_extent_count_in_the_border_bins() -> None:
    p = bin_probabilities([[-5.0, 0.5], [0.5, 7.0]], SQUARE, bins=2, smoothing=0.0)
    # row-major over (x bin, y bin): (-5, .5) -> x bin 0, y bin 1; (.5, 7) -> x 1, y 1
    assert p.tolist() == [0.0, 0.5, 0.0, 0.5]


def test_smoothing_mixes_in_the_uniform() -> None:
    p = bin_probabilities([0.1, 0.1], [0.0, 1.0], bins=4, smoothing=0.2)
    assert p.sum() == pytest.approx(1.0)
    assert p.tolist() == pytest.approx([0.8 + 0.05, 0.05, 0.05, 0.05])


@pytest.mark.parametrize(
    "points, extent, says",
    [
        ([[0.1, 0.2]], [0.0, 1.0], "must be"),  # 2-D points on a 1-D extent
        ([[np.nan, 0.2]], SQUARE, "finite"),
        ([[0.1, 0.2]], [1.0, 0.0, 0.0, 1.0], "x1 > x0"),
    ],
)
def test_bad_input_is_refused(points, extent, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        bin_probabilities(points, extent)
