"""D's input gradient written out as its transpose (engines/torch/input_grad.py): autograd's
gradient, and autograd's gradient of a penalty on it, on every layer it accepts."""

import numpy as np
import pytest
import torch
from torch import nn

from gankit.config import load_config
from gankit.engines import make_engine
from gankit.engines.torch.input_grad import input_grad, supports
from gankit.engines.torch.losses import autograd_input_grad, gradient_penalty, r1_penalty
from gankit.engines.torch.model import (
    MinibatchStd,
    VarMinibatchStd,
    build_networks,
    conv_discriminator,
    mlp_discriminator,
)

# (preset, overrides, sample shape): the presets' critics with penalties, and shapes whose
# strided convolutions drop a remainder (odd sizes) so the transpose must add it back
NETS = [
    ("breakout-wgan", ["model.d_channels=[4,8]"], (3, 21, 17)),
    ("folder", ["model.d_channels=[4,8,8]"], (3, 16, 16)),  # minibatch-std
    ("breakout-fast", ["model.d_channels=[4,8]", "model.d_head=[16]"], (3, 15, 10)),  # pack 2
    ("points", ["model.d_mbstd=true", "model.d_activation=relu"], (2,)),
    ("ring8", ["model.pack=2"], (2,)),
]


def _d(model, shape):
    return (conv_discriminator if len(shape) == 3 else mlp_discriminator)(model, shape)


def _critic(preset, overrides, shape, channels_last):
    cfg = load_config(preset, overrides)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        d = _d(cfg.model, shape).double()
        for p in d.parameters():  # beyond DCGAN's N(0, 0.02): every term of the sum matters
            nn.init.normal_(p, 0.0, 0.5)
    packs = 8
    x = torch.randn(packs, shape[0] * cfg.model.pack, *shape[1:], dtype=torch.float64)
    x[:4] = x[0]  # one minibatch-std group of identical samples: a spread near zero
    x[:4] += 1e-3 * torch.randn_like(x[:4])
    if channels_last and len(shape) == 3:
        d = d.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    return d, x


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
@pytest.mark.parametrize(("preset", "overrides", "shape"), NETS, ids=[n[0] for n in NETS])
def test_input_grad_and_its_own_gradient_are_autograds(preset, overrides, shape, channels_last):
    d, x = _critic(preset, overrides, shape, channels_last)
    assert supports(d)
    mine, theirs = input_grad(d, x), autograd_input_grad(d, x)
    torch.testing.assert_close(mine, theirs, rtol=1e-10, atol=1e-12)
    # a penalty's gradient with respect to D's weights: through the transpose's first-order
    # backward here, through autograd's double backward there
    params = list(d.parameters())
    w = torch.randn_like(x)  # every entry of the gradient weighted differently
    for grad in (mine, theirs):
        assert grad.requires_grad
    ours = torch.autograd.grad((w * mine).sum(), params, allow_unused=True)
    ref = torch.autograd.grad((w * theirs).sum(), params, allow_unused=True)
    for p, a, b in zip(params, ours, ref, strict=True):
        # a bias reaches the input gradient only through a ReLU's slope: nothing (None) or 0
        a = torch.zeros_like(p) if a is None else a
        b = torch.zeros_like(p) if b is None else b
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_penalties_take_either_gradient():
    d, x = _critic("folder", ["model.d_channels=[4,8]"], (3, 8, 8), True)
    fake, u = torch.randn_like(x), torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype)
    torch.testing.assert_close(r1_penalty(d, x, input_grad), r1_penalty(d, x))
    torch.testing.assert_close(
        gradient_penalty(d, x, fake, u, input_grad), gradient_penalty(d, x, fake, u)
    )


def test_minibatch_std_from_two_means_is_torch_var():
    x = torch.randn(8, 5, 3, 3, dtype=torch.float64)
    torch.testing.assert_close(MinibatchStd()(x), VarMinibatchStd()(x))
    assert MinibatchStd().group_size(8) == 4 and MinibatchStd().group_size(6) == 6


def test_supports_only_what_it_can_transpose():
    shape = (3, 16, 16)
    model = load_config("folder").model
    assert supports(_d(model, shape))
    assert not supports(_d(model.model_copy(update={"d_batchnorm": True}), shape))
    spectral = load_config("folder", ["model.d_spectral_norm=true"]).model
    assert not supports(build_networks(spectral, (3, 64, 64))[1])
    assert not supports(_d(load_config("ring8", ["model.d_dropout=0.2"]).model, (2,)))
    assert not supports(nn.Sequential(nn.Conv2d(3, 4, 3, padding="same"), nn.Flatten()))
    assert not supports(nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)))


SMALL_WGAN = ["model.d_channels=[4,8]", "model.g_channels=[8,4]", "data.size=[24,16]"]
SMALL_FOLDER = ["model.d_channels=[4,8,8]", "model.g_channels=[8,8,4]", "data.size=[32,32]"]


@pytest.mark.parametrize(
    ("preset", "overrides"),
    [("breakout-wgan", SMALL_WGAN), ("folder", [*SMALL_FOLDER, "loss.r1_every=2"])],
    ids=["wgan-gp", "r1-mbstd"],
)
def test_training_with_the_transpose_is_training_with_autograd(preset, overrides):
    sets = [*overrides, "train.batch_size=8", "model.latent_dim=8", "train.threads=1",
            "train.dtype=float64", "data.n=16"]  # fmt: skip
    cfg = load_config(preset, sets)
    h, w = cfg.data.size
    data = np.random.default_rng(0).integers(0, 256, (16, h, w, 3), dtype=np.uint8)
    ours = make_engine(cfg, data)
    ref = make_engine(load_config(preset, [*sets, "train.fast_paths=false"]), data)
    assert "transpose" in ours.fast.names  # the engine picks the transpose for these critics
    assert ref.fast.names == [] and ref.fast.input_grad is autograd_input_grad
    a, b = ours.train(4), ref.train(4)
    for key in ("d_loss", "g_loss", "d_grad_norm"):
        assert a[key] == pytest.approx(b[key], rel=1e-9), key
    for key, value in ours.state().items():
        np.testing.assert_allclose(value, ref.state()[key], rtol=1e-8, atol=1e-12)
