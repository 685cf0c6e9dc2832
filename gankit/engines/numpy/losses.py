"""The NumPy engine's gradients of the loss table's objectives (``gankit/losses.py``) and of
the penalties (``gankit/penalties.py``), derived by hand.

``GRADIENTS[loss].d(real, fake) -> (dD/dreal, dD/dfake)`` and ``GRADIENTS[loss].g(real,
fake) -> dG/dfake``, with respect to D's raw outputs as 1-D arrays (``real`` is None for a
loss that is not relativistic). The values themselves come from the table, computed with
:data:`gankit.losses.NUMPY`. ``PENALTY_GRADIENTS[of](g)`` is a penalty's gradient with
respect to D's input gradient ``g``; :meth:`gankit.engines.numpy.model.Net.penalty` carries
it on to D's weights (the double backward). Each is tested against finite differences and
torch's autograd.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gankit.losses import NUMPY

Array = np.ndarray


def _dsoftplus(x: Array) -> Array:
    """softplus' = the sigmoid, as torch's softplus backward computes it: 1 above its
    threshold (20), e^x / (e^x + 1) below."""
    z = np.exp(np.minimum(x, 20.0))
    return np.where(x > 20.0, 1.0, z / (z + 1.0)).astype(x.dtype)


@dataclass(frozen=True)
class Gradients:
    d: Callable[[Array, Array], tuple[Array, Array]]
    g: Callable[[Array | None, Array], Array]


def _d_bce(r: Array, f: Array) -> tuple[Array, Array]:
    # 0.5 (mean softplus(-r) + mean softplus(f))
    return _dsoftplus(-r) * (-0.5 / r.size), _dsoftplus(f) * (0.5 / f.size)


def _d_wgan(r: Array, f: Array) -> tuple[Array, Array]:
    return np.full_like(r, -1.0 / r.size), np.full_like(f, 1.0 / f.size)


def _d_hinge(r: Array, f: Array) -> tuple[Array, Array]:
    # mean relu(1 - r) + mean relu(1 + f); relu'(0) = 0 as in torch
    dr = ((1.0 - r) > 0).astype(r.dtype) * (-1.0 / r.size)
    return dr, ((1.0 + f) > 0).astype(f.dtype) * (1.0 / f.size)


def _d_lsgan(r: Array, f: Array) -> tuple[Array, Array]:
    return (r - 1.0) * (1.0 / r.size), f * (1.0 / f.size)


def _d_rpgan(r: Array, f: Array) -> tuple[Array, Array]:
    s = _dsoftplus(f - r) / r.size  # mean softplus(f_i - r_i)
    return -s, s


def _d_ragan(r: Array, f: Array) -> tuple[Array, Array]:
    # 0.5 (mean_i softplus(mean f - r_i) + mean_j softplus(f_j - mean r)): each mean passes
    # the other side's terms' mean derivative on to every sample it averages
    a, b = _dsoftplus(f.mean() - r), _dsoftplus(f - r.mean())
    dr = -0.5 * (a + b.mean()) / r.size
    df = 0.5 * (a.mean() + b) / f.size
    return dr.astype(r.dtype), df.astype(f.dtype)


def _g_bce(r: Array | None, f: Array) -> Array:
    return _dsoftplus(-f) * (-1.0 / f.size)  # mean softplus(-f)


def _g_minimax(r: Array | None, f: Array) -> Array:
    return _dsoftplus(f) * (-1.0 / f.size)  # -mean softplus(f)


def _g_wgan(r: Array | None, f: Array) -> Array:
    return np.full_like(f, -1.0 / f.size)


def _g_lsgan(r: Array | None, f: Array) -> Array:
    return (f - 1.0) * (1.0 / f.size)


def _g_rpgan(r: Array | None, f: Array) -> Array:
    assert r is not None
    return -_dsoftplus(r - f) / f.size  # mean softplus(r_i - f_i)


def _g_ragan(r: Array | None, f: Array) -> Array:
    # 0.5 (mean_j softplus(mean r - f_j) + mean_i softplus(r_i - mean f))
    assert r is not None
    c, e = _dsoftplus(r.mean() - f), _dsoftplus(r - f.mean())
    return (-0.5 * (c + e.mean()) / f.size).astype(f.dtype)


GRADIENTS: dict[str, Gradients] = {
    "bce": Gradients(_d_bce, _g_bce),
    "minimax": Gradients(_d_bce, _g_minimax),
    "wgan": Gradients(_d_wgan, _g_wgan),
    "wgan-gp": Gradients(_d_wgan, _g_wgan),
    "hinge": Gradients(_d_hinge, _g_wgan),  # hinge's G loss is the Wasserstein one
    "lsgan": Gradients(_d_lsgan, _g_lsgan),
    "rpgan": Gradients(_d_rpgan, _g_rpgan),
    "ragan": Gradients(_d_ragan, _g_ragan),
}


def unit_gap(g: Array) -> tuple[float, Array]:
    """The gradient penalty P = mean over packs of (||g|| - 1)^2 and dP/dg = 2 (||g|| - 1) g /
    ||g|| / n (0 where ||g|| = 0, as torch's norm)."""
    norm = NUMPY.row_norms(g)
    n = g.shape[0]
    scale = np.divide(2.0 * (norm - 1.0), norm * n, out=np.zeros_like(norm), where=norm > 0)
    return float(((norm - 1.0) ** 2).mean()), g * scale[:, None]


def squared_norm(g: Array) -> tuple[float, Array]:
    """R1's and R2's P = mean over packs of ||g||^2 (the caller weighs it by gamma / 2) and
    dP/dg = 2 g / n."""
    n = g.shape[0]
    return float(np.einsum("ij,ij->", g, g) / n), g * (2.0 / n)


PENALTY_GRADIENTS: dict[str, Callable[[Array], tuple[float, Array]]] = {
    "unit_gap": unit_gap,
    "squared_norm": squared_norm,
}
