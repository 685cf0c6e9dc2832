"""The loss table: every entry's objectives, gradients and realness, in every engine.

Each test runs over the whole table, so a new loss is tested by being in it."""

import dataclasses

import numpy as np
import pytest
import torch
from conftest import SMALL_DATA, TINY_NETS

from gankit import losses
from gankit.config import load_config
from gankit.data.toy import make_points
from gankit.engines import make_engine
from gankit.engines.numpy import losses as numpy_grads
from gankit.errors import UserError
from gankit.losses import LOSSES, NUMPY, realness, realness_stats, torch_ops

NAMES = list(LOSSES)
T = torch_ops()


def _outputs(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """D outputs away from the hinge's kinks at +-1, some beyond softplus's threshold (20)."""
    rng = np.random.default_rng(seed)
    real = np.array([-3.0, -0.5, 0.3, 2.2, 25.0, -22.0]) + rng.uniform(-0.1, 0.1, 6)
    fake = np.array([-2.5, -0.2, 0.6, 1.7, 21.0, -30.0]) + rng.uniform(-0.1, 0.1, 6)
    return real, fake


def _numeric(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    out = np.zeros_like(x)
    for i in range(x.size):
        keep = x.flat[i]
        x.flat[i] = keep + eps
        up = f()
        x.flat[i] = keep - eps
        down = f()
        x.flat[i] = keep
        out.flat[i] = (up - down) / (2 * eps)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_objectives_give_finite_gradients_in_the_right_direction(name):
    # scores inside (0, 1): below LSGAN's real target, above its fake target, inside the hinge
    loss = LOSSES[name]
    real = torch.linspace(0.05, 0.95, 9, dtype=torch.float64, requires_grad=True)
    fake = torch.linspace(0.05, 0.95, 9, dtype=torch.float64, requires_grad=True)
    gr, gf = torch.autograd.grad(loss.d(T, real, fake), (real, fake))
    assert torch.isfinite(gr).all() and torch.isfinite(gf).all()
    # D lowers its loss by scoring real higher and fake lower (never the other way)
    assert (gr <= 0).all() and (gr < 0).any()
    assert (gf >= 0).all() and (gf > 0).any()
    r = real.detach() if loss.relativistic else None
    (gg,) = torch.autograd.grad(loss.g(T, r, fake), fake)
    # G lowers its loss by having its fakes scored higher
    assert torch.isfinite(gg).all() and (gg <= 0).all() and (gg < 0).any()


@pytest.mark.parametrize("name", NAMES)
def test_numpy_values_and_gradients_are_torchs_and_finite_differences(name):
    loss, grads = LOSSES[name], numpy_grads.GRADIENTS[name]
    real, fake = _outputs(6)
    r_t = torch.as_tensor(real).requires_grad_(True)
    f_t = torch.as_tensor(fake).requires_grad_(True)
    d_t = loss.d(T, r_t, f_t)
    assert loss.d(NUMPY, real, fake) == pytest.approx(d_t.item(), rel=1e-12, abs=1e-14)
    want_r, want_f = torch.autograd.grad(d_t, (r_t, f_t))
    gr, gf = grads.d(real, fake)
    np.testing.assert_allclose(gr, want_r.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gf, want_f.numpy(), rtol=1e-10, atol=1e-14)
    tol = {"rtol": 1e-6, "atol": 1e-7}  # lsgan's loss reaches ~200: rounding in the quotient
    np.testing.assert_allclose(gr, _numeric(lambda: loss.d(NUMPY, real, fake), real), **tol)
    np.testing.assert_allclose(gf, _numeric(lambda: loss.d(NUMPY, real, fake), fake), **tol)

    r = real if loss.relativistic else None
    g_t = loss.g(T, None if r is None else torch.as_tensor(r), f_t)
    assert loss.g(NUMPY, r, fake) == pytest.approx(g_t.item(), rel=1e-12, abs=1e-14)
    (want_g,) = torch.autograd.grad(g_t, f_t)
    gg = grads.g(r, fake)
    np.testing.assert_allclose(gg, want_g.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gg, _numeric(lambda: loss.g(NUMPY, r, fake), fake), **tol)


def test_every_loss_has_a_numpy_gradient():
    assert set(numpy_grads.GRADIENTS) == set(LOSSES)


def test_known_values():
    zero = torch.zeros(4)
    for name in ("bce", "rpgan", "ragan"):  # cross-entropies at ln 2 when D cannot tell
        assert LOSSES[name].d(T, zero, zero).item() == pytest.approx(np.log(2))
    # rpgan pairs each real with its fake: softplus(f_i - r_i), not a mean over all pairs
    r, f = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    assert LOSSES["rpgan"].d(T, r, f).item() == pytest.approx(
        0.5 * (np.log1p(np.exp(-1.0)) + np.log1p(np.exp(1.0)))
    )
    # D's output bias cannot change a relativistic loss: it compares real with fake
    r, f = torch.randn(8), torch.randn(8)
    for name in ("rpgan", "ragan"):
        loss = LOSSES[name]
        assert loss.d(T, r + 3.0, f + 3.0).item() == pytest.approx(loss.d(T, r, f).item())
        assert loss.g(T, r + 3.0, f + 3.0).item() == pytest.approx(loss.g(T, r, f).item())


def test_minimax_saturates_where_bce_does_not():
    confident = torch.tensor([-8.0], requires_grad=True)  # D rejects the fake
    (g_minimax,) = torch.autograd.grad(LOSSES["minimax"].g(T, None, confident), confident)
    (g_bce,) = torch.autograd.grad(LOSSES["bce"].g(T, None, confident), confident)
    assert abs(g_minimax.item()) < 1e-3 < abs(g_bce.item())
    assert LOSSES["minimax"].saturating and not LOSSES["bce"].saturating


@pytest.mark.parametrize("name", NAMES)
def test_realness_is_the_same_in_numpy_and_torch_and_decides_at_one_half(name):
    loss = LOSSES[name]
    real, fake = np.array([2.0, 3.0, 1.5]), np.array([-2.0, -1.0, -0.5])
    centre = (real.mean(), fake.mean())
    r, f = realness(loss, real, centre), realness(loss, fake, centre)
    assert (r > 0.5).all() and (f <= 0.5).all() and ((r >= 0) & (r <= 1)).all()
    ours = realness_stats(loss, real, fake)
    theirs = realness_stats(loss, torch.as_tensor(real), torch.as_tensor(fake), T)
    np.testing.assert_allclose([float(v) for v in ours], [float(v) for v in theirs], rtol=1e-12)
    # the statistics are the mapping's means, and the share of fakes above one half
    assert float(ours[0]) == pytest.approx(r.mean()) and float(ours[2]) == np.mean(f > 0.5)


def test_a_centred_realness_has_its_decision_line_between_the_batches():
    for name in ("wgan", "rpgan"):
        loss = LOSSES[name]
        assert loss.centred
        mid = realness(loss, np.array([4.0]), (5.0, 3.0))  # the midpoint of the two means
        assert mid[0] == pytest.approx(0.5)
    assert not LOSSES["bce"].centred


def test_an_unknown_loss_is_refused_with_the_table():
    with pytest.raises(UserError, match="rpgan") as e:
        load_config("sine", ["loss.name=rgan"])
    assert "'bce'" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ValueError, match="known: bce"):
        losses.get("rgan")


# --- a loss added to the table trains on every engine, nothing else touched ---------------


def _double_bce(x, r, f):
    return 2.0 * LOSSES["bce"].d(x, r, f)


def _double_bce_g(x, r, f):
    return 2.0 * LOSSES["bce"].g(x, r, f)


@pytest.fixture
def doubled(monkeypatch):
    """ "bce2": the cross-entropy doubled, with its gradients, in the table and nowhere else."""
    entry = dataclasses.replace(LOSSES["bce"], name="bce2", d=_double_bce, g=_double_bce_g)
    monkeypatch.setitem(LOSSES, "bce2", entry)
    bce = numpy_grads.GRADIENTS["bce"]
    monkeypatch.setitem(
        numpy_grads.GRADIENTS,
        "bce2",
        numpy_grads.Gradients(
            d=lambda r, f: tuple(2.0 * g for g in bce.d(r, f)), g=lambda r, f: 2.0 * bce.g(r, f)
        ),
    )


@pytest.mark.parametrize("engine", ["torch", "keras", "numpy"])
def test_a_loss_added_to_the_table_trains_on_every_engine(doubled, engine):
    small = [*TINY_NETS, *SMALL_DATA]
    first = {}
    for name in ("bce", "bce2"):
        cfg = load_config("ring8", [*small, f"train.engine={engine}", f"loss.name={name}"])
        e = make_engine(cfg, make_points(cfg.data, cfg.seed).train)
        first[name] = e.train(1)  # the first D step's loss, on equal weights and batches
        later = e.train(20)
        assert all(np.isfinite(v) for v in later.values())
    # the engine computed the new entry's objectives: twice bce's on the same first batch
    assert first["bce2"]["d_loss"] == pytest.approx(2 * first["bce"]["d_loss"], rel=1e-5)
    assert first["bce2"]["d_real"] == pytest.approx(first["bce"]["d_real"], rel=1e-5)
