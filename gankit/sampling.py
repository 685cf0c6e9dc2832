"""Drawing G's samples for scores and files, with Jacobian-norm truncation where configured.

G is a continuous map from a connected latent space, so when the data has separate modes
some of G's mass lies on the bridges between them. Where G crosses a gap it stretches the
latent space most: its Jacobian is largest there and near zero on the flat cells it maps
onto a mode. Tanielian et al. ("Learning disconnected manifolds: a no GAN's land", ICML
2020) therefore keep only the latent draws where G is flattest. With ``model.jacobian_keep``
= k < 1, :func:`draw` draws n / k latents and keeps the n with the smallest Jacobian norm
||dG/dz||_F. Snapshots and the training GIF show G's draws as they are.

The norm is measured by central differences on the engine's own sampler, so every engine
gets it without its own autodiff: along each latent axis when the latent has at most
EXACT_DIMS components (exact up to rounding), else along PROBES random Gaussian directions,
whose mean squared derivative is ||dG/dz||_F^2 in expectation (Hutchinson).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gankit.config import Config
from gankit.errors import UserError

EXACT_DIMS = 8  # latents up to this size: one derivative per axis
PROBES = 8  # larger latents: random directions averaged
STEP = 1e-3  # central-difference step in latent units (float32 G: ~1e-7 relative rounding)


def check(cfg: Config) -> None:
    """Refuse, before any data is loaded, truncation where the sampler cannot measure it."""
    if cfg.model.jacobian_keep < 1.0 and cfg.data.is_image:
        raise UserError(
            f"model.jacobian_keep = {cfg.model.jacobian_keep} truncates point samples only; "
            f"data.name = {cfg.data.name} makes images: leave it at 1."
        )


def jacobian_norms(sample: Any, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """||dG/dz||_F at each row of ``z`` for ``sample`` (latents -> float samples (n, d))."""
    n, dim = z.shape
    if dim <= EXACT_DIMS:
        directions = np.eye(dim, dtype=np.float32)[:, None, :].repeat(n, axis=1)
    else:  # unit-variance Gaussian directions: E ||J u||^2 = ||J||_F^2
        directions = rng.standard_normal((PROBES, n, dim)).astype(np.float32)
    total = np.zeros(n, np.float64)
    for u in directions:
        ahead = sample((z + STEP * u).astype(np.float32)).astype(np.float64)
        back = sample((z - STEP * u).astype(np.float32)).astype(np.float64)
        total += (((ahead - back) / (2 * STEP)) ** 2).reshape(n, -1).sum(axis=1)
    return np.sqrt(total / (1 if dim <= EXACT_DIMS else len(directions)))


def draw(engine: Any, n: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    """``n`` samples of the trained engine and how they were drawn (stored with the scores):
    G's first n draws, or with ``model.jacobian_keep`` = k < 1 the n flattest of n / k."""
    keep = engine.cfg.model.jacobian_keep
    if keep >= 1.0:
        return engine.sample(engine.latent(n, rng)), {"name": "latent draws, all kept"}
    m = math.ceil(n / keep)
    z = engine.latent(m, rng)
    norms = jacobian_norms(engine.sample, z, rng)
    kept = np.sort(np.argsort(norms, kind="stable")[:n])  # in draw order
    along = (
        f"along the {z.shape[1]} latent axes"
        if z.shape[1] <= EXACT_DIMS
        else f"along {PROBES} Gaussian directions"
    )
    how = {
        "name": "jacobian truncation (Tanielian et al. 2020)",
        "jacobian_keep": keep,
        "draws": m,
        "kept": n,
        "norm": f"||dG/dz||_F by central differences, step {STEP}, {along}",
        "norm_cutoff": float(norms[kept].max()),
    }
    return engine.sample(z[kept]), how
