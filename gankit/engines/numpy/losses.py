"""The loss math of the NumPy engine: the torch engine's formulas (``engines/torch/losses.py``),
each with its gradient with respect to D's raw outputs.

``D_LOSS[name](real, fake) -> (loss, dloss/dreal, dloss/dfake)`` and ``G_LOSS[name](fake) ->
(loss, dloss/dfake)``, D's outputs as 1-D arrays. The penalties on D's input gradient
(``gradient_penalty``, ``r1_penalty``) give their value and their gradient with respect to
that input gradient; :meth:`gankit.engines.numpy.model.Net.penalty` carries it on to D's
weights (the double backward).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

DLoss = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray, np.ndarray]]
GLoss = Callable[[np.ndarray], tuple[float, np.ndarray]]

_THRESHOLD = 20.0  # torch's softplus is exactly x above 20


def softplus(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log(1 + e^x), its derivative the sigmoid), as torch computes them: x itself and a
    derivative of 1 above the threshold, e^x / (e^x + 1) below."""
    big = x > _THRESHOLD
    z = np.exp(np.minimum(x, _THRESHOLD))
    return np.where(big, x, np.log1p(z)), np.where(big, 1.0, z / (z + 1.0)).astype(x.dtype)


def d_bce(real: np.ndarray, fake: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    # -[log D(x) + log(1 - D(G(z)))] / 2 with D = sigmoid(logit): softplus(-real), softplus(fake)
    sr, dr = softplus(-real)
    sf, df = softplus(fake)
    loss = 0.5 * (sr.mean() + sf.mean())
    return float(loss), dr * (-0.5 / real.size), df * (0.5 / fake.size)


def g_bce(fake: np.ndarray) -> tuple[float, np.ndarray]:
    """Non-saturating: minimise softplus(-logit) = -log D(G(z))."""
    s, d = softplus(-fake)
    return float(s.mean()), d * (-1.0 / fake.size)


def g_minimax(fake: np.ndarray) -> tuple[float, np.ndarray]:
    """The saturating original: minimise log(1 - D(G(z))) = -softplus(logit)."""
    s, d = softplus(fake)
    return float(-s.mean()), d * (-1.0 / fake.size)


def d_wgan(real: np.ndarray, fake: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    loss = fake.mean() - real.mean()
    return float(loss), np.full_like(real, -1.0 / real.size), np.full_like(fake, 1.0 / fake.size)


def g_wgan(fake: np.ndarray) -> tuple[float, np.ndarray]:
    return float(-fake.mean()), np.full_like(fake, -1.0 / fake.size)


def d_hinge(real: np.ndarray, fake: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    # mean relu(1 - real) + mean relu(1 + fake); relu'(0) = 0 as in torch
    mr, mf = 1.0 - real, 1.0 + fake
    loss = np.maximum(mr, 0.0).mean() + np.maximum(mf, 0.0).mean()
    dr = (mr > 0).astype(real.dtype) * (-1.0 / real.size)
    df = (mf > 0).astype(fake.dtype) * (1.0 / fake.size)
    return float(loss), dr, df


def d_lsgan(real: np.ndarray, fake: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    # Mao et al.: 0.5 mean (real - 1)^2 + 0.5 mean fake^2
    loss = 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake**2).mean()
    return float(loss), (real - 1.0) * (1.0 / real.size), fake * (1.0 / fake.size)


def g_lsgan(fake: np.ndarray) -> tuple[float, np.ndarray]:
    return float(0.5 * ((fake - 1.0) ** 2).mean()), (fake - 1.0) * (1.0 / fake.size)


D_LOSS: dict[str, DLoss] = {
    "bce": d_bce,
    "minimax": d_bce,
    "wgan": d_wgan,
    "wgan-gp": d_wgan,
    "hinge": d_hinge,
    "lsgan": d_lsgan,
}
G_LOSS: dict[str, GLoss] = {
    "bce": g_bce,
    "minimax": g_minimax,
    "wgan": g_wgan,
    "wgan-gp": g_wgan,
    "hinge": g_wgan,  # the hinge G loss is the Wasserstein one: -D(G(z))
    "lsgan": g_lsgan,
}


def gradient_penalty(g: np.ndarray) -> tuple[float, np.ndarray]:
    """Gulrajani et al.: P = mean over packs of (||g|| - 1)^2, g = grad_x D at the mixed
    points. dP/dg = 2 (||g|| - 1) g / ||g|| / n (0 where ||g|| = 0, as torch's norm)."""
    norm = np.sqrt(np.einsum("ij,ij->i", g, g))
    n = g.shape[0]
    scale = np.divide(2.0 * (norm - 1.0), norm * n, out=np.zeros_like(norm), where=norm > 0)
    return float(((norm - 1.0) ** 2).mean()), g * scale[:, None]


def r1_penalty(g: np.ndarray) -> tuple[float, np.ndarray]:
    """Mescheder et al.: P = mean over packs of ||g||^2, g = grad_x D on real packs (the
    caller weighs it by gamma / 2). dP/dg = 2 g / n."""
    n = g.shape[0]
    return float(np.einsum("ij,ij->", g, g) / n), g * (2.0 / n)


def realness_stats(loss: str, real: np.ndarray, fake: np.ndarray) -> tuple[float, float, float]:
    """(mean realness on real, on fake, share of fakes taken for real): the same as the torch
    engine's ``realness_stats`` (see ``gankit.engines.base.realness``)."""
    if loss in ("wgan", "wgan-gp"):
        rm, fm = real.mean(), fake.mean()
        mid = 0.5 * (rm + fm)
        gap = max(abs(rm - fm), 1e-8)
        r, f = _sigmoid(4.0 * (real - mid) / gap), _sigmoid(4.0 * (fake - mid) / gap)
    elif loss == "lsgan":
        r, f = np.clip(real, 0.0, 1.0), np.clip(fake, 0.0, 1.0)
    else:
        r, f = _sigmoid(real), _sigmoid(fake)
    return float(r.mean()), float(f.mean()), float(np.count_nonzero(f > 0.5) / f.size)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(0.5 * x)  # = 1 / (1 + e^-x), without overflow
