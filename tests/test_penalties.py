"""Penalties as data: the plan a run's loss section makes, lazy weights, and R2 against
autograd and finite differences in every way gankit computes it."""

import numpy as np
import pytest
import torch

from gankit.config import load_config
from gankit.engines.numpy import losses as numpy_grads
from gankit.engines.torch import by_hand
from gankit.engines.torch.losses import autograd_input_grad, penalty_value, r1_penalty
from gankit.engines.torch.model import build_networks
from gankit.penalties import Penalty, due, plan, plan_for


def test_the_plan_is_gp_then_r1_then_r2_and_leaves_out_zero_weights():
    assert plan("bce") == ()
    assert [p.name for p in plan("wgan-gp", r1=0.1, r2=0.2)] == ["gp", "r1", "r2"]
    assert [p.name for p in plan("wgan-gp", gp_weight=0.0, r2=0.2)] == ["r2"]
    assert [p.name for p in plan("wgan", gp_weight=10.0)] == []  # wgan clips, no penalty
    r2 = plan("rpgan", r2=0.5, r2_every=4)[0]
    assert (r2.on, r2.of, r2.weight, r2.every) == ("fake", "squared_norm", 0.5, 4)


def test_plan_for_reads_the_config_and_wgan_gp_keeps_its_penalty():
    cfg = load_config("ring8", ["loss.name=wgan-gp", "loss.r1=0", "loss.gp_every=2"])
    (gp,) = plan_for(cfg.loss)
    assert (gp.name, gp.on, gp.weight, gp.every) == ("gp", "mix", cfg.loss.gp_weight, 2)


def test_lazy_weights_are_the_interval_times_the_weight_on_due_iterations_only():
    r1 = Penalty("r1", "real", "squared_norm", 0.2, 4)
    gp = Penalty("gp", "mix", "unit_gap", 10.0, 1)
    assert [r1.weight_at(i) for i in range(1, 9)] == [0, 0, 0, 0.4, 0, 0, 0, 0.4]
    assert gp.weight_at(7) == 10.0  # lambda, not halved
    assert due((r1, gp), 3) == [(gp, 10.0)]
    assert due((r1, gp), 8) == [(r1, 0.4), (gp, 10.0)]


@pytest.mark.parametrize("bad", ["loss.r2_every=0", "loss.gp_every=0", "loss.r2=-1"])
def test_bad_penalty_values_are_refused(bad):
    from gankit.errors import UserError

    with pytest.raises(UserError, match=bad.split("=")[0]):
        load_config("ring8", [bad])


def _d(act: str = "leaky_relu"):
    cfg = load_config(
        "ring8",
        ["model.d_hidden=[7,5]", "train.dtype=float64", f"model.d_activation={act}"],
    ).model
    _, d = build_networks(cfg, (2,))
    return d.double()


def test_r2_by_hand_is_autograds_second_derivative_on_the_fake_rows():
    """R2 on the fake rows of one pass over real and fake: its value and every weight's
    gradient, as autograd's double backward gives them."""
    torch.manual_seed(3)
    d = _d()
    real, fake = torch.randn(6, 2, dtype=torch.float64), torch.randn(4, 2, dtype=torch.float64)
    params = list(d.parameters())
    expected = torch.autograd.grad(r1_penalty(d, fake), params, allow_unused=True)
    layers = by_hand.layers_of(d)
    assert layers is not None
    for p in params:
        p.grad = torch.zeros_like(p)
    with torch.no_grad():
        _, kept = by_hand.forward(layers, torch.cat([real, fake]))
        value = by_hand._add_squared_norm(layers, kept, slice(6, None), weight=1.0)
    torch.testing.assert_close(value, r1_penalty(d, fake).detach())
    for (name, p), want in zip(d.named_parameters(), expected, strict=True):
        want = torch.zeros_like(p) if want is None else want
        torch.testing.assert_close(p.grad, want, rtol=1e-10, atol=1e-12, msg=name)
    assert any(p.grad.abs().max() > 1e-6 for p in params)


def test_r2_matches_finite_differences_of_the_weights():
    torch.manual_seed(4)
    d = _d("tanh")
    fake = torch.randn(5, 2, dtype=torch.float64)
    r2 = Penalty("r2", "fake", "squared_norm", 1.0, 1)
    w = d[0].weight
    (grad,) = torch.autograd.grad(penalty_value(r2, d, fake), w)
    num = torch.zeros_like(w)
    for idx in np.ndindex(*w.shape):
        with torch.no_grad():
            w[idx] += 1e-6
        up = penalty_value(r2, d, fake).item()
        with torch.no_grad():
            w[idx] -= 2e-6
        down = penalty_value(r2, d, fake).item()
        with torch.no_grad():
            w[idx] += 1e-6
        num[idx] = (up - down) / 2e-6
    torch.testing.assert_close(grad, num, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("of", sorted(numpy_grads.PENALTY_GRADIENTS))
def test_numpy_penalty_gradients_are_autograds(of):
    g = np.random.default_rng(7).normal(size=(5, 3))
    gt = torch.as_tensor(g).requires_grad_(True)
    p = Penalty("x", "real", of, 1.0, 1)
    value, grad = numpy_grads.PENALTY_GRADIENTS[of](g)
    theirs = penalty_value(p, None, gt, grad_of=lambda d, x: x)
    (want,) = torch.autograd.grad(theirs, gt)
    assert value == pytest.approx(theirs.item(), rel=1e-12)
    np.testing.assert_allclose(grad, want.numpy(), rtol=1e-12)
    # and autograd's input gradient of a linear D is its weight: the penalty of a known row
    lin = torch.nn.Linear(3, 1, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.6, 0.8, 0.0]], dtype=torch.float64))
    x = torch.randn(4, 3, dtype=torch.float64)
    known = {"squared_norm": 1.0, "unit_gap": 0.0}[of]  # ||w|| = 1
    assert penalty_value(p, lin, x, autograd_input_grad).item() == pytest.approx(known, abs=1e-12)
