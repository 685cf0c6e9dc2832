"""The training steps of a plain MLP G and D written out by hand, for the CPU.

On a CPU core the toy presets' networks (three hidden layers of 64-96 units, batches of 256)
leave autograd little to hide behind: a graph built and walked twice per iteration, a module
call per layer, and R1's double backward every fourth D step (a fifth of grid25's time on its
own). Two kernels cost more than they should as well: torch's CPU tanh does not vectorise
(2.1 ns a value on this project's EPYC, sigmoid 0.25 ns), and MKL's GEMM runs its AVX2 code
on AMD processors where oneDNN runs AVX-512 (a 512x96 by 96x96 product: 96 µs through MKL,
54 µs through oneDNN).

Here the forward passes keep the activations the backward passes need, and the backward
passes are the matrix products autograd would run, with D's weight gradients left out of G's
step. R1's gradient for a piecewise-linear D (ReLU, LeakyReLU) is one more pass through the
same products (:func:`_add_squared_norm`; R2 the same on the fakes). tanh is 2 sigmoid(2x) - 1
(within 2.4e-7 of ``torch.tanh``).
Forward products and input gradients with weights of at least :data:`ONEDNN_MIN` entries go
through oneDNN's linear kernel where this torch has one; weight gradients stay with MKL,
which is as fast for them once oneDNN's inputs would need transposing.

It covers what :func:`layers_of` recognises: Linear layers with tanh, ReLU or LeakyReLU
between them and batch-norm where G has it (through autograd's own batch-norm kernels), on
float32 or float64 points, in one process on the CPU. It could step an MLP on flattened
images too (the digits preset), but measured 14 % slower there than autograd
(docs/benchmarks/fast-paths.md: wide layers at batch 64, where autograd's overhead is small
beside the products), so :func:`layers_for` leaves images to autograd. The gradient
penalty, the R1 and R2 steps of a tanh D and every other network go through autograd; the
engine chooses once (``fast_paths.py``) which steps go by hand, and both ways draw the same
random numbers. :class:`ByHandSteps` fills the step recipe (``engines/steps.py``) with them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from gankit.config import Config
from gankit.losses import torch_ops
from gankit.penalties import Penalty

if TYPE_CHECKING:
    from gankit.engines.torch.engine import TorchEngine

# oneDNN against MKL in grid25's iterations on this project's EPYC, by hidden width: 64, 3 %
# slower (its fixed cost per call); 96, 6 % faster; 128, 21 %; 256, 40 %
ONEDNN_MIN = 96 * 96


def _onednn_linear() -> Callable[..., Tensor] | None:
    """oneDNN's linear kernel (what inductor calls on a CPU), if this torch has a working one."""
    try:
        op = torch.ops.mkldnn._linear_pointwise.default
        x, w = torch.arange(6.0).reshape(2, 3), torch.arange(12.0).reshape(4, 3)
        return op if torch.equal(op(x, w, None, "none", [], ""), x @ w.t()) else None
    except (AttributeError, RuntimeError):
        return None


_ONEDNN = _onednn_linear() if torch.backends.mkldnn.is_available() else None


@dataclass(frozen=True)
class Layer:
    """A Linear layer, the batch-norm after it if any, and the activation after that (``""``:
    none, the output layer)."""

    linear: nn.Linear
    act: str
    slope: float = 0.0
    bn: nn.BatchNorm1d | None = None


_ACTS = {nn.Tanh: "tanh", nn.ReLU: "relu", nn.LeakyReLU: "leaky_relu"}


def _plain_bn(m: nn.Module) -> bool:
    """A BatchNorm1d that normalises by its batch and keeps running statistics with a fixed
    momentum: what the MLP G's ``g_batchnorm`` builds."""
    return (
        type(m) is nn.BatchNorm1d
        and m.affine
        and m.track_running_stats
        and m.momentum is not None
        and not parametrize.is_parametrized(m)
    )


def layers_of(net: nn.Module) -> list[Layer] | None:
    """The layers of an MLP on points (Linear, [batch-norm,] activation, ..., Linear
    [, tanh]). None for any other net: dropout, spectral norm, minibatch-std, convolutions,
    another activation, or an image net's Flatten / Unflatten."""
    if not isinstance(net, nn.Sequential):
        return None
    mods = list(net.children())
    layers: list[Layer] = []
    i = 0
    while i < len(mods):
        lin = mods[i]
        if type(lin) is not nn.Linear or parametrize.is_parametrized(lin):
            return None
        i += 1
        bn = mods[i] if i < len(mods) and type(mods[i]) is nn.BatchNorm1d else None
        if bn is not None:
            if not _plain_bn(bn):
                return None
            i += 1
        nxt = mods[i] if i < len(mods) else None
        act = _ACTS.get(type(nxt), "") if nxt is not None else ""
        if nxt is not None and not act:
            return None
        if isinstance(nxt, nn.LeakyReLU) and nxt.negative_slope < 0:  # its sign tells the side
            return None
        slope = nxt.negative_slope if isinstance(nxt, nn.LeakyReLU) else 0.0
        layers.append(Layer(lin, act, slope, bn))
        i += 1 if nxt is not None else 0
    # a raw output (D, G) or tanh (a G of bounded points)
    return layers if layers and layers[-1].act in ("", "tanh") else None


def layers_for(
    cfg: Config,
    penalties: tuple[Penalty, ...],
    g: nn.Module,
    d: nn.Module,
    device: torch.device,
    precision: str,
) -> tuple[list[Layer], list[Layer]] | None:
    """G's and D's layers where the engine can step them by hand (``penalties``: the run's,
    ``precision``: the engine's resolved one), None where it cannot."""
    if (
        device.type != "cpu"  # measured on CPUs only; GPUs want their steps captured whole
        or cfg.model.arch != "mlp"
        or precision == "bf16"
        or any(p.on == "mix" for p in penalties)  # second derivatives at new points
        or cfg.model.augment
        or cfg.data.is_image  # slower than autograd there (the module's docstring)
    ):
        return None
    g_layers, d_layers = layers_of(g), layers_of(d)
    return (g_layers, d_layers) if g_layers is not None and d_layers is not None else None


def _onednn_pays(x: Tensor, weight: Tensor) -> bool:
    return _ONEDNN is not None and x.dtype == torch.float32 and weight.numel() >= ONEDNN_MIN


def _linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """x @ weight.T + bias."""
    if _onednn_pays(x, weight):
        return _ONEDNN(x, weight, bias, "none", [], "")
    return torch.addmm(bias, x, weight.t()) if bias is not None else x.mm(weight.t())


def _times_weight(grad: Tensor, weight: Tensor) -> Tensor:
    """grad @ weight: a gradient carried back through a Linear layer to its input."""
    if _onednn_pays(grad, weight):
        return _ONEDNN(grad, weight.t().contiguous(), None, "none", [], "")
    return grad.mm(weight)


def _activate(layer: Layer, x: Tensor) -> Tensor:
    """The activation, in place on a fresh pre-activation."""
    if layer.act == "tanh":  # tanh(x) = 2 sigmoid(2x) - 1, vectorised
        return torch.sigmoid_(x.mul_(2.0)).mul_(2.0).sub_(1.0)
    if layer.act == "relu":
        return x.relu_()
    if layer.act == "leaky_relu":
        return torch.nn.functional.leaky_relu_(x, layer.slope)
    return x


def _through_activation(layer: Layer, grad: Tensor, out: Tensor) -> Tensor:
    """The gradient before the activation, from the one after it and the activation's
    output (all three activations' derivatives are functions of their output)."""
    if layer.act == "tanh":
        return torch.ops.aten.tanh_backward(grad, out)
    if layer.act == "relu":
        return torch.ops.aten.threshold_backward(grad, out, 0)
    if layer.act == "leaky_relu":
        return torch.ops.aten.leaky_relu_backward(grad, out, layer.slope, True)
    return grad


@dataclass
class Kept:
    """What a forward pass keeps for the backward pass: every layer's input with the last
    output after them, and for each batch-normed layer (by index) its input with the batch's
    mean and 1/std."""

    acts: list[Tensor]
    normed: dict[int, tuple[Tensor, Tensor, Tensor]]


def _batch_norm(bn: nn.BatchNorm1d, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Training-mode batch-norm as the module runs it (the running statistics updated in
    place, the batch counter too): the output, the batch's mean and its 1/std."""
    out, mean, invstd = torch.ops.aten.native_batch_norm(
        y, bn.weight, bn.bias, bn.running_mean, bn.running_var, True, bn.momentum, bn.eps
    )
    bn.num_batches_tracked.add_(1)
    return out, mean, invstd


def forward(layers: list[Layer], x: Tensor) -> tuple[Tensor, Kept]:
    """The output, and what :func:`backward` needs."""
    kept = Kept([x], {})
    for i, layer in enumerate(layers):
        x = _linear(x, layer.linear.weight, layer.linear.bias)
        if layer.bn is not None:
            y = x
            x, mean, invstd = _batch_norm(layer.bn, y)
            kept.normed[i] = (y, mean, invstd)
        x = _activate(layer, x)
        kept.acts.append(x)
    return x, kept


def backward(
    layers: list[Layer], kept: Kept, grad: Tensor, weights: bool, input_grad: bool
) -> Tensor | None:
    """From the loss's gradient at the output: the weights' and biases' gradients set as their
    ``.grad`` (when ``weights``), and the gradient at the input (when ``input_grad``)."""
    for i in range(len(layers) - 1, -1, -1):
        layer = layers[i]
        grad = _through_activation(layer, grad, kept.acts[i + 1])
        if layer.bn is not None:  # autograd's own batch-norm backward kernel
            y, mean, invstd = kept.normed[i]
            bn = layer.bn
            grad, bn.weight.grad, bn.bias.grad = torch.ops.aten.native_batch_norm_backward(
                grad, y, bn.weight, bn.running_mean, bn.running_var, mean, invstd, True,
                bn.eps, [True, weights, weights],
            )  # fmt: skip
        if weights:
            layer.linear.weight.grad = grad.t().mm(kept.acts[i])
            layer.linear.bias.grad = grad.sum(0)
        if i == 0 and not input_grad:
            return None
        grad = _times_weight(grad, layer.linear.weight)
    return grad


def _loss_and_grads(loss_fn: Callable[..., Tensor], *outs: Tensor) -> tuple[Tensor, list[Tensor]]:
    """The loss on D's outputs ``outs`` and its gradient with respect to each, through
    autograd on these few numbers only: the loss math stays in one place (the loss table)."""
    leaves = [o.detach().requires_grad_(True) for o in outs]
    with torch.enable_grad():
        loss = loss_fn(*leaves)
        grads = torch.autograd.grad(loss, leaves)
    return loss.detach(), list(grads)


def piecewise_linear(layers: list[Layer]) -> bool:
    """Whether the net's second derivatives vanish (ReLU, LeakyReLU): what
    :func:`_add_squared_norm` assumes."""
    return all(layer.act in ("", "relu", "leaky_relu") and layer.bn is None for layer in layers)


def _add_squared_norm(d: list[Layer], kept: Kept, rows: slice, weight: float) -> Tensor:
    """Add ``weight`` times the gradient of P = mean ||grad_x D(x)||^2 over ``rows`` of the
    batch ``kept`` came from (R1: the real packs, R2: the fake ones) to D's weight gradients,
    and return P. For a piecewise-linear D, grad_x D is a product of the weights and the
    activations' fixed 0/1 (or slope) masks, so P's gradient is one more backward pass
    through that product; biases only move the masks, and get none."""
    # first-order: from 1 at each output down to the input, keeping each layer's gradient
    # at its pre-activation (delta)
    acts = kept.acts
    n = len(range(*rows.indices(acts[0].shape[0])))
    grad = torch.ones(n, 1, dtype=acts[0].dtype, device=acts[0].device)
    deltas: list[Tensor] = []
    for i in range(len(d) - 1, -1, -1):
        grad = _through_activation(d[i], grad, acts[i + 1][rows])
        deltas.insert(0, grad)
        grad = _times_weight(grad, d[i].linear.weight)
    value = grad.square().sum(1).mean()
    # second-order: R1's gradient flows from the input back up the same product
    up = grad.mul_(2.0 / n)
    for i, layer in enumerate(d):
        w = layer.linear.weight
        assert w.grad is not None
        w.grad.addmm_(deltas[i].t(), up, alpha=weight)
        if i + 1 < len(d):
            up = _through_activation(layer, _linear(up, w, None), acts[i + 1][rows])
    return value


class ByHandSteps:
    """The step recipe's primitives (``engines/steps.py``) for G's and D's ``layers``: each
    pass keeps what its backward needs until the recipe's next call takes the gradients."""

    def __init__(self, g: list[Layer], d: list[Layer], engine: TorchEngine) -> None:
        self.g, self.d, self.e = g, d, engine
        self.ops = torch_ops()
        self.kept: Kept | None = None  # D's pass over real and fake
        self.n_real = 0
        self.g_kept: Kept | None = None  # G's step: G's pass and D's on its output
        self.d_kept: Kept | None = None
        self.fake_shape: torch.Size | None = None

    @torch.no_grad()
    def fake(self, z: Tensor) -> Tensor:
        fake, _ = forward(self.g, z)  # G's batch-norm updates its running statistics, as autograd's
        return self.e.d_input(fake)

    @torch.no_grad()
    def judge(self, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
        out, self.kept = forward(self.d, torch.cat([real.flatten(1), fake.flatten(1)]))
        n = self.n_real = real.shape[0]
        out = out.squeeze(1)
        return out[:n], out[n:]

    @torch.no_grad()
    def d_objective(self, r: Tensor, f: Tensor) -> Tensor:
        loss, (gr, gf) = _loss_and_grads(lambda r, f: self.e.loss.d(self.ops, r, f), r, f)
        assert self.kept is not None
        grad = torch.cat([gr, gf]).unsqueeze(1)
        backward(self.d, self.kept, grad, weights=True, input_grad=False)
        return loss

    @torch.no_grad()
    def penalty(self, p: Penalty, x: Tensor, weight: float) -> Tensor:
        # fast_paths: a piecewise-linear D, and no penalty at new points (layers_for)
        assert p.of == "squared_norm" and p.on in ("real", "fake") and self.kept is not None
        rows = slice(0, self.n_real) if p.on == "real" else slice(self.n_real, None)
        return _add_squared_norm(self.d, self.kept, rows, weight)

    def d_apply(self, loss: Tensor) -> Tensor:
        return self.e.update_d()  # the gradients are in place already

    @torch.no_grad()
    def judge_generated(self, z: Tensor, real: Tensor | None) -> tuple[Tensor, Tensor | None]:
        fake, self.g_kept = forward(self.g, z)
        self.fake_shape = fake.shape
        out, self.d_kept = forward(self.d, self.e.d_input(fake).flatten(1))
        real_out = None if real is None else forward(self.d, real.flatten(1))[0].squeeze(1)
        return out.squeeze(1), real_out

    @torch.no_grad()
    def g_objective(self, r: Tensor | None, f: Tensor) -> Tensor:
        loss, (grad,) = _loss_and_grads(lambda f: self.e.loss.g(self.ops, r, f), f)
        assert self.d_kept is not None and self.g_kept is not None
        # through D to its input only: D's weights get no gradient from G's step
        at_fake = backward(self.d, self.d_kept, grad.unsqueeze(1), weights=False, input_grad=True)
        assert at_fake is not None and self.fake_shape is not None
        at_g = at_fake.reshape(self.fake_shape)
        backward(self.g, self.g_kept, at_g, weights=True, input_grad=False)
        return loss

    def g_apply(self, loss: Tensor) -> Tensor:
        return self.e.update_g()
