"""G and D of the NumPy engine: a sequence of layers whose parameters live in one flat buffer.

Layer and parameter names are the torch engine's (``fc0, bn0, act0, drop0, ..., out``), in
torch's order and layout (a Linear weight is (out, in)), so that ``G.fc1.weight`` or
``D.out.bias`` mean the same in every engine and checkpoints move between them. Images
cross the MLPs flat, in torch's (C, H, W) order; G ends in tanh for them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gankit.config import ModelConfig
from gankit.engines.numpy.layers import (
    BatchNorm1d,
    Dropout,
    Layer,
    Linear,
    Tanh,
    activation,
)

Penalty = Callable[[np.ndarray], tuple[float, np.ndarray]]


class Net:
    """Layers applied in turn. ``params`` and ``grads`` are flat buffers; ``names`` lists the
    parameters in torch's ``named_parameters`` order with their offsets and shapes, so the
    optimisers work on all of them at once and the state names each one."""

    def __init__(self, spec: list[tuple[str, str, tuple]], dtype: np.dtype) -> None:
        """``spec``: (name, kind, args) per layer, kinds linear (in, out), batchnorm (n,),
        act (name, slope), dropout (p,) and tanh ()."""
        shapes: list[tuple[str, tuple[int, ...]]] = []
        for name, kind, args in spec:
            if kind == "linear":
                shapes += [(f"{name}.weight", (args[1], args[0])), (f"{name}.bias", (args[1],))]
            elif kind == "batchnorm":
                shapes += [(f"{name}.weight", (args[0],)), (f"{name}.bias", (args[0],))]
        sizes = [int(np.prod(s)) for _, s in shapes]
        self.params = np.zeros(sum(sizes), dtype)
        self.grads = np.zeros_like(self.params)
        self.names: list[tuple[str, slice, tuple[int, ...]]] = []
        start = 0
        for (name, shape), size in zip(shapes, sizes, strict=True):
            self.names.append((name, slice(start, start + size), shape))
            start += size
        views = {n: (self.params[s].reshape(shape), self.grads[s].reshape(shape))
                 for n, s, shape in self.names}  # fmt: skip
        self.buffers: dict[str, np.ndarray] = {}  # batch-norm running statistics
        self.layers: list[tuple[str, Layer]] = []
        for name, kind, args in spec:
            if kind in ("linear", "batchnorm"):
                (w, gw), (b, gb) = views[f"{name}.weight"], views[f"{name}.bias"]
            if kind == "linear":
                layer: Layer = Linear(w, b, gw, gb)
            elif kind == "batchnorm":
                bufs = {
                    "running_mean": np.zeros(args[0], dtype),
                    "running_var": np.ones(args[0], dtype),
                    "num_batches_tracked": np.zeros((), np.int64),
                }
                self.buffers.update({f"{name}.{k}": v for k, v in bufs.items()})
                layer = BatchNorm1d(w, b, gw, gb, bufs)
            elif kind == "act":
                layer = activation(*args)
            elif kind == "dropout":
                layer = Dropout(*args)
            else:
                layer = Tanh()
            self.layers.append((name, layer))

    def init(self, rng: np.random.Generator) -> None:
        """torch's defaults, layer by layer in order: nn.Linear's uniform weights and biases,
        batch-norm scale 1 and shift 0."""
        for _, layer in self.layers:
            if isinstance(layer, Linear | BatchNorm1d):
                layer.init(rng)

    def copy_from(self, other: Net) -> None:
        self.params[...] = other.params
        for k, v in other.buffers.items():
            self.buffers[k][...] = v

    def param_views(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Each parameter's part of a flat buffer laid out like ``params`` (the optimiser's
        state too), by name."""
        return {n: flat[s].reshape(shape) for n, s, shape in self.names}

    # --- forward and backward -----------------------------------------------------------

    def forward(
        self, x: np.ndarray, train: bool, rng: np.random.Generator
    ) -> tuple[np.ndarray, list]:
        caches = []
        for _, layer in self.layers:
            x, cache = layer.forward(x, train, rng)
            caches.append(cache)
        return x, caches

    def backward(self, gy: np.ndarray, caches: list, param_grads: bool = True) -> np.ndarray:
        """The gradient at the input; adds the parameter gradients into ``grads`` when asked
        (zero it first: :meth:`zero_grad`)."""
        for (_, layer), cache in zip(reversed(self.layers), reversed(caches), strict=True):
            gy = layer.backward(gy, cache, param_grads)
        return gy

    def param_backward(self, gy: np.ndarray, caches: list) -> None:
        """Only the parameter gradients: the input's gradient (a matrix product in the
        first layer) is never needed when the input is data or noise."""
        *rest, (_, first) = reversed(self.layers)
        for (_, layer), cache in zip(rest, reversed(caches), strict=False):
            gy = layer.backward(gy, cache, True)
        if isinstance(first, Linear):
            first.param_backward(gy, caches[0])
        else:
            first.backward(gy, caches[0], True)

    def zero_grad(self) -> None:
        self.grads.fill(0.0)

    def penalty(self, x: np.ndarray, weight: float, p: Penalty, rng: np.random.Generator) -> float:
        """Add ``weight * dP/dtheta`` into ``grads`` for a penalty P(g) on g = grad_x sum D(x)
        (the gradient penalty, R1); return P.

        1. forward on x, then the backward of sum(D(x)) (the seed gradient 1 at the output),
           keeping the gradient gy_l arriving at each layer's output: g is the last one.
        2. gbar = weight * dP/dg, then through each layer from input to output,
           ``backward_of_backward`` turns the adjoint of its input gradient into the adjoint
           of its output gradient (a Jacobian-vector product), adds d<gy, J gbar>/dtheta to
           the parameter gradients, and gives the adjoint ``xbar`` of its own input (nonzero
           for curved activations only: gy * phi''(a) * gbar).
        3. those ``xbar`` reach the weights below them through an ordinary backward pass of
           the forward graph, each added where its layer's input is.

        For h = phi(W x + b) this is the hand derivative of g = W^T (phi'(a) * gy_h): with
        respect to W the outer products of gy and gbar (step 2), with respect to x through
        phi''(a) (steps 2 and 3)."""
        out, caches = self.forward(x, True, rng)
        gy = np.ones_like(out)
        gys = []
        for (_, layer), cache in zip(reversed(self.layers), reversed(caches), strict=True):
            gys.append(gy)
            gy = layer.backward(gy, cache, False)
        gys.reverse()
        value, gbar = p(gy)
        gbar = gbar * weight
        xbars = []
        for (_, layer), cache, gy_l in zip(self.layers, caches, gys, strict=True):
            gbar, xbar = layer.backward_of_backward(gbar, gy_l, cache)
            xbars.append(xbar)
        r: np.ndarray | None = None  # the adjoint of the current layer's output
        for i in range(len(self.layers) - 1, -1, -1):
            if r is not None:
                r = self.layers[i][1].backward(r, caches[i], True)
            if xbars[i] is not None:
                r = xbars[i] if r is None else r + xbars[i]
        return value


def mlp_generator(cfg: ModelConfig, n_out: int, image: bool, dtype: np.dtype) -> Net:
    """latent -> [fc, (bn), act] per hidden width -> out (-> tanh for images)."""
    spec: list[tuple[str, str, tuple]] = []
    width = cfg.latent_dim
    for i, h in enumerate(cfg.g_hidden):
        spec.append((f"fc{i}", "linear", (width, h)))
        if cfg.g_batchnorm:
            spec.append((f"bn{i}", "batchnorm", (h,)))
        spec.append((f"act{i}", "act", (cfg.g_activation, cfg.leaky_slope)))
        width = h
    spec.append(("out", "linear", (width, n_out)))
    if image:
        spec.append(("tanh", "tanh", ()))
    return Net(spec, dtype)


def mlp_discriminator(cfg: ModelConfig, n_in: int, dtype: np.dtype) -> Net:
    """A pack of ``cfg.pack`` flat samples -> [fc, act, (dropout)] per width -> one score."""
    spec: list[tuple[str, str, tuple]] = []
    width = n_in * cfg.pack
    for i, h in enumerate(cfg.d_hidden):
        spec.append((f"fc{i}", "linear", (width, h)))
        spec.append((f"act{i}", "act", (cfg.d_activation, cfg.leaky_slope)))
        if cfg.d_dropout > 0:
            spec.append((f"drop{i}", "dropout", (cfg.d_dropout,)))
        width = h
    spec.append(("out", "linear", (width, 1)))
    return Net(spec, dtype)
