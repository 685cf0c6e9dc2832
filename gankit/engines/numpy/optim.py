"""Adam, RMSprop and SGD with momentum: the maths of torch.optim, step for step.

Each optimiser updates one net's parameters, which live in one flat buffer (as do their
gradients and the optimiser's state): an update is a handful of vectorised operations
however many layers the net has. The engine sets ``lr`` before each iteration (the
schedule) and names the state per parameter in torch's layout (``exp_avg``, ...).
"""

from __future__ import annotations

import math

import numpy as np

from gankit.config import OptimConfig


def lerp_(a: np.ndarray, b: np.ndarray, w: float, tmp: np.ndarray) -> None:
    """a <- a + w (b - a) in place, computed as torch.lerp does: from a for w < 0.5, from b
    otherwise (b - (b - a)(1 - w)), so the result is exact at both ends."""
    np.subtract(b, a, out=tmp)
    if abs(w) < 0.5:
        tmp *= w
        a += tmp
    else:
        tmp *= 1.0 - w
        np.subtract(b, tmp, out=a)


class Optimizer:
    """One net's optimiser. ``slots`` are its per-parameter state buffers (flat, like the
    parameters), ``steps`` the number of updates made (torch keeps one per parameter; they
    are always equal here)."""

    slots: tuple[str, ...] = ()
    has_step = True  # whether torch's state holds a "step" entry

    def __init__(self, params: np.ndarray, grads: np.ndarray, lr: float) -> None:
        self.params, self.grads, self.lr = params, grads, lr
        self.steps = 0
        self.state = {k: np.zeros_like(params) for k in self.slots}
        self.tmp = np.empty_like(params)
        self.tmp2 = np.empty_like(params)

    def step(self) -> None:
        raise NotImplementedError

    def started(self) -> bool:
        """Whether torch would hold state for the parameters yet (after the first step)."""
        return self.steps > 0


class Adam(Optimizer):
    """torch.optim.Adam without amsgrad or weight decay:
    m <- lerp(m, g, 1 - beta1); v <- beta2 v + (1 - beta2) g^2;
    p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)."""

    slots = ("exp_avg", "exp_avg_sq")

    def __init__(
        self, params: np.ndarray, grads: np.ndarray, lr: float, betas: tuple[float, float]
    ) -> None:
        super().__init__(params, grads, lr)
        self.beta1, self.beta2 = betas
        self.eps = 1e-8

    def step(self) -> None:
        self.steps += 1
        g, m, v, tmp = self.grads, self.state["exp_avg"], self.state["exp_avg_sq"], self.tmp
        lerp_(m, g, 1.0 - self.beta1, tmp)
        v *= self.beta2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.beta2
        v += tmp
        step_size = self.lr / (1.0 - self.beta1**self.steps)
        bc2_sqrt = math.sqrt(1.0 - self.beta2**self.steps)
        np.sqrt(v, out=tmp)  # the denominator: sqrt(v) / sqrt(bc2) + eps
        tmp /= bc2_sqrt
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= -step_size
        self.params += tmp


class RMSprop(Optimizer):
    """torch.optim.RMSprop (alpha 0.99, eps 1e-8, not centred):
    s <- alpha s + (1 - alpha) g^2; a = sqrt(s) + eps;
    with momentum mu > 0: b <- mu b + g / a, p <- p - lr b; else p <- p - lr g / a."""

    def __init__(self, params: np.ndarray, grads: np.ndarray, lr: float, momentum: float) -> None:
        self.slots = ("square_avg", "momentum_buffer") if momentum > 0 else ("square_avg",)
        super().__init__(params, grads, lr)
        self.alpha, self.eps, self.momentum = 0.99, 1e-8, momentum

    def step(self) -> None:
        self.steps += 1
        g, s, tmp, avg = self.grads, self.state["square_avg"], self.tmp, self.tmp2
        s *= self.alpha
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.alpha
        s += tmp
        np.sqrt(s, out=avg)
        avg += self.eps
        np.divide(g, avg, out=tmp)
        if self.momentum > 0:
            b = self.state["momentum_buffer"]
            b *= self.momentum
            b += tmp
            np.multiply(b, -self.lr, out=tmp)
        else:
            tmp *= -self.lr
        self.params += tmp


class SGD(Optimizer):
    """torch.optim.SGD (no dampening, not Nesterov): with momentum mu > 0 the buffer starts
    as the first gradient itself, then b <- mu b + g; p <- p - lr b. Without: p <- p - lr g."""

    has_step = False

    def __init__(self, params: np.ndarray, grads: np.ndarray, lr: float, momentum: float) -> None:
        self.slots = ("momentum_buffer",) if momentum > 0 else ()
        super().__init__(params, grads, lr)
        self.momentum = momentum

    def step(self) -> None:
        d = self.grads
        if self.momentum > 0:
            b = self.state["momentum_buffer"]
            if self.steps == 0:
                b[...] = d
            else:
                b *= self.momentum
                b += d
            d = b
        self.steps += 1
        np.multiply(d, -self.lr, out=self.tmp)
        self.params += self.tmp

    def started(self) -> bool:
        return self.steps > 0 and self.momentum > 0


def make_optimizer(o: OptimConfig, params: np.ndarray, grads: np.ndarray, lr: float) -> Optimizer:
    if o.name == "adam":
        return Adam(params, grads, lr, (o.beta1, o.beta2))
    if o.name == "rmsprop":
        return RMSprop(params, grads, lr, o.momentum)
    return SGD(params, grads, lr, o.momentum)
