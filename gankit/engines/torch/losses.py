"""The torch side of the penalties: D's input gradient, and a penalty's value from it.

The objectives themselves live in the loss table (``gankit/losses.py``) and the penalties'
definitions in ``gankit/penalties.py``; here is only what needs torch's autograd. Packed
inputs: (packs, features) for points, (packs, C, H, W) for images.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from gankit.losses import torch_ops
from gankit.penalties import VALUES, Penalty, between, squared_norm, unit_gap

InputGrad = Callable[[nn.Module, Tensor], Tensor]


def autograd_input_grad(d: nn.Module, x: Tensor) -> Tensor:
    """d(sum of D(x))/dx per sample, through autograd, kept differentiable for the penalty's
    own backward (``input_grad.input_grad`` is the same gradient for simple nets, faster)."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(d(x).sum(), x, create_graph=True)
    return grad


def penalty_value(
    p: Penalty, d: nn.Module, x: Tensor, grad_of: InputGrad = autograd_input_grad
) -> Tensor:
    """The penalty's function (``p.of``) of D's input gradient at the packs ``x``."""
    return VALUES[p.of](grad_of(d, x), torch_ops())


def gradient_penalty(
    d: nn.Module, real: Tensor, fake: Tensor, u: Tensor, grad_of: InputGrad = autograd_input_grad
) -> Tensor:
    """Gulrajani et al.: mean of (||grad_x D(x_hat)|| - 1)^2 on x_hat = u*real + (1-u)*fake."""
    return unit_gap(grad_of(d, between(real, fake, u)), torch_ops())


def r1_penalty(d: nn.Module, x: Tensor, grad_of: InputGrad = autograd_input_grad) -> Tensor:
    """Mean over packs of ||grad_x D(x)||^2: R1 on real packs, R2 on fake ones (halved by the
    caller's gamma / 2)."""
    return squared_norm(grad_of(d, x), torch_ops())
