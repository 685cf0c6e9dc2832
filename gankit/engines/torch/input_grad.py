"""D's gradient with respect to its input, built from first-order operations, for the
gradient penalties (R1, WGAN-GP).

autograd gets a penalty's gradient by differentiating every layer's backward formula
(``torch.autograd.grad(..., create_graph=True)``, then ``.backward()``). For a convolution that
second differentiation takes a generic path (batch and channels transposed and copied), and
a (leaky) ReLU's backward is differentiated through ``where``. Here d(sum of D's outputs)/dx
is written out as D's transpose, layer by layer from the output: a linear layer's weight
transposed, a (leaky) ReLU's slope at each input as a constant mask, a convolution's
transposed convolution. The penalty's own backward is then ordinary first-order
convolutions, the kernels a training step already runs fastest.

The result is autograd's gradient, not an approximation: a (leaky) ReLU's slope is piecewise
constant (its derivative is zero wherever it is defined), so autograd's formula treats it as
a constant too. Minibatch-std's gradient depends on the features it reads, so those stay in
the graph (its forward runs with autograd there); every other forward here runs without.

Measured on 2 CPU cores, breakout-wgan's critic at batch 16, the penalty with its update:
526 -> 226 ms. D made of other layers (batch-norm, dropout, spectral norm) keeps autograd's
double backward (:func:`supports`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize

from gankit.engines.torch.model import MinibatchStd

LAYERS = (nn.Conv2d, nn.Linear, nn.LeakyReLU, nn.ReLU, nn.Flatten, MinibatchStd)


def supports(d: nn.Module) -> bool:
    """Whether :func:`input_grad` can transpose ``d``: a Sequential of plain convolutions
    (zero padding given as numbers, no groups or dilation), linear layers, (leaky) ReLUs,
    flatten and minibatch-std, ending in a linear layer, no parametrisation."""
    if not isinstance(d, nn.Sequential) or not len(d) or not isinstance(d[-1], nn.Linear):
        return False
    for m in d:
        if not isinstance(m, LAYERS) or parametrize.is_parametrized(m):
            return False
        if isinstance(m, nn.Conv2d) and (
            m.groups != 1
            or m.dilation != (1, 1)
            or m.padding_mode != "zeros"
            or isinstance(m.padding, str)
        ):
            return False
    return True


def input_grad(d: nn.Sequential, x: Tensor) -> Tensor:
    """d(sum over the batch of D(x))/dx for each sample of ``x``, as a tensor shaped like
    ``x`` whose graph reaches D's weights (``x`` itself is taken as a constant): what
    ``torch.autograd.grad(d(x).sum(), x, create_graph=True)`` returns, for a ``d`` that
    :func:`supports` accepts."""
    keep = torch.is_grad_enabled() and any(isinstance(m, MinibatchStd) for m in d)
    with torch.set_grad_enabled(keep):
        _, trace = traced(d, x.detach())
    return transpose(d, trace, x.shape[0])


def traced(d: nn.Sequential, x: Tensor) -> tuple[Tensor, list[object]]:
    """D(x), and what :func:`transpose` needs from the pass (run under autograd, the
    minibatch-std features it keeps carry the graph the penalty's gradient needs); each
    layer's input is read on its way in, by a hook."""
    trace: list[object] = [None] * len(d)

    def keeper(i: int) -> Callable[[nn.Module, tuple[Tensor, ...]], None]:
        def keep(m: nn.Module, args: tuple[Tensor, ...]) -> None:
            trace[i] = _remember(m, args[0])

        return keep

    hooks = [m.register_forward_pre_hook(keeper(i)) for i, m in enumerate(d)]
    try:
        out = d(x)
    finally:
        for hook in hooks:
            hook.remove()
    return out, trace


def transpose(d: nn.Sequential, trace: list[object], rows: int) -> Tensor:
    """:func:`input_grad` for the ``rows`` samples of a :func:`traced` pass."""
    g: Tensor | None = None
    for m, kept in zip(reversed(d), reversed(trace), strict=True):
        g = _transpose(m, kept, g, rows)
    assert g is not None
    return g


def _remember(m: nn.Module, h: Tensor) -> object:
    """What the transpose of layer ``m`` needs from its input ``h``."""
    if isinstance(m, nn.Conv2d):
        return tuple(h.shape[2:])
    if isinstance(m, nn.LeakyReLU | nn.ReLU):
        slope = m.negative_slope if isinstance(m, nn.LeakyReLU) else 0.0
        with torch.no_grad():  # 1 where the input is positive, the slope elsewhere
            return (h > 0).to(h.dtype).mul_(1.0 - slope).add_(slope)
    if isinstance(m, nn.Flatten):
        return h.shape, _channels_last(h)
    if isinstance(m, MinibatchStd):
        return h
    return None  # a linear layer: its weight is all it needs


def _transpose(m: nn.Module, kept: object, g: Tensor | None, b: int) -> Tensor:
    """The gradient at layer ``m``'s input from the gradient ``g`` at its output (None at
    D's output, where the gradient of the sum is 1 for every sample)."""
    if isinstance(m, nn.Linear):
        if g is None:
            return m.weight.sum(dim=0).expand(b, -1)
        return g @ m.weight
    assert g is not None, "D ends in a linear layer (supports)"
    if isinstance(m, nn.LeakyReLU | nn.ReLU):
        assert isinstance(kept, Tensor)
        return g * kept
    if isinstance(m, nn.Flatten):
        shape, channels_last = kept  # type: ignore[misc]
        g = g.reshape(shape)
        return g.contiguous(memory_format=torch.channels_last) if channels_last else g
    if isinstance(m, nn.Conv2d):
        size = kept  # the input's height and width: a strided convolution loses the remainder
        out = g.shape[2:]
        extra = [
            i - ((o - 1) * s - 2 * p + (k - 1) + 1)
            for i, o, s, p, k in zip(size, out, m.stride, m.padding, m.kernel_size, strict=True)
        ]
        return F.conv_transpose2d(g, m.weight, None, m.stride, m.padding, tuple(extra))
    assert isinstance(m, MinibatchStd) and isinstance(kept, Tensor)
    return _minibatch_std_transpose(m, kept, g)


def _minibatch_std_transpose(m: MinibatchStd, h: Tensor, g: Tensor) -> Tensor:
    """Minibatch-std appends s = mean over features of std over the group to each sample.
    Every sample of a group holds the same s, so the group's gradient at s is the sum of its
    samples'; d std / d h_k = (h_k - mean) / (group * std)."""
    b, c = h.shape[0], h.shape[1]
    k = m.group_size(b)
    per_sample = g[:, c:].flatten(1).sum(dim=1)  # the appended channel, every position
    per_group = per_sample.reshape(b // k, k).sum(dim=1)
    y = h.reshape(b // k, k, *h.shape[1:])
    centred = y - y.mean(dim=1, keepdim=True)
    std = m.spread(y).unsqueeze(1)  # the forward's own, its epsilon included
    features = h[0].numel()
    scale = per_group.reshape(-1, *[1] * (y.dim() - 1)) / (k * features)
    return g[:, :c] + (scale * centred / std).reshape(h.shape)


def _channels_last(h: Tensor) -> bool:
    return (
        h.dim() == 4
        and not h.is_contiguous()
        and h.is_contiguous(memory_format=torch.channels_last)
    )
