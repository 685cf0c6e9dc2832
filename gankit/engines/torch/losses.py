"""The loss math for the torch engine: one ``d_`` and one ``g_`` function per loss.

All take D's raw outputs (``real``: on real packs, ``fake``: on generated packs) and return a
scalar to minimise. The BCE-family D loss is the mean over real and fake together, the
seed's ``(real + fake) / 2``, so it sits at ln 2 ≈ 0.693 when D cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def d_bce(real: Tensor, fake: Tensor) -> Tensor:
    # -[log D(x) + log(1 - D(G(z)))] / 2 with D = sigmoid(logit)
    return 0.5 * (F.softplus(-real).mean() + F.softplus(fake).mean())


def g_bce(fake: Tensor) -> Tensor:
    """Non-saturating: maximise log D(G(z)); strong gradients while D wins."""
    return F.softplus(-fake).mean()


def g_minimax(fake: Tensor) -> Tensor:
    """The original saturating form: minimise log(1 - D(G(z))) = -softplus(logit).
    Its gradient vanishes when D rejects fakes with confidence."""
    return -F.softplus(fake).mean()


def d_wgan(real: Tensor, fake: Tensor) -> Tensor:
    # minus the critic's estimate of the Wasserstein-1 distance
    return fake.mean() - real.mean()


def g_wgan(fake: Tensor) -> Tensor:
    return -fake.mean()


def d_hinge(real: Tensor, fake: Tensor) -> Tensor:
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def d_lsgan(real: Tensor, fake: Tensor) -> Tensor:
    # Mao et al.: targets 1 for real, 0 for fake
    return 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake**2).mean()


def g_lsgan(fake: Tensor) -> Tensor:
    return 0.5 * ((fake - 1.0) ** 2).mean()


D_LOSS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "bce": d_bce,
    "minimax": d_bce,
    "wgan": d_wgan,
    "wgan-gp": d_wgan,
    "hinge": d_hinge,
    "lsgan": d_lsgan,
}
G_LOSS: dict[str, Callable[[Tensor], Tensor]] = {
    "bce": g_bce,
    "minimax": g_minimax,
    "wgan": g_wgan,
    "wgan-gp": g_wgan,
    "hinge": g_wgan,  # the hinge G loss is the Wasserstein one: -D(G(z))
    "lsgan": g_lsgan,
}


InputGrad = Callable[[nn.Module, Tensor], Tensor]


def autograd_input_grad(d: nn.Module, x: Tensor) -> Tensor:
    """d(sum of D(x))/dx per sample, through autograd, kept differentiable for the penalty's
    own backward (``input_grad.input_grad`` is the same gradient for simple nets, faster)."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(d(x).sum(), x, create_graph=True)
    return grad


def gradient_penalty(
    d: nn.Module, real: Tensor, fake: Tensor, u: Tensor, grad_of: InputGrad = autograd_input_grad
) -> Tensor:
    """Gulrajani et al.: mean of (||grad_x D(x_hat)|| - 1)^2 on x_hat = u*real + (1-u)*fake,
    one u per pack. ``real``/``fake`` are packed: (packs, features) or (packs, C, H, W)."""
    grad = grad_of(d, u * real + (1.0 - u) * fake)
    return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()


def r1_penalty(d: nn.Module, real: Tensor, grad_of: InputGrad = autograd_input_grad) -> Tensor:
    """Mescheder et al.: mean over packs of ||grad_x D(x)||^2 on real packs (halved by the
    caller's gamma / 2)."""
    return grad_of(d, real).flatten(1).pow(2).sum(dim=1).mean()


def realness_stats(
    loss: str, real: Tensor, fake: Tensor, means: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """(mean realness on real, mean realness on fake, share of fakes taken for real), the
    device-side twin of ``gankit.engines.base.realness``. A critic's values are scaled by
    the batch's mean on real and on fake: ``means`` gives the global batch's under torchrun,
    where ``real`` and ``fake`` are one rank's shard."""
    if loss in ("wgan", "wgan-gp"):
        m_real, m_fake = (real.mean(), fake.mean()) if means is None else means.unbind()
        mid = 0.5 * (m_real + m_fake)
        gap = (m_real - m_fake).abs().clamp_min(1e-8)
        r, f = torch.sigmoid(4.0 * (real - mid) / gap), torch.sigmoid(4.0 * (fake - mid) / gap)
    elif loss == "lsgan":
        r, f = real.clamp(0.0, 1.0), fake.clamp(0.0, 1.0)
    else:
        r, f = torch.sigmoid(real), torch.sigmoid(fake)
    return r.mean(), f.mean(), (f > 0.5).to(f.dtype).mean()
