"""Keras variables under the torch engine's state names, in torch's layouts.

One naming for all engines is what lets a checkpoint cross between them; torch's layout is
the canonical one. Per layer (found by its torch name):

=====================  ==========================================  =======================
Keras                  state name                                   layout
=====================  ==========================================  =======================
Dense kernel (in,out)  ``<layer>.weight``                           (out, in)
Conv2D (kh,kw,in,out)  ``<layer>.weight``                           (out, in, kh, kw)
Conv2DTranspose        ``<layer>.weight``                           (in, out, kh, kw)
(kh, kw, out, in)
bias                   ``<layer>.bias``
BatchNorm              ``weight, bias, running_mean, running_var,
                       num_batches_tracked``
SpectralNorm           ``parametrizations.weight.original``,        kernel as above
                       ``parametrizations.weight.0._u`` / ``._v``
optimiser slot         ``optim.<G|D>.<param>.<slot>``               as its parameter
optimiser step         ``optim.<G|D>.<param>.step``                 float32 scalar
=====================  ==========================================  =======================
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import keras
import numpy as np
import torch

from gankit.engines.keras.layers import BatchNorm, SpectralNorm
from gankit.engines.keras.optimizers import TorchOptimizer
from gankit.errors import UserError


class Entry(NamedTuple):
    name: str  # torch's name inside the network, like "fc0.weight"
    var: keras.Variable
    layout: str  # "dense" (transposed), "conv" (kernel axes permuted) or "plain"


def entries(model: keras.Model) -> Iterator[Entry]:
    """The network's variables that torch has, under torch's names."""
    for layer in model.layers:
        n = layer.name
        if isinstance(layer, SpectralNorm):
            inner = layer.layer
            if inner.use_bias:
                yield Entry(f"{n}.bias", inner.bias, "plain")
            kind = "dense" if isinstance(inner, keras.layers.Dense) else "conv"
            yield Entry(f"{n}.parametrizations.weight.original", inner.kernel, kind)
            yield Entry(f"{n}.parametrizations.weight.0._u", layer.u, "plain")
            yield Entry(f"{n}.parametrizations.weight.0._v", layer.v, "plain")
        elif isinstance(layer, keras.layers.Dense):
            yield Entry(f"{n}.weight", layer.kernel, "dense")
            yield Entry(f"{n}.bias", layer.bias, "plain")
        elif isinstance(layer, keras.layers.Conv2D | keras.layers.Conv2DTranspose):
            yield Entry(f"{n}.weight", layer.kernel, "conv")
            if layer.use_bias:
                yield Entry(f"{n}.bias", layer.bias, "plain")
        elif isinstance(layer, BatchNorm):
            yield Entry(f"{n}.weight", layer.gamma, "plain")
            yield Entry(f"{n}.bias", layer.beta, "plain")
            yield Entry(f"{n}.running_mean", layer.moving_mean, "plain")
            yield Entry(f"{n}.running_var", layer.moving_variance, "plain")
            yield Entry(f"{n}.num_batches_tracked", layer.num_batches_tracked, "plain")


def to_torch(value: np.ndarray, layout: str) -> np.ndarray:
    if layout == "dense":
        return np.ascontiguousarray(value.T)
    if layout == "conv":  # (kh, kw, a, b) -> (b, a, kh, kw) for Conv2D and Conv2DTranspose
        return np.ascontiguousarray(value.transpose(3, 2, 0, 1))
    return value


def from_torch(value: np.ndarray, layout: str) -> np.ndarray:
    if layout == "dense":
        return value.T
    if layout == "conv":
        return value.transpose(2, 3, 1, 0)
    return value


def to_numpy(x: keras.Variable | torch.Tensor) -> np.ndarray:
    """A variable's or tensor's value as NumPy. Not ``keras.ops.convert_to_numpy``: on the
    torch backend it goes through ``np.array(tensor)``, which NumPy 2 warns about."""
    value = x.value if isinstance(x, keras.Variable) else x
    return value.detach().cpu().numpy()


def save_network(
    prefix: str, model: keras.Model, opt: TorchOptimizer | None
) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for e in entries(model):
        out[f"{prefix}.{e.name}"] = to_torch(to_numpy(e.var), e.layout).copy()
    if opt is None:
        return out
    step = np.array(int(to_numpy(opt.iterations)), dtype=np.float32)
    for e in entries(model):
        if not e.var.trainable:
            continue
        head = f"optim.{prefix}.{e.name}"
        if opt.has_step:
            out[f"{head}.step"] = step.copy()
        for slot in opt.slots:
            value = to_numpy(opt.slot(slot, e.var))
            out[f"{head}.{slot}"] = to_torch(value, e.layout).copy()
    return out


def load_network(
    prefix: str, model: keras.Model, opt: TorchOptimizer | None, state: dict[str, np.ndarray]
) -> None:
    """Assign a network's (and its optimiser's) entries; optimiser entries a checkpoint lacks
    (torch writes them only after the first step) start from zero, as torch's would."""
    for e in entries(model):
        key = f"{prefix}.{e.name}"
        if key not in state:
            raise UserError(
                f"the checkpoint has no {key}: it was made by a different network; resume "
                "with the config it was trained with."
            )
        _assign(e.var, from_torch(np.asarray(state[key]), e.layout), key)
    if opt is None:
        return
    step = 0
    for e in entries(model):
        if not e.var.trainable:
            continue
        head = f"optim.{prefix}.{e.name}"
        if f"{head}.step" in state:
            step = int(np.asarray(state[f"{head}.step"]).reshape(-1)[0])
        for slot in opt.slots:
            var = opt.slot(slot, e.var)
            value = state.get(f"{head}.{slot}")
            arr = np.zeros(var.shape) if value is None else from_torch(np.asarray(value), e.layout)
            _assign(var, arr, f"{head}.{slot}")
    opt.iterations.assign(step)


def _assign(var: keras.Variable, value: np.ndarray, key: str) -> None:
    if tuple(var.shape) == () and value.shape == (1,):
        value = value.reshape(())  # a scalar as a checkpoint file stores it
    if tuple(value.shape) != tuple(var.shape):
        raise UserError(
            f"the checkpoint's {key} has shape {tuple(value.shape)}, this network's "
            f"{tuple(var.shape)}: it was made by a different network."
        )
    var.assign(value.astype(var.dtype))
