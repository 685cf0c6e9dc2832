"""The layers of the NumPy engine, each backward next to its forward.

Arrays are ``(batch, features)``. A layer's ``forward`` returns its output and a ``cache``
(what its backward needs); ``backward`` takes the gradient arriving at the output (``gy``)
and returns the one at the input, adding the parameter gradients into the net's gradient
buffer when asked (the layers hold views into one flat parameter and one flat gradient
buffer per net, see :class:`gankit.engines.numpy.model.Net`).

The penalties on ``||grad_x D(x)||`` (WGAN-GP, R1) need the gradient of that input gradient
with respect to D's weights: a "double backward". It is built from one more method per
layer, ``backward_of_backward`` (see :meth:`Layer.backward_of_backward` for the maths).
"""

from __future__ import annotations

from typing import Any

import numpy as np

Cache = Any


def batch_sum(g: np.ndarray) -> np.ndarray:
    """The sum over the batch (axis 0) in torch's order: rows summed in blocks of 16, the
    block sums in groups of 16, those in groups of 16 again, the rest in a running sum, then
    the partial levels added from the bottom up (torch's cascade sum, for batches below
    2^19). More accurate than a running sum, and bit-equal to torch's for widths it
    vectorises (multiples of 16): a gradient that cancels exactly there (a unit active on
    every sample under the WGAN loss, where real and fake get -1/n and +1/n) cancels exactly
    here too, instead of leaving rounding noise that Adam would scale up to a full step."""
    n, rest = g.shape[0], g.shape[1:]
    q = n // 16
    tail = g[q * 16 :].sum(axis=0) if n % 16 else None
    if q == 0:
        return tail if tail is not None else np.zeros(rest, g.dtype)
    level = g[: q * 16].reshape(q, 16, *rest).sum(axis=1)  # block sums, each a running sum
    partial = [] if tail is None else [tail]
    for _ in range(2):  # four levels in all; finished groups of 16 move up one
        full = len(level) // 16 * 16
        if full == 0:
            break
        if full < len(level):
            partial.append(level[full:].sum(axis=0))
        level = level[:full].reshape(-1, 16, *rest).sum(axis=1)
    partial.append(level.sum(axis=0))
    out = partial[0]
    for p in partial[1:]:
        out = out + p
    return out


class Layer:
    """y = f(x; theta), with its backward gx = J_f(x)^T gy."""

    def forward(self, x: np.ndarray, train: bool, rng: np.random.Generator) -> tuple[Any, Cache]:
        raise NotImplementedError

    def backward(self, gy: np.ndarray, cache: Cache, param_grads: bool) -> np.ndarray:
        raise NotImplementedError

    def backward_of_backward(
        self, gbar_x: np.ndarray, gy: np.ndarray, cache: Cache
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Differentiate this layer's backward pass ``gx = J_f(x, theta)^T gy``.

        A penalty P(g) on the input gradient g of a net is a function of every layer's
        backward; given ``gbar_x = dP/d gx`` (the adjoint of this layer's input gradient),
        the backward's inputs get

        * ``gbar_y = dP/d gy = J_f gbar_x``: a Jacobian-vector product, so this pass runs
          from D's input to its output;
        * ``dP/d theta = d<gy, J_f gbar_x>/d theta``, added to the parameter gradients;
        * ``xbar = dP/dx = d<gy, J_f(x) gbar_x>/dx``, the adjoint of this layer's input
          through its backward (zero for layers linear in x: returned as None). It reaches
          the weights below through an ordinary backward pass of the forward graph.

        Returns ``(gbar_y, xbar)``."""
        raise NotImplementedError(f"{type(self).__name__} has no double backward")


class Linear(Layer):
    """y = x W^T + b, torch's layout: W is (out, in). Initialised as torch's nn.Linear:
    W and b uniform in +-1/sqrt(in)."""

    def __init__(self, w: np.ndarray, b: np.ndarray, gw: np.ndarray, gb: np.ndarray) -> None:
        self.w, self.b, self.gw, self.gb = w, b, gw, gb

    def init(self, rng: np.random.Generator) -> None:
        bound = 1.0 / np.sqrt(self.w.shape[1])
        self.w[...] = rng.uniform(-bound, bound, self.w.shape)
        self.b[...] = rng.uniform(-bound, bound, self.b.shape)

    def forward(self, x: np.ndarray, train: bool, rng: np.random.Generator) -> tuple[Any, Cache]:
        y = np.matmul(x, self.w.T)
        y += self.b
        return y, x

    def backward(self, gy: np.ndarray, x: Cache, param_grads: bool) -> np.ndarray:
        if param_grads:
            self.param_backward(gy, x)
        return np.matmul(gy, self.w)  # dL/dx = gy W

    def param_backward(self, gy: np.ndarray, x: Cache) -> None:
        # dL/dW = gy^T x, dL/db = the sum of gy over the batch
        self.gw += np.matmul(gy.T, x)
        self.gb += batch_sum(gy) if gy.shape[1] > 1 else gy.sum(axis=0)

    def backward_of_backward(
        self, gbar_x: np.ndarray, gy: np.ndarray, cache: Cache
    ) -> tuple[np.ndarray, np.ndarray | None]:
        # backward: gx = gy W. Then <gy, J gbar_x> = sum gy * (gbar_x W^T), so
        # gbar_y = gbar_x W^T, dP/dW = gy^T gbar_x, dP/db = 0, and x does not appear.
        self.gw += np.matmul(gy.T, gbar_x)
        return np.matmul(gbar_x, self.w.T), None


class Activation(Layer):
    """An elementwise y = phi(x). Subclasses give phi, phi' and phi'' (the last for the
    double backward: xbar = gy * phi''(x) * gbar_x, and gbar_y = phi'(x) * gbar_x)."""

    def forward(self, x: np.ndarray, train: bool, rng: np.random.Generator) -> tuple[Any, Cache]:
        y = self.phi(x)
        return y, (x, y)

    def backward(self, gy: np.ndarray, cache: Cache, param_grads: bool) -> np.ndarray:
        x, y = cache
        return gy * self.d1(x, y)

    def backward_of_backward(
        self, gbar_x: np.ndarray, gy: np.ndarray, cache: Cache
    ) -> tuple[np.ndarray, np.ndarray | None]:
        x, y = cache
        d2 = self.d2(x, y)
        xbar = None if d2 is None else gy * d2 * gbar_x
        return gbar_x * self.d1(x, y), xbar

    def phi(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def d1(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def d2(self, x: np.ndarray, y: np.ndarray) -> np.ndarray | None:
        """phi''(x), or None where it is zero almost everywhere (piecewise-linear phi)."""
        raise NotImplementedError


class LeakyReLU(Layer):
    """x for x > 0, slope * x otherwise (ReLU: slope 0). The forward keeps phi'(x), 1 or the
    slope, all that the backward (gx = phi' * gy) and the double backward (phi'' = 0) need.

    phi' is built without branches, which random signs make slow (np.where: 5x slower):
    max(1[x > 0], slope) is exactly 1 or the slope."""

    def __init__(self, slope: float) -> None:
        self.slope = slope
        self._slopes: dict[tuple, np.ndarray] = {}  # a slope-filled array per shape and dtype

    def forward(self, x: np.ndarray, train: bool, rng: np.random.Generator) -> tuple[Any, Cache]:
        d = np.empty_like(x)
        np.copyto(d, x > 0)
        if self.slope:
            key = (x.shape, x.dtype)
            if key not in self._slopes:
                if len(self._slopes) > 8:  # sample() and critic() see many batch sizes
                    self._slopes.clear()
                self._slopes[key] = np.full_like(x, self.slope)
            np.maximum(d, self._slopes[key], out=d)  # faster than against a scalar
        return x * d, d

    def backward(self, gy: np.ndarray, d: Cache, param_grads: bool) -> np.ndarray:
        return gy * d

    def backward_of_backward(
        self, gbar_x: np.ndarray, gy: np.ndarray, d: Cache
    ) -> tuple[np.ndarray, np.ndarray | None]:
        return gbar_x * d, None


class ReLU(LeakyReLU):
    def __init__(self) -> None:
        super().__init__(0.0)


class Tanh(Activation):
    def phi(self, x: np.ndarray) -> np.ndarray:
        return np.tanh(x)

    def d1(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return 1.0 - y * y  # tanh' = 1 - tanh^2

    def d2(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return -2.0 * y * (1.0 - y * y)  # tanh'' = -2 tanh (1 - tanh^2)


class Sigmoid(Activation):
    def phi(self, x: np.ndarray) -> np.ndarray:
        return 0.5 + 0.5 * np.tanh(0.5 * x)  # = 1 / (1 + e^-x), without overflow

    def d1(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (1.0 - y) * y  # s' = s (1 - s)

    def d2(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (1.0 - y) * y * (1.0 - 2.0 * y)  # s'' = s (1 - s) (1 - 2 s)


class ELU(Activation):
    """alpha = 1 (torch's default): x for x > 0, e^x - 1 otherwise."""

    def phi(self, x: np.ndarray) -> np.ndarray:
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))

    def d1(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.where(x > 0, 1.0, np.exp(np.minimum(x, 0.0))).astype(x.dtype)

    def d2(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.where(x > 0, 0.0, np.exp(np.minimum(x, 0.0))).astype(x.dtype)


def activation(name: str, slope: float) -> Layer:
    if name == "leaky_relu":
        return LeakyReLU(slope)
    return {"relu": ReLU, "tanh": Tanh, "elu": ELU, "sigmoid": Sigmoid}[name]()


class Dropout(Layer):
    """Inverted dropout: in training each unit is kept with probability 1 - p and scaled by
    1 / (1 - p), so its expected value is unchanged and evaluation needs no rescaling; in
    evaluation mode the layer is the identity."""

    def __init__(self, p: float) -> None:
        self.p = p

    def forward(self, x: np.ndarray, train: bool, rng: np.random.Generator) -> tuple[Any, Cache]:
        if not train or self.p == 0.0:
            return x, None
        keep = rng.random(x.shape, dtype=x.dtype) >= self.p
        mask = keep * np.asarray(1.0 / (1.0 - self.p), dtype=x.dtype)
        return x * mask, mask

    def backward(self, gy: np.ndarray, mask: Cache, param_grads: bool) -> np.ndarray:
        return gy if mask is None else gy * mask

    def backward_of_backward(
        self, gbar_x: np.ndarray, gy: np.ndarray, mask: Cache
    ) -> tuple[np.ndarray, np.ndarray | None]:
        return (gbar_x if mask is None else gbar_x * mask), None


class BatchNorm1d(Layer):
    """torch's BatchNorm1d (eps 1e-5, momentum 0.1), a scale w and shift b per feature.

    Training: normalise with the batch's mean and biased variance, and move the running
    statistics towards the batch's: running_mean += 0.1 (mean - running_mean), the same for
    running_var with the *unbiased* variance (n / (n - 1) of the biased one); count the
    batches in num_batches_tracked. Evaluation: normalise with the running statistics."""

    eps = 1e-5
    momentum = 0.1

    def __init__(
        self,
        w: np.ndarray,
        b: np.ndarray,
        gw: np.ndarray,
        gb: np.ndarray,
        buffers: dict[str, np.ndarray],
    ) -> None:
        self.w, self.b, self.gw, self.gb = w, b, gw, gb
        # running_mean, running_var (float), num_batches_tracked (int64, 0-d)
        self.buffers = buffers

    def init(self, rng: np.random.Generator) -> None:
        self.w[...] = 1.0
        self.b[...] = 0.0
        self.buffers["running_mean"][...] = 0.0
        self.buffers["running_var"][...] = 1.0
        self.buffers["num_batches_tracked"][...] = 0

    def forward(self, x: np.ndarray, train: bool, rng: np.random.Generator) -> tuple[Any, Cache]:
        buf = self.buffers
        if not train:
            inv = 1.0 / np.sqrt(buf["running_var"] + self.eps)
            return (x - buf["running_mean"]) * (inv * self.w) + self.b, None
        n = x.shape[0]
        mean = x.mean(axis=0)
        xc = x - mean
        var = np.einsum("ij,ij->j", xc, xc) / n  # biased: what the batch is normalised by
        inv = 1.0 / np.sqrt(var + self.eps)
        xhat = xc * inv
        m = self.momentum
        buf["running_mean"] *= 1.0 - m
        buf["running_mean"] += m * mean
        buf["running_var"] *= 1.0 - m
        buf["running_var"] += (m * n / (n - 1)) * var  # unbiased
        buf["num_batches_tracked"] += 1
        return xhat * self.w + self.b, (xhat, inv)

    def backward(self, gy: np.ndarray, cache: Cache, param_grads: bool) -> np.ndarray:
        # y = w xhat + b, xhat = (x - mean) / sqrt(var + eps), mean and var of the batch.
        # Differentiating through mean and var too (the step the seed's version got wrong):
        #   dL/dx = w / sqrt(var + eps) * (gy - mean(gy) - xhat * mean(gy * xhat))
        xhat, inv = cache
        gw = np.einsum("ij,ij->j", gy, xhat)  # dL/dw = sum gy * xhat
        gb = gy.sum(axis=0)
        if param_grads:
            self.gw += gw
            self.gb += gb
        n = gy.shape[0]
        return (gy - gb / n - xhat * (gw / n)) * (inv * self.w)
