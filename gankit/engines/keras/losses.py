"""The loss math for the Keras engine, in ``keras.ops``: the formulas of the torch engine's
``losses.py``, one ``d_`` and one ``g_`` function per loss.

All take D's raw outputs (``real``: on real packs, ``fake``: on generated packs) and return a
scalar to minimise. The BCE-family D loss is the mean over real and fake together, the
seed's ``(real + fake) / 2``, so it sits at ln 2 ≈ 0.693 when D cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keras import ops


def d_bce(real: Any, fake: Any) -> Any:
    # -[log D(x) + log(1 - D(G(z)))] / 2 with D = sigmoid(logit)
    return 0.5 * (ops.mean(ops.softplus(-real)) + ops.mean(ops.softplus(fake)))


def g_bce(fake: Any) -> Any:
    """Non-saturating: maximise log D(G(z)); strong gradients while D wins."""
    return ops.mean(ops.softplus(-fake))


def g_minimax(fake: Any) -> Any:
    """The original saturating form: minimise log(1 - D(G(z))) = -softplus(logit)."""
    return -ops.mean(ops.softplus(fake))


def d_wgan(real: Any, fake: Any) -> Any:
    # minus the critic's estimate of the Wasserstein-1 distance
    return ops.mean(fake) - ops.mean(real)


def g_wgan(fake: Any) -> Any:
    return -ops.mean(fake)


def d_hinge(real: Any, fake: Any) -> Any:
    return ops.mean(ops.relu(1.0 - real)) + ops.mean(ops.relu(1.0 + fake))


def d_lsgan(real: Any, fake: Any) -> Any:
    # Mao et al.: targets 1 for real, 0 for fake
    return 0.5 * ops.mean((real - 1.0) ** 2) + 0.5 * ops.mean(fake**2)


def g_lsgan(fake: Any) -> Any:
    return 0.5 * ops.mean((fake - 1.0) ** 2)


D_LOSS: dict[str, Callable[[Any, Any], Any]] = {
    "bce": d_bce,
    "minimax": d_bce,
    "wgan": d_wgan,
    "wgan-gp": d_wgan,
    "hinge": d_hinge,
    "lsgan": d_lsgan,
}
G_LOSS: dict[str, Callable[[Any], Any]] = {
    "bce": g_bce,
    "minimax": g_minimax,
    "wgan": g_wgan,
    "wgan-gp": g_wgan,
    "hinge": g_wgan,  # the hinge G loss is the Wasserstein one: -D(G(z))
    "lsgan": g_lsgan,
}


def realness_stats(loss: str, real: Any, fake: Any) -> tuple[Any, Any, Any]:
    """(mean realness on real, mean realness on fake, share of fakes taken for real), the
    device-side twin of ``gankit.engines.base.realness``."""
    if loss in ("wgan", "wgan-gp"):
        mid = 0.5 * (ops.mean(real) + ops.mean(fake))
        gap = ops.maximum(ops.abs(ops.mean(real) - ops.mean(fake)), 1e-8)
        r, f = ops.sigmoid(4.0 * (real - mid) / gap), ops.sigmoid(4.0 * (fake - mid) / gap)
    elif loss == "lsgan":
        r, f = ops.clip(real, 0.0, 1.0), ops.clip(fake, 0.0, 1.0)
    else:
        r, f = ops.sigmoid(real), ops.sigmoid(fake)
    return ops.mean(r), ops.mean(f), ops.mean(ops.cast(f > 0.5, f.dtype))
