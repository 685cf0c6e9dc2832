"""G and D as Keras models, built from the same model config as the torch engine's.

The layers carry torch's names (``fc0, bn0, act0, drop0, ..., out`` for MLPs; ``fc, grid,
bn, up0, conv0, ..., resize, out`` for upconv; ``conv0, bn0, act0, ..., flat, out`` for
conv D) and compute what torch's do, channels-last: the torch engine's weights, loaded
through :mod:`gankit.engines.keras.state`, give the same outputs to float precision.

Where torch and Keras differ, the Keras side is built to match torch:

* ``Conv2d(k4, s2, p1)`` is ``ZeroPadding2D(1)`` (named ``pad{i}``) then a valid Conv2D;
  Keras' "same" pads odd sizes asymmetrically (105 -> 53 rows, torch 52).
* ``ConvTranspose2d(k4, s2, p1)`` is a valid Conv2DTranspose (2n + 2) then
  ``Cropping2D(1)`` (``crop{i}``): torch drops one row and column on every side.
* batch-norm is :class:`~gankit.engines.keras.layers.BatchNorm` (torch's momentum 0.1,
  epsilon 1e-5, unbiased running variance).
* initial weights follow torch's distributions: Linear ``U(±1/sqrt(fan_in))`` for weights
  and biases (MLPs), N(0, 0.02) weights, N(1, 0.02) batch-norm scales and zero biases for
  the convolutional archs (Radford et al., as the torch engine's ``_dcgan_init``), so a
  preset tuned on one engine starts from the same kind of network on the other.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from gankit.config import ModelConfig
from gankit.engines.base import check_d_halvings, check_dcgan_size
from gankit.engines.keras.layers import (
    BatchNorm,
    FlattenChannelsFirst,
    MinibatchStd,
    Resize,
    SpectralNorm,
    Unflatten,
)
from gankit.errors import UserError

Layer = keras.layers.Layer


class _Init:
    """Initialisers drawing from one seeded stream, one draw per layer in build order."""

    def __init__(self, seed: int, conv: bool) -> None:
        self.seed = keras.random.SeedGenerator(seed)
        self.int_seed = seed  # for the layers that take an integer: dropout
        self.conv = conv

    def dense(self, fan_in: int) -> dict[str, Any]:
        """Kernel and bias initialisers of a Dense (Linear) layer."""
        if self.conv:
            return {"kernel_initializer": self.normal(0.0), "bias_initializer": "zeros"}
        bound = 1.0 / np.sqrt(fan_in)  # torch's kaiming_uniform(a=sqrt(5)) and bias
        return {
            "kernel_initializer": keras.initializers.VarianceScaling(
                1.0 / 3.0, "fan_in", "uniform", seed=self.seed
            ),
            "bias_initializer": keras.initializers.RandomUniform(-bound, bound, seed=self.seed),
        }

    def normal(self, mean: float) -> keras.initializers.Initializer:
        return keras.initializers.RandomNormal(mean, 0.02, seed=self.seed)

    def batchnorm(self, name: str, dtype: str) -> BatchNorm:
        gamma = self.normal(1.0) if self.conv else "ones"  # torch: BatchNorm1d keeps ones
        return BatchNorm(gamma_initializer=gamma, name=name, dtype=dtype)


def activation(name: str, slope: float, layer_name: str, dtype: str) -> Layer:
    if name == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=slope, name=layer_name, dtype=dtype)
    if name == "relu":
        return keras.layers.ReLU(name=layer_name, dtype=dtype)
    return keras.layers.Activation(name, name=layer_name, dtype=dtype)  # tanh, elu, sigmoid


def _chw(shape: tuple[int, ...]) -> tuple[int, int, int]:
    h, w, c = shape
    return c, h, w


def mlp_generator(cfg: ModelConfig, shape: tuple[int, ...], init: _Init, dtype: str) -> list[Layer]:
    """Points: ``shape = (d,)``, unbounded output. Images ``(H, W, C)``: a flat tanh output
    in torch's (C, H, W) order, unflattened to NHWC, as the seed's MNIST GAN."""
    layers: list[Layer] = []
    width = cfg.latent_dim
    for i, h in enumerate(cfg.g_hidden):
        layers.append(keras.layers.Dense(h, name=f"fc{i}", dtype=dtype, **init.dense(width)))
        if cfg.g_batchnorm:
            layers.append(init.batchnorm(f"bn{i}", dtype))
        layers.append(activation(cfg.g_activation, cfg.leaky_slope, f"act{i}", dtype))
        width = h
    n_out = int(np.prod(shape))
    layers.append(keras.layers.Dense(n_out, name="out", dtype=dtype, **init.dense(width)))
    if len(shape) > 1:
        layers.append(keras.layers.Activation("tanh", name="tanh", dtype=dtype))
        layers.append(Unflatten(_chw(shape), name="image", dtype=dtype))
    return layers


def mlp_discriminator(
    cfg: ModelConfig, shape: tuple[int, ...], init: _Init, dtype: str
) -> list[Layer]:
    """D maps a pack of ``cfg.pack`` samples (side by side) to one raw score: a logit for the
    BCE losses, a critic value for the Wasserstein ones."""
    layers: list[Layer] = []
    if len(shape) > 1:
        layers.append(FlattenChannelsFirst(name="flat", dtype=dtype))
    width = int(np.prod(shape)) * cfg.pack
    for i, h in enumerate(cfg.d_hidden):
        layers.append(keras.layers.Dense(h, name=f"fc{i}", dtype=dtype, **init.dense(width)))
        layers.append(activation(cfg.d_activation, cfg.leaky_slope, f"act{i}", dtype))
        if cfg.d_dropout > 0:
            layers.append(
                keras.layers.Dropout(
                    cfg.d_dropout, name=f"drop{i}", dtype=dtype, seed=init.int_seed + 1 + i
                )
            )
        width = h
    if cfg.d_mbstd:
        layers.append(MinibatchStd(name="mbstd", dtype=dtype))
        width += 1
    layers.append(keras.layers.Dense(1, name="out", dtype=dtype, **init.dense(width)))
    return layers


def upconv_generator(
    cfg: ModelConfig, shape: tuple[int, ...], init: _Init, dtype: str
) -> list[Layer]:
    """The Breakout seed's G: Dense to ``g_channels[0]`` maps on a grid 2^(k+1) times smaller
    than the image, batch-norm, k blocks of [upsample x2, conv 3x3, batch-norm, ReLU], an
    upsampling to the exact image size, a 3x3 convolution to the image channels and tanh."""
    h, w, c = shape
    k = len(cfg.g_channels)
    h0, w0 = max(1, round(h / 2 ** (k + 1))), max(1, round(w / 2 ** (k + 1)))
    c0 = cfg.g_channels[0]
    layers: list[Layer] = [
        keras.layers.Dense(c0 * h0 * w0, name="fc", dtype=dtype, **init.dense(cfg.latent_dim)),
        Unflatten((c0, h0, w0), name="grid", dtype=dtype),
        init.batchnorm("bn", dtype),
    ]
    for i, ch in enumerate(cfg.g_channels):
        layers += [
            keras.layers.UpSampling2D(2, name=f"up{i}", dtype=dtype),
            _conv(ch, 3, 1, "same", f"conv{i}", init, dtype),
            init.batchnorm(f"bn{i}", dtype),
            keras.layers.ReLU(name=f"act{i}", dtype=dtype),
        ]
    layers += [
        Resize((h, w), name="resize", dtype=dtype),
        _conv(c, 3, 1, "same", "out", init, dtype),
        keras.layers.Activation("tanh", name="tanh", dtype=dtype),
    ]
    return layers


def dcgan_generator(
    cfg: ModelConfig, shape: tuple[int, ...], init: _Init, dtype: str
) -> list[Layer]:
    """Radford et al.: z as a 1x1 map, a 4x4 transposed convolution, then one stride-2
    transposed convolution per further channel count and one to the image: 4 * 2^k pixels."""
    h, w, c = shape
    check_dcgan_size(cfg, h, w)
    layers: list[Layer] = [keras.layers.Reshape((1, 1, cfg.latent_dim), name="grid", dtype=dtype)]
    for i, ch in enumerate(cfg.g_channels):
        layers += _up(ch, 1 if i == 0 else 2, f"conv{i}", f"crop{i}", init, dtype)
        layers += [init.batchnorm(f"bn{i}", dtype), keras.layers.ReLU(name=f"act{i}", dtype=dtype)]
    layers += _up(c, 2, "out", "crop", init, dtype)
    layers.append(keras.layers.Activation("tanh", name="tanh", dtype=dtype))
    return layers


def _up(ch: int, stride: int, name: str, crop: str, init: _Init, dtype: str) -> list[Layer]:
    """torch's ConvTranspose2d(k4, stride, padding 0 if stride 1 else 1, no bias)."""
    up = keras.layers.Conv2DTranspose(
        ch, 4, stride, "valid", use_bias=False, name=name, dtype=dtype,
        kernel_initializer=init.normal(0.0),
    )  # fmt: skip
    return [up] if stride == 1 else [up, keras.layers.Cropping2D(1, name=crop, dtype=dtype)]


def _conv(ch: int, k: int, s: int, pad: str, name: str, init: _Init, dtype: str) -> Layer:
    return keras.layers.Conv2D(
        ch, k, s, pad, name=name, dtype=dtype,
        kernel_initializer=init.normal(0.0), bias_initializer="zeros",
    )  # fmt: skip


def conv_discriminator(
    cfg: ModelConfig, shape: tuple[int, ...], init: _Init, dtype: str
) -> list[Layer]:
    """Strided 4x4 convolutions (one halving each) with LeakyReLU, optional batch-norm after
    all but the first (the Breakout seed puts it after the activation, DCGAN before), then
    minibatch-std, flatten (torch's order), ``d_head`` hidden dense layers with LeakyReLU and a
    dense layer to one raw score."""
    h, w, _ = shape
    check_d_halvings(cfg, h, w)
    seed_order = cfg.arch == "upconv"
    layers: list[Layer] = []
    for i, ch in enumerate(cfg.d_channels):
        layers.append(keras.layers.ZeroPadding2D(1, name=f"pad{i}", dtype=dtype))
        layers.append(_conv(ch, 4, 2, "valid", f"conv{i}", init, dtype))
        bn = cfg.d_batchnorm and i > 0
        if bn and not seed_order:
            layers.append(init.batchnorm(f"bn{i}", dtype))
        layers.append(keras.layers.LeakyReLU(cfg.leaky_slope, name=f"act{i}", dtype=dtype))
        if bn and seed_order:
            layers.append(init.batchnorm(f"bn{i}", dtype))
        h, w = h // 2, w // 2
    if cfg.d_mbstd:
        layers.append(MinibatchStd(name="mbstd", dtype=dtype))
    layers.append(FlattenChannelsFirst(name="flat", dtype=dtype))
    for i, hidden in enumerate(cfg.d_head):
        layers.append(keras.layers.Dense(hidden, name=f"head{i}", dtype=dtype, **init.dense(0)))
        layers.append(keras.layers.LeakyReLU(cfg.leaky_slope, name=f"head_act{i}", dtype=dtype))
    layers.append(keras.layers.Dense(1, name="out", dtype=dtype, **init.dense(0)))
    return layers


def _check_shape(cfg: ModelConfig, shape: tuple[int, ...]) -> None:
    if cfg.arch != "mlp" and len(shape) != 3:
        raise UserError(
            f"model.arch = {cfg.arch} makes images, but this data is points; use model.arch = mlp."
        )


def build_generator(
    cfg: ModelConfig, shape: tuple[int, ...], seed: int, dtype: str = "float32"
) -> keras.Sequential:
    """G for samples of ``shape``: ``(d,)`` for points, ``(H, W, C)`` for images."""
    return _generator(cfg, shape, _Init(seed, conv=cfg.arch != "mlp"), dtype)


def _generator(
    cfg: ModelConfig, shape: tuple[int, ...], init: _Init, dtype: str
) -> keras.Sequential:
    _check_shape(cfg, shape)
    make = {"mlp": mlp_generator, "upconv": upconv_generator, "dcgan": dcgan_generator}
    layers = make[cfg.arch](cfg, shape, init, dtype)
    return keras.Sequential([keras.Input((cfg.latent_dim,), dtype=dtype), *layers], name="G")


def build_networks(
    cfg: ModelConfig, shape: tuple[int, ...], seed: int, dtype: str = "float32"
) -> tuple[keras.Sequential, keras.Sequential]:
    """(G, D) for samples of ``shape``: ``(d,)`` for points, ``(H, W, C)`` for images. D
    takes packs: ``(pack * d,)`` or ``(H, W, pack * C)``. Initial weights follow ``seed``."""
    init = _Init(seed, conv=cfg.arch != "mlp")
    g = _generator(cfg, shape, init, dtype)
    if cfg.arch == "mlp":
        layers = mlp_discriminator(cfg, shape, init, dtype)
    else:
        layers = conv_discriminator(cfg, shape, init, dtype)
    if cfg.d_spectral_norm:
        layers = [
            SpectralNorm(lay, seed=init.seed, name=lay.name, dtype=dtype)
            if isinstance(lay, keras.layers.Dense | keras.layers.Conv2D)
            else lay
            for lay in layers
        ]
    d_shape = (shape[0] * cfg.pack,) if len(shape) == 1 else (*shape[:2], shape[2] * cfg.pack)
    d = keras.Sequential([keras.Input(d_shape, dtype=dtype), *layers], name="D")
    return g, d
