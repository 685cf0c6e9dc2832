"""G and D built from the model config, with names every engine shares.

Layers are named ``fc0, bn0, act0, drop0, fc1, ..., out`` (MLPs) or ``conv0, bn0, act0, ...``
(convolutional nets), so that a state entry reads ``G.fc1.weight`` or ``D.out.bias`` in
every engine. Images cross into the networks as float NCHW in [-1, 1]; G ends in tanh.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.config import ModelConfig
from gankit.engines.base import check_d_halvings, check_dcgan_size
from gankit.errors import UserError


def activation(name: str, slope: float) -> nn.Module:
    if name == "leaky_relu":
        return nn.LeakyReLU(slope)
    return {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "sigmoid": nn.Sigmoid}[name]()


class MinibatchStd(nn.Module):
    """Karras et al. (2018): append one channel holding the mean standard deviation of the
    features over groups of ``group`` samples. A collapsed G makes identical samples, whose
    zero spread D then sees at a glance."""

    def __init__(self, group: int = 4) -> None:
        super().__init__()
        self.group = group

    def group_size(self, b: int) -> int:
        """Samples per group in a batch of ``b``: else the spread of the whole batch."""
        return self.group if b % self.group == 0 else b

    def forward(self, x: Tensor) -> Tensor:
        b = x.shape[0]
        g = self.group_size(b)
        # groups of consecutive samples: D gets real and fake in one batch, real first, so
        # a group never mixes the two (the halves are multiples of the group size)
        std = self.spread(x.reshape(b // g, g, *x.shape[1:]))
        s = std.flatten(1).mean(dim=1).repeat_interleave(g)  # one number per sample
        extra = s.reshape(b, 1, *([1] * (x.dim() - 2))).expand(b, 1, *x.shape[2:])
        return torch.cat([x, extra], dim=1)

    @staticmethod
    def spread(y: Tensor) -> Tensor:
        """Each feature's standard deviation over a group (dim 1), from two means, as
        StyleGAN's code: torch.var over so short a dimension is 8x slower on a CPU (128 x
        512x4x4: 27 -> 3 ms)."""
        centred = y - y.mean(dim=1, keepdim=True)
        return (centred.square().mean(dim=1) + 1e-8).sqrt()


class VarMinibatchStd(MinibatchStd):
    """:class:`MinibatchStd` as a user writes it with ``torch.var``: the same maths, the plain
    loop's (``build_networks(..., torch_layers=True)``)."""

    @staticmethod
    def spread(y: Tensor) -> Tensor:
        return (y.var(dim=1, unbiased=False) + 1e-8).sqrt()


class EachHalfItsOwnBatch(nn.Module):
    """D over a batch of real packs stacked on as many fake ones, each half a batch of its
    own. A D with batch-norm normalises by its batch's statistics, and the seed notebook's
    loop (like the DCGAN paper's practice) gives D the real and the fake batch apart; one
    pass over both would mix them. One module call, so DDP wraps it as it wraps D."""

    def __init__(self, d: nn.Module) -> None:
        super().__init__()
        self.d = d

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.d(half) for half in x.chunk(2)])


class ProductConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` (same parameters, same state, same maths) computed on the CPU as
    one matrix product over the input's pixels where oneDNN's transposed convolution is slow:
    a 1x1 input (DCGAN's first layer: the product is the whole layer) and a few output
    channels from a few pixels (stacked-digits' 4x4 to 8x8 image), where a col2im
    (``F.fold``) adds up the kernel footprints cheaply. Forward and backward on one core,
    batch 64, beside other work: z to 512x4x4 25.2 -> 7.0 ms, 256x4x4 to 3x8x8 7.7 -> 1.7 ms
    (3.9 -> 1.2 in a quieter run); with many channels or pixels the fold costs more than the
    convolution (512x4x4 to 256x8x8: 115 -> 277 ms), so those layers, and every layer on
    other devices, run the convolution itself. stacked-digits' whole iteration: 1.22x."""

    def forward(self, x: Tensor, output_size: list[int] | None = None) -> Tensor:
        if output_size is not None or not self._by_product(x):
            return super().forward(x, output_size)
        b, c, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        # pixels by channels (a view of a channels-last input) times the weight: every input
        # pixel's footprint, Cout x kh x kw, in one product
        rows = x.permute(0, 2, 3, 1).reshape(b * h * w, c) @ self.weight.reshape(c, -1)
        if (h, w, ph, pw) == (1, 1, 0, 0):
            out = rows.view(b, -1, kh, kw)
        else:
            cols = rows.view(b, h * w, -1).transpose(1, 2)
            size = ((h - 1) * sh - 2 * ph + kh, (w - 1) * sw - 2 * pw + kw)
            out = F.fold(cols, size, (kh, kw), padding=(ph, pw), stride=(sh, sw))
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1, 1)
        # hand on the layout the network runs in
        channels_last = self.weight.is_contiguous(memory_format=torch.channels_last)
        return out.contiguous(
            memory_format=torch.channels_last if channels_last else torch.contiguous_format
        )

    def _by_product(self, x: Tensor) -> bool:
        if x.device.type != "cpu" or x.dim() != 4 or not _plain(self):
            return False
        h, w = x.shape[2:]
        if (h, w) == (1, 1) and self.padding == (0, 0):
            return True
        return h * w <= 16 and self.out_channels <= 4


def _plain(m: nn.ConvTranspose2d) -> bool:
    """No groups, dilation or output padding: what ProductConvTranspose2d computes."""
    return m.groups == 1 and m.dilation == (1, 1) and m.output_padding == (0, 0)


def has_batchnorm(net: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())


def mlp_generator(cfg: ModelConfig, shape: tuple[int, ...]) -> nn.Sequential:
    """Points: ``shape = (d,)``, unbounded output. Images ``(C, H, W)``: a flat tanh output
    reshaped to the image, as the seed's MNIST GAN."""
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    width = cfg.latent_dim
    for i, h in enumerate(cfg.g_hidden):
        layers[f"fc{i}"] = nn.Linear(width, h)
        if cfg.g_batchnorm:
            layers[f"bn{i}"] = nn.BatchNorm1d(h)
        layers[f"act{i}"] = activation(cfg.g_activation, cfg.leaky_slope)
        width = h
    layers["out"] = nn.Linear(width, _numel(shape))
    if len(shape) > 1:
        layers["tanh"] = nn.Tanh()
        layers["image"] = nn.Unflatten(1, shape)
    return nn.Sequential(layers)


def mlp_discriminator(
    cfg: ModelConfig, shape: tuple[int, ...], mbstd: type[MinibatchStd] = MinibatchStd
) -> nn.Sequential:
    """D maps a pack of ``cfg.pack`` samples (concatenated) to one raw score: a logit for the
    BCE losses, a critic value for the Wasserstein ones."""
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    if len(shape) > 1:
        layers["flat"] = nn.Flatten()
    width = _numel(shape) * cfg.pack
    for i, h in enumerate(cfg.d_hidden):
        layers[f"fc{i}"] = nn.Linear(width, h)
        layers[f"act{i}"] = activation(cfg.d_activation, cfg.leaky_slope)
        if cfg.d_dropout > 0:
            layers[f"drop{i}"] = nn.Dropout(cfg.d_dropout)
        width = h
    if cfg.d_mbstd:
        layers["mbstd"] = mbstd()
        width += 1
    layers["out"] = nn.Linear(width, 1)
    return nn.Sequential(layers)


def upconv_generator(cfg: ModelConfig, shape: tuple[int, ...]) -> nn.Sequential:
    """The Breakout seed's G: Linear to ``g_channels[0]`` maps on a grid 2^(k+1) times smaller
    than the image (13x10 for 210x160 with k = 3 blocks), batch-norm, k blocks of
    [upsample x2, conv 3x3, batch-norm, ReLU], an upsampling to the exact image size, a 3x3
    convolution to the image channels and tanh."""
    c, h, w = shape
    k = len(cfg.g_channels)
    h0, w0 = max(1, round(h / 2 ** (k + 1))), max(1, round(w / 2 ** (k + 1)))
    c0 = cfg.g_channels[0]
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    layers["fc"] = nn.Linear(cfg.latent_dim, c0 * h0 * w0)
    layers["grid"] = nn.Unflatten(1, (c0, h0, w0))
    layers["bn"] = nn.BatchNorm2d(c0)
    prev = c0
    for i, ch in enumerate(cfg.g_channels):
        layers[f"up{i}"] = nn.Upsample(scale_factor=2)
        layers[f"conv{i}"] = nn.Conv2d(prev, ch, 3, padding=1)
        layers[f"bn{i}"] = nn.BatchNorm2d(ch)
        layers[f"act{i}"] = nn.ReLU()
        prev = ch
    layers["resize"] = nn.Upsample(size=(h, w))
    layers["out"] = nn.Conv2d(prev, c, 3, padding=1)
    layers["tanh"] = nn.Tanh()
    return nn.Sequential(layers)


def dcgan_generator(
    cfg: ModelConfig,
    shape: tuple[int, ...],
    conv_t: type[nn.ConvTranspose2d] = ProductConvTranspose2d,
) -> nn.Sequential:
    """Radford et al.: z as a 1x1 map, a 4x4 transposed convolution, then one stride-2
    transposed convolution per further channel count and one to the image: 4 * 2^k pixels.
    ``conv_t``: gankit's (faster on a CPU, same maths) or torch's own."""
    c, h, w = shape
    check_dcgan_size(cfg, h, w)
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    layers["grid"] = nn.Unflatten(1, (cfg.latent_dim, 1, 1))
    prev = cfg.latent_dim
    for i, ch in enumerate(cfg.g_channels):
        stride, pad = (1, 0) if i == 0 else (2, 1)
        layers[f"conv{i}"] = conv_t(prev, ch, 4, stride, pad, bias=False)
        layers[f"bn{i}"] = nn.BatchNorm2d(ch)
        layers[f"act{i}"] = nn.ReLU()
        prev = ch
    layers["out"] = conv_t(prev, c, 4, 2, 1, bias=False)
    layers["tanh"] = nn.Tanh()
    return nn.Sequential(layers)


def conv_discriminator(
    cfg: ModelConfig, shape: tuple[int, ...], mbstd: type[MinibatchStd] = MinibatchStd
) -> nn.Sequential:
    """Strided 4x4 convolutions (one halving each) with LeakyReLU, optional batch-norm after
    all but the first (the Breakout seed puts it after the activation, DCGAN before), then
    minibatch-std, flatten, ``d_head`` hidden linear layers with LeakyReLU, and a linear layer
    to one raw score."""
    c, h, w = shape
    check_d_halvings(cfg, h, w)
    seed_order = cfg.arch == "upconv"
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    prev = c * cfg.pack
    for i, ch in enumerate(cfg.d_channels):
        layers[f"conv{i}"] = nn.Conv2d(prev, ch, 4, 2, 1)
        bn = cfg.d_batchnorm and i > 0
        if bn and not seed_order:
            layers[f"bn{i}"] = nn.BatchNorm2d(ch)
        layers[f"act{i}"] = nn.LeakyReLU(cfg.leaky_slope)
        if bn and seed_order:
            layers[f"bn{i}"] = nn.BatchNorm2d(ch)
        h, w, prev = h // 2, w // 2, ch
    if cfg.d_mbstd:
        layers["mbstd"] = mbstd()
        prev += 1
    layers["flat"] = nn.Flatten()
    width = prev * h * w
    for i, hidden in enumerate(cfg.d_head):
        layers[f"head{i}"] = nn.Linear(width, hidden)
        layers[f"head_act{i}"] = nn.LeakyReLU(cfg.leaky_slope)
        width = hidden
    layers["out"] = nn.Linear(width, 1)
    return nn.Sequential(layers)


def build_networks(
    cfg: ModelConfig, shape: tuple[int, ...], torch_layers: bool = False
) -> tuple[nn.Module, nn.Module]:
    """(G, D) for samples of ``shape``: ``(d,)`` for points, ``(C, H, W)`` for images.
    ``torch_layers``: torch's own modules throughout and minibatch-std through torch.var (the
    plain loop a user writes), not gankit's faster layers of the same maths
    (ProductConvTranspose2d, MinibatchStd's two means)."""
    mbstd = VarMinibatchStd if torch_layers else MinibatchStd
    if cfg.arch == "mlp":
        g, d = mlp_generator(cfg, shape), mlp_discriminator(cfg, shape, mbstd)
    elif len(shape) != 3:
        raise UserError(
            f"model.arch = {cfg.arch} makes images, but this data is points; use model.arch = mlp."
        )
    else:
        if cfg.arch == "upconv":
            g = upconv_generator(cfg, shape)
        else:
            conv_t = nn.ConvTranspose2d if torch_layers else ProductConvTranspose2d
            g = dcgan_generator(cfg, shape, conv_t)
        d = conv_discriminator(cfg, shape, mbstd)
        g.apply(_dcgan_init)
        d.apply(_dcgan_init)
    if cfg.d_spectral_norm:
        for m in d.modules():
            if isinstance(m, nn.Linear | nn.Conv2d):
                nn.utils.parametrizations.spectral_norm(m)
    return g, d


def _dcgan_init(m: nn.Module) -> None:
    """Radford et al.'s (and the Breakout seed's) initialisation: N(0, 0.02) weights,
    N(1, 0.02) batch-norm scales, zero biases."""
    if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n
