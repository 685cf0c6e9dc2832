"""The torch engine on images: networks of the presets, uint8 in and out, the image-only
layers (minibatch std, DiffAugment), exact state round trips."""

import numpy as np
import pytest
import torch
from conftest import TINY_CONV

from gankit.config import load_config
from gankit.engines import make_engine
from gankit.engines.torch.augment import diff_augment
from gankit.engines.torch.model import MinibatchStd, ProductConvTranspose2d, build_networks
from gankit.errors import UserError


def _images(n: int, h: int, w: int, c: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, c), dtype=np.uint8)


@pytest.mark.parametrize(
    ("preset", "shape"),
    [
        ("breakout", (3, 210, 160)),
        ("breakout-fast", (3, 105, 80)),
        ("dcgan", (3, 64, 64)),
        ("stacked-digits", (3, 8, 8)),
        ("digits", (1, 8, 8)),
        ("folder", (3, 64, 64)),
    ],
)
def test_preset_networks_make_images_of_the_data_size(preset, shape):
    cfg = load_config(preset)
    g, d = build_networks(cfg.model, shape)
    x = g(torch.randn(4, cfg.model.latent_dim))
    assert tuple(x.shape) == (4, *shape)
    assert x.abs().max() <= 1.0  # tanh: the pixel range [-1, 1]
    packs = 4 // cfg.model.pack  # D judges packs of samples stacked along the channels
    assert tuple(d(x.reshape(packs, -1, *shape[1:])).shape) == (packs, 1)


def test_breakout_generator_is_the_seeds_network():
    g, d = build_networks(load_config("breakout").model, (3, 210, 160))
    assert g.fc.out_features == 128 * 13 * 10  # Linear to 128x13x10
    assert [g.get_submodule(f"conv{i}").out_channels for i in range(3)] == [128, 64, 32]
    assert d.conv0.kernel_size == (4, 4) and d.conv0.stride == (2, 2)
    assert isinstance(d.bn1, torch.nn.BatchNorm2d) and d.bn1.eps == 1e-5  # not the seed's 0.8
    # the seed's order in D: LeakyReLU, then batch-norm
    names = [n for n, _ in d.named_children()]
    assert names.index("act1") < names.index("bn1")


@pytest.mark.parametrize(
    ("c_in", "c_out", "size", "stride", "pad", "bias", "layout"),
    [
        (16, 32, 1, 1, 0, False, torch.channels_last),  # DCGAN's first layer: z to 4x4
        (32, 3, 4, 2, 1, False, torch.channels_last),  # to the image
        (8, 3, 3, 2, 1, True, torch.contiguous_format),
        (6, 4, 4, 3, 0, True, torch.channels_last),  # footprints that do not overlap
    ],
)
def test_product_conv_transpose_is_torchs_conv_transpose(
    c_in, c_out, size, stride, pad, bias, layout
):
    """Output, input gradient and weight gradients of ProductConvTranspose2d against
    nn.ConvTranspose2d with the same weights, in float64, and the layout it hands on."""
    torch.manual_seed(0)
    ref = torch.nn.ConvTranspose2d(c_in, c_out, 4, stride, pad, bias=bias).double()
    ours = ProductConvTranspose2d(c_in, c_out, 4, stride, pad, bias=bias).double()
    ours.load_state_dict(ref.state_dict())
    ref.to(memory_format=layout)
    ours.to(memory_format=layout)
    x = torch.randn(3, c_in, size, size, dtype=torch.float64).contiguous(memory_format=layout)
    assert ours._by_product(x)  # not the convolution it falls back to
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = ref(xa), ours(xb)
    torch.testing.assert_close(yb, ya, rtol=1e-12, atol=1e-12)
    assert yb.is_contiguous(memory_format=layout)
    up = torch.randn_like(ya)
    ya.backward(up)
    yb.backward(up)
    torch.testing.assert_close(xb.grad, xa.grad, rtol=1e-12, atol=1e-12)
    for (name, p), q in zip(ours.named_parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-12, atol=1e-12, msg=name)


def test_product_conv_transpose_leaves_wide_layers_to_the_convolution():
    """Many output channels from more than one pixel: col2im would cost more than oneDNN's
    convolution (docstring of ProductConvTranspose2d), so the layer runs the convolution."""
    wide = ProductConvTranspose2d(32, 16, 4, 2, 1, bias=False)
    assert not wide._by_product(torch.zeros(2, 32, 4, 4))
    assert not wide._by_product(torch.zeros(2, 32, 1, 1))  # padded, so a fold, and wide
    first = ProductConvTranspose2d(32, 16, 4, 1, 0, bias=False)
    assert first._by_product(torch.zeros(2, 32, 1, 1))


def test_dcgan_refuses_a_size_its_layers_cannot_make():
    cfg = load_config("dcgan")
    with pytest.raises(UserError, match=r"64x64"):
        build_networks(cfg.model, (3, 48, 48))


def test_conv_arch_on_points_is_a_clear_error():
    cfg = load_config("ring8", ["model.arch=upconv"])
    with pytest.raises(UserError, match="model.arch = mlp"):
        build_networks(cfg.model, (2,))


def test_minibatch_std_groups_never_mix_real_and_fake():
    real = torch.zeros(8, 2, 4, 4)  # no spread at all
    fake = torch.randn(8, 2, 4, 4)
    out = MinibatchStd()(torch.cat([real, fake]))
    assert out.shape == (16, 3, 4, 4)
    assert torch.all(out[:8, 2] < 1e-3)  # the real half sees its own (zero) spread
    assert torch.all(out[8:, 2] > 0.3)


def test_minibatch_std_tells_a_collapsed_batch():
    varied = MinibatchStd()(torch.randn(8, 5))[:, -1]
    collapsed = MinibatchStd()(torch.ones(8, 5))[:, -1]
    assert collapsed.max() < 1e-3 < varied.min()


@pytest.mark.parametrize(
    "names", [["color"], ["translation"], ["cutout"], ["translation", "color", "cutout"]]
)
def test_diff_augment_keeps_shape_follows_the_generator_and_passes_gradients(names):
    x = torch.rand(4, 3, 16, 12, requires_grad=True) * 2 - 1
    a = diff_augment(x, names, torch.Generator().manual_seed(1))
    b = diff_augment(x, names, torch.Generator().manual_seed(1))
    c = diff_augment(x, names, torch.Generator().manual_seed(2))
    assert a.shape == x.shape
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, c)
    (grad,) = torch.autograd.grad(a.sum(), x)
    assert grad.abs().sum() > 0


def test_translation_shifts_content_and_fills_with_zeros():
    x = torch.ones(64, 1, 8, 8)
    out = diff_augment(x, ["translation"], torch.Generator().manual_seed(0))
    # shifted images lose a border to zeros; over 64 draws some are shifted
    assert (out == 0).any() and (out == 1).any()
    assert set(out.unique().tolist()) <= {0.0, 1.0}


def test_cutout_zeroes_a_quarter_of_the_image():
    x = torch.ones(16, 1, 8, 8)
    out = diff_augment(x, ["cutout"], torch.Generator().manual_seed(0))
    zero_share = (out == 0).float().mean(dim=(1, 2, 3))
    # a 4x4 hole, clipped at the border: between 1/16 and 1/4 of each image
    assert torch.all(zero_share <= 0.25) and torch.all(zero_share >= 1 / 16)


@pytest.mark.parametrize(
    "extra",
    [
        ["model.arch=upconv", "model.g_channels=[8,4]"],
        ["model.arch=dcgan", "model.g_channels=[8]", "model.d_channels=[4]"],
        ["model.arch=mlp", "model.g_hidden=[16]", "model.d_hidden=[16]", "model.g_batchnorm=true"],
        [
            "model.d_mbstd=true",
            "model.d_spectral_norm=true",
            "model.augment=['translation','color','cutout']",
        ],
        ["loss.name=wgan-gp", "model.pack=2"],
        ["loss.r1=1.0", "loss.r1_every=1", "model.d_batchnorm=true"],
    ],
)
def test_image_engine_trains_samples_uint8_and_round_trips_its_state(extra):
    cfg = load_config("stacked-digits", [*TINY_CONV, *extra])
    data = _images(64, 8, 8, 3)
    engine = make_engine(cfg, data)
    stats = engine.train(3)
    assert all(np.isfinite(v) for v in stats.values())
    z = engine.latent(5, np.random.default_rng(0))
    x = engine.sample(z)
    assert x.shape == (5, 8, 8, 3) and x.dtype == np.uint8
    assert engine.critic(data[:7]).shape == (7,)
    # the state restores the exact continuation
    state = engine.state()
    twin = make_engine(cfg, data)
    twin.load_state(state)
    a, b = engine.train(2), twin.train(2)
    assert a == b
    np.testing.assert_array_equal(engine.sample(z), twin.sample(z))


def test_grayscale_images_and_an_mlp():
    cfg = load_config(
        "digits", ["train.batch_size=8", "model.g_hidden=[16]", "model.d_hidden=[16]"]
    )
    data = _images(32, 8, 8, 1)
    engine = make_engine(cfg, data)
    engine.train(2)
    assert engine.sample(engine.latent(3, np.random.default_rng(0))).shape == (3, 8, 8, 1)
