"""Jacobian truncation: the finite-difference norms against analytic Jacobians, the kept draws
are the flattest, and a config that cannot use it is refused in one sentence."""

from types import SimpleNamespace

import numpy as np
import pytest

from gankit.config import load_config
from gankit.errors import UserError
from gankit.sampling import PROBES, check, draw, jacobian_norms


def test_norms_of_a_linear_map_are_its_frobenius_norm():
    a = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    z = np.random.default_rng(1).uniform(-1, 1, (50, 3)).astype(np.float32)
    norms = jacobian_norms(lambda v: v @ a, z, np.random.default_rng(2))
    np.testing.assert_allclose(norms, np.linalg.norm(a), rtol=1e-3)


def test_norms_of_a_nonlinear_map_match_its_analytic_jacobian():
    # G(z) = (tanh(4 z0), z0 z1): J = [[4 (1 - tanh^2(4 z0)), 0], [z1, z0]]
    z = np.random.default_rng(3).uniform(-1, 1, (200, 2)).astype(np.float32)

    def g(v):
        return np.stack([np.tanh(4 * v[:, 0]), v[:, 0] * v[:, 1]], axis=1)

    want = np.sqrt((4 * (1 - np.tanh(4 * z[:, 0]) ** 2)) ** 2 + z[:, 1] ** 2 + z[:, 0] ** 2)
    norms = jacobian_norms(g, z, np.random.default_rng(4))
    np.testing.assert_allclose(norms, want, rtol=2e-3, atol=1e-3)


def test_large_latents_use_random_directions_unbiased_on_average():
    # 20-D latent: PROBES Gaussian directions per row; the mean of squared norms over rows
    # estimates ||A||_F^2 (each row's estimate has relative spread ~ sqrt(2 / PROBES))
    a = np.random.default_rng(5).standard_normal((20, 4)).astype(np.float32)
    z = np.zeros((4000, 20), np.float32)
    norms = jacobian_norms(lambda v: v @ a, z, np.random.default_rng(6))
    assert np.mean(norms**2) == pytest.approx(np.linalg.norm(a) ** 2, rel=0.03)
    assert np.std(norms**2) / np.mean(norms**2) < 2 / np.sqrt(PROBES)


class StepEngine:
    """A 'G' whose first output has two flat plateaus and a steep bridge between them around
    z = 0; its second output is z itself, so a sample tells which draw it came from."""

    def __init__(self, keep: float) -> None:
        cfg = load_config("ring8", [f"model.jacobian_keep={keep}"])
        self.cfg = SimpleNamespace(model=cfg.model)

    def latent(self, n, rng):
        return rng.uniform(-1, 1, (n, 1)).astype(np.float32)

    def sample(self, z):
        return np.concatenate([np.tanh(10 * z), z], axis=1)


def test_truncation_keeps_the_flattest_draws_in_draw_order():
    x, how = draw(StepEngine(0.8), 1000, np.random.default_rng(7))
    assert x.shape == (1000, 2) and how["draws"] == 1250 and how["kept"] == 1000
    assert how["jacobian_keep"] == 0.8 and "central differences" in how["norm"]
    z = StepEngine(0.8).latent(1250, np.random.default_rng(7))[:, 0]
    # G is steepest at z = 0 and flattens with |z|: the 20 % dropped are |z| < ~0.2
    cut = np.sort(np.abs(z))[250]
    assert 0.17 < cut < 0.23
    assert np.all(np.abs(x[:, 1]) >= cut - 1e-6)
    assert set(x[:, 1]) == set(z[np.abs(z) >= cut])
    # in draw order
    where = [int(np.flatnonzero(z == v)[0]) for v in x[:, 1]]
    assert where == sorted(where)


@pytest.mark.parametrize("value", ["0", "1.5", "-0.2"])
def test_a_share_outside_0_1_is_refused(value):
    with pytest.raises(UserError, match="jacobian_keep"):
        load_config("ring8", [f"model.jacobian_keep={value}"])


def test_truncation_of_images_is_refused_before_any_data():
    with pytest.raises(UserError, match="truncates point samples only"):
        check(load_config("digits", ["model.jacobian_keep=0.9"]))
    check(load_config("digits"))  # the default keeps every draw
