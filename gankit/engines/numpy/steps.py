"""The NumPy engine's primitives for the step recipe (``engines/steps.py``): every backward
pass by hand, the loss table's objectives with their hand-derived gradients (``losses.py``)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from gankit.engines.numpy.losses import PENALTY_GRADIENTS
from gankit.engines.numpy.optim import lerp_
from gankit.losses import NUMPY
from gankit.penalties import Penalty

if TYPE_CHECKING:
    from gankit.engines.numpy.engine import NumpyEngine


class NumpySteps:
    """Each pass keeps its caches until the recipe's next call takes the gradients."""

    def __init__(self, engine: NumpyEngine) -> None:
        self.e = engine
        self.d_caches: Any = None  # D's pass over real and fake
        self.g_caches: Any = None  # G's step: G's pass and D's on its output
        self.gd_caches: Any = None
        self.fake_shape: tuple[int, ...] = ()

    def fake(self, z: np.ndarray) -> np.ndarray:
        # G in training mode (its batch-norm statistics move, as in torch), not differentiated
        e = self.e
        return e.pack(e.G.forward(z, True, e.drop_rng)[0])

    def judge(self, real: np.ndarray, fake: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        e, n = self.e, real.shape[0]
        out, self.d_caches = e.D.forward(np.concatenate([real, fake]), True, e.drop_rng)
        return out[:n, 0], out[n:, 0]

    def d_objective(self, r: np.ndarray, f: np.ndarray) -> float:
        e = self.e
        gr, gf = e.grads.d(r, f)
        e.D.zero_grad()
        e.D.param_backward(np.concatenate([gr, gf])[:, None], self.d_caches)
        return float(e.loss.d(NUMPY, r, f))

    def penalty(self, p: Penalty, x: np.ndarray, weight: float) -> float:
        return self.e.D.penalty(x, weight, PENALTY_GRADIENTS[p.of], self.e.drop_rng)

    def d_apply(self, loss: float) -> float:
        e = self.e
        norm = math.sqrt(float(np.dot(e.D.grads, e.D.grads)))
        e.d_opt.step()
        if e.loss.clip:
            np.clip(e.D.params, -e.cfg.loss.clip, e.cfg.loss.clip, out=e.D.params)
        return norm

    def judge_generated(
        self, z: np.ndarray, real: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        e = self.e
        fake, self.g_caches = e.G.forward(z, True, e.drop_rng)
        self.fake_shape = fake.shape
        out, self.gd_caches = e.D.forward(e.pack(fake), True, e.drop_rng)
        real_out = None if real is None else e.D.forward(real, True, e.drop_rng)[0][:, 0]
        return out[:, 0], real_out

    def g_objective(self, r: np.ndarray | None, f: np.ndarray) -> float:
        e = self.e
        # through D to its input only: D's weights get no gradient from G's step
        gx = e.D.backward(e.grads.g(r, f)[:, None], self.gd_caches, param_grads=False)
        e.G.zero_grad()
        e.G.param_backward(gx.reshape(self.fake_shape), self.g_caches)
        return float(e.loss.g(NUMPY, r, f))

    def g_apply(self, loss: float) -> float:
        e = self.e
        norm = math.sqrt(float(np.dot(e.G.grads, e.G.grads)))
        e.g_opt.step()
        if e.G_ema is not None:  # lerp of the weights, a copy of the buffers (as torch)
            lerp_(e.G_ema.params, e.G.params, 1.0 - e.cfg.model.g_ema, e.ema_tmp)
            for k, v in e.G.buffers.items():
                e.G_ema.buffers[k][...] = v
        return norm
