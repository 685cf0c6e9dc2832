"""The MLP steps written out by hand (gankit/engines/torch/by_hand.py) against autograd."""

import numpy as np
import pytest
import torch
from conftest import without

from gankit.config import load_config
from gankit.data.toy import make_points
from gankit.engines import make_engine
from gankit.engines.torch import by_hand
from gankit.engines.torch.losses import r1_penalty
from gankit.engines.torch.model import build_networks
from gankit.losses import LOSSES, torch_ops

SMALL = ["model.g_hidden=[16,12]", "model.d_hidden=[12,16]", "train.batch_size=24"]


def _pair(*overrides, preset="ring8"):
    """Two engines from one config and seed: one steps by hand, the other through autograd."""
    sets = [*SMALL, "data.n=500", "data.holdout=50", *overrides]
    cfg, plain = load_config(preset, sets), load_config(preset, [*sets, without("by_hand")])
    data = make_points(cfg.data, cfg.seed).train
    by_hand_engine, autograd_engine = make_engine(cfg, data), make_engine(plain, data)
    assert by_hand_engine.fast.by_hand is not None and autograd_engine.fast.by_hand is None
    return by_hand_engine, autograd_engine


@pytest.mark.parametrize(
    "overrides",
    [
        [],  # ring8: tanh G, LeakyReLU D, BCE, R1 every 4th step, EMA of G
        ["loss.name=minimax", "model.pack=2", "loss.r1=0.5", "loss.r1_every=1"],
        ["loss.name=hinge", "model.g_activation=relu", "train.d_steps=2", "loss.r1=0"],
        ["loss.name=lsgan", "model.d_activation=relu", "model.latent_dim=5", "loss.r1=2"],
        ["loss.name=wgan", "model.g_activation=leaky_relu", "model.pack=3", "loss.r1=0"],
        # a tanh D: its R1 steps go through autograd, the others by hand
        ["model.d_activation=tanh", "loss.r1=1", "loss.r1_every=2"],
        # no hidden layer (GAN Lab's 0 layers): G one linear map, D a linear score with R1
        ["model.g_hidden=[]"],
        ["model.d_hidden=[]", "loss.r1=0.5", "loss.r1_every=1", "model.pack=2"],
    ],
)
def test_by_hand_trains_exactly_as_autograd(overrides):
    """In float64 the weights, optimiser state and logged statistics after six iterations
    (R1 steps among them) agree with autograd's to rounding: same gradients, same draws."""
    fast, slow = _pair("train.dtype=float64", *overrides)
    for _ in range(3):
        a, b = fast.train(2), slow.train(2)
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-12), key
    sa, sb = fast.state(), slow.state()
    for key in sa:
        np.testing.assert_allclose(sa[key], sb[key], rtol=1e-9, atol=1e-12, err_msg=key)


def test_by_hand_trains_a_batch_norm_g_exactly_as_autograd():
    """G with batch-norm, packs of 2 and R1: weights, optimiser state, batch-norm's running
    statistics (which the EMA copy of G takes over) and statistics agree with autograd's to
    rounding."""
    fast, slow = _pair("train.dtype=float64", "model.g_batchnorm=true", "model.pack=2",
                       "loss.r1_every=2", "train.batch_size=16")  # fmt: skip
    assert fast.fast.by_hand[0][0].bn is not None
    for _ in range(3):
        a, b = fast.train(2), slow.train(2)
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-12), key
    sa, sb = fast.state(), slow.state()
    assert sa["G.bn0.num_batches_tracked"][()] == 12  # G's forward in each D and G step
    assert np.abs(sa["G.bn1.running_var"] - 1.0).max() > 1e-3  # the statistics did move
    for key in sa:
        np.testing.assert_allclose(sa[key], sb[key], rtol=1e-9, atol=1e-12, err_msg=key)
    z = np.random.default_rng(1).standard_normal((8, fast.cfg.model.latent_dim))
    np.testing.assert_array_equal(fast.sample(z), slow.sample(z))  # the EMA G, in eval mode


def test_image_mlps_go_through_autograd():
    """Measured slower by hand than through autograd (docs/benchmarks/fast-paths.md)."""
    data = np.zeros((40, 8, 8, 1), dtype=np.uint8)
    assert make_engine(load_config("digits"), data).fast.by_hand is None


def test_by_hand_float32_stays_within_rounding_of_autograd():
    """float32, the toy presets' own precision, with tanh as 2 sigmoid(2x) - 1 and oneDNN's
    products: 20 iterations stay within float rounding of autograd's."""
    fast, slow = _pair("model.g_hidden=[64,64]", "model.d_hidden=[64,64]")
    a, b = fast.train(20), slow.train(20)
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-3, abs=1e-5), key
    for p, q in zip(fast.G.parameters(), slow.G.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-3, atol=1e-5)


def test_r1_gradient_by_hand_is_autograds_second_derivative():
    """R1's value and its gradient for every weight of a LeakyReLU D with packs of 2."""
    cfg = load_config("ring8", [*SMALL, "model.pack=2", "train.dtype=float64"]).model
    _, d = build_networks(cfg, (2,))
    d = d.double()
    real = torch.randn(10, 4, dtype=torch.float64)
    params = list(d.parameters())
    expected = torch.autograd.grad(r1_penalty(d, real), params, allow_unused=True)
    layers = by_hand.layers_of(d)
    assert layers is not None and by_hand.piecewise_linear(layers)
    for p in d.parameters():
        p.grad = torch.zeros_like(p)
    with torch.no_grad():
        _, kept = by_hand.forward(layers, real)
        value = by_hand._add_squared_norm(layers, kept, slice(0, 10), weight=1.0)
    torch.testing.assert_close(value, r1_penalty(d, real).detach())
    for (name, p), want in zip(d.named_parameters(), expected, strict=True):
        # biases only move the activations' kinks: zero (the output's is not even used)
        want = torch.zeros_like(p) if want is None else want
        torch.testing.assert_close(p.grad, want, rtol=1e-10, atol=1e-12, msg=name)
    assert any(p.grad.abs().max() > 1e-6 for p in params)  # not trivially zero


@pytest.mark.parametrize(
    "overrides, recognised",
    [
        ([], True),
        (["model.g_activation=relu", "model.d_activation=tanh"], True),
        (["model.g_activation=elu"], False),
        (["model.g_batchnorm=true"], True),
        (["model.d_dropout=0.2"], False),
        (["model.d_spectral_norm=true"], False),
        (["model.leaky_slope=-0.1"], False),  # the output's sign no longer tells the side
    ],
)
def test_layers_of_recognises_plain_mlps_only(overrides, recognised):
    cfg = load_config("ring8", overrides).model
    g, d = build_networks(cfg, (2,))
    found = by_hand.layers_of(g) is not None and by_hand.layers_of(d) is not None
    assert found == recognised
    if recognised:
        assert [layer.act for layer in by_hand.layers_of(g)] == [cfg.g_activation] * 3 + [""]
        bn = [layer.bn is not None for layer in by_hand.layers_of(g)]
        assert bn == [cfg.g_batchnorm] * 3 + [False]


def test_layers_of_leaves_image_mlps_alone():
    """The digits preset's MLPs take flattened images: autograd steps them (faster there)."""
    g, d = build_networks(load_config("digits").model, (1, 8, 8))
    assert by_hand.layers_of(g) is None and by_hand.layers_of(d) is None


def test_engine_steps_by_hand_only_where_it_applies():
    def engine(*overrides, preset="ring8"):
        cfg = load_config(preset, [*SMALL, "data.n=500", "data.holdout=50", *overrides])
        return make_engine(cfg, make_points(cfg.data, cfg.seed).train)

    assert engine().fast.by_hand is not None
    assert engine().fast.by_hand_penalties  # R1 too: a leaky-ReLU D is piecewise linear
    assert not engine("model.d_activation=tanh").fast.by_hand_penalties
    assert engine("loss.name=wgan-gp").fast.by_hand is None  # the penalty's new points
    assert engine("model.g_batchnorm=true").fast.by_hand is not None
    assert engine("model.d_dropout=0.2").fast.by_hand is None
    assert engine("train.fast_paths=false").fast.names == []
    assert engine().fast.names == ["by_hand", "direct_adam"]  # an MLP D is not transposed


@pytest.mark.parametrize("loss", list(LOSSES))
def test_loss_gradient_at_d_outputs_is_the_losses_own(loss):
    out = torch.linspace(-2.0, 2.0, 8, dtype=torch.float64)
    d_loss = lambda r, f: LOSSES[loss].d(torch_ops(), r, f)  # noqa: E731
    value, (gr, gf) = by_hand._loss_and_grads(d_loss, out[:4], out[4:])  # rpgan pairs them
    leaf = out.clone().requires_grad_(True)
    want = d_loss(*leaf.split([4, 4]))
    want.backward()
    torch.testing.assert_close(value, want.detach())
    torch.testing.assert_close(torch.cat([gr, gf]), leaf.grad)
