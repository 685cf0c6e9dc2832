"""Keras optimisers that compute exactly what ``torch.optim`` computes.

Keras' built-in optimisers differ from torch's in the maths, not only in defaults, so no
setting of them reproduces a torch run:

* ``keras.optimizers.Adam`` adds epsilon to ``sqrt(v_hat) * sqrt(1 - beta2^t)`` (the
  paper's "epsilon hat"); torch adds it to ``sqrt(v) / sqrt(1 - beta2^t)``.
* ``keras.optimizers.RMSprop`` divides by ``sqrt(v + epsilon)`` and defaults to rho 0.9,
  epsilon 1e-7; torch divides by ``sqrt(v) + epsilon`` with alpha 0.99, epsilon 1e-8, and
  its momentum buffer holds ``g / avg``, not the learning-rate-scaled step.
* ``keras.optimizers.SGD`` keeps ``velocity = momentum * velocity - lr * g``; torch keeps
  ``buf = momentum * buf + g`` and steps by ``lr * buf``, which differs once the learning
  rate changes (gankit decays it).

So these are small ``keras.optimizers.Optimizer`` subclasses implementing torch's update
rules, with slot variables named as torch's state entries (``exp_avg``, ``exp_avg_sq``,
``square_avg``, ``momentum_buffer``): what the state mapping reads and writes.
``update_step`` states the rule in ``keras.ops`` (any backend); on the torch backend
``_backend_update_step`` runs the same rule as one ``torch._foreach_*`` call per operation
over all variables, in the order of torch's own multi-tensor optimisers (as Keras' torch
optimisers do: per-variable Python steps cost more than the maths of small nets). The bias
corrections are computed in float64, as torch computes them on the host: in float32,
``1 - 0.999^1`` is off by 6e-5 relative (the ``keras.ops`` path gets float64 only where the
backend computes it: Keras' type promotion maps float64 to float32 on torch and JAX).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

try:  # the fast path of the torch backend
    import torch
except ImportError:  # pragma: no cover - gankit depends on torch
    torch = None  # type: ignore[assignment]


class TorchOptimizer(keras.optimizers.Optimizer):
    """The shared part: named slots per variable, created in :meth:`build`."""

    slot_names: tuple[str, ...] = ()
    has_step = True  # torch's state keeps a per-parameter step count (Adam, RMSprop)

    def __init__(self, learning_rate: Any = 1e-3, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        if isinstance(self._learning_rate, keras.Variable):
            # torch holds the rate as a Python float (a double); Keras' float32 variable
            # would round every rate gankit's schedule sets, one more rounding per step
            old = self._learning_rate
            with keras.name_scope(self.name, caller=self):
                self._learning_rate = keras.Variable(
                    float(learning_rate), name="learning_rate", dtype="float64", trainable=False
                )
            self._untrack_variable(old)  # the new one is tracked on assignment

    def build(self, variables: list[keras.Variable]) -> None:
        if self.built:
            return
        super().build(variables)
        self.slots: dict[str, list[keras.Variable]] = {
            name: [self.add_variable_from_reference(v, name) for v in variables]
            for name in self.active_slots()
        }

    def active_slots(self) -> tuple[str, ...]:
        return self.slot_names

    def slot(self, name: str, variable: keras.Variable) -> keras.Variable:
        return self.slots[name][self._get_variable_index(variable)]

    def _backend_update_step(
        self, grads: list, trainable_variables: list[keras.Variable], learning_rate: Any
    ) -> None:
        if keras.backend.backend() != "torch":
            super()._backend_update_step(grads, trainable_variables, learning_rate)
            return
        params = [v.value for v in trainable_variables]
        slots = {
            name: [self.slot(name, v).value for v in trainable_variables] for name in self.slots
        }
        lr = learning_rate.value if isinstance(learning_rate, keras.Variable) else learning_rate
        lr = torch.as_tensor(lr, dtype=torch.float64, device=params[0].device)
        with torch.no_grad():
            self._torch_step(params, list(grads), slots, lr)

    def _torch_step(self, params: list, grads: list, slots: dict, lr: Any) -> None:
        raise NotImplementedError


@keras.saving.register_keras_serializable(package="gankit")
class TorchAdam(TorchOptimizer):
    """``torch.optim.Adam`` (no weight decay, no amsgrad)."""

    slot_names = ("exp_avg", "exp_avg_sq")

    def __init__(
        self,
        learning_rate: float = 1e-3,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        name: str = "torch_adam",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def update_step(self, gradient: Any, variable: keras.Variable, learning_rate: Any) -> None:
        dtype = variable.dtype
        m, v = self.slot("exp_avg", variable), self.slot("exp_avg_sq", variable)
        step = ops.cast(self.iterations + 1, "float64")
        bc1 = 1.0 - ops.power(ops.cast(self.beta_1, "float64"), step)
        bc2_sqrt = ops.sqrt(1.0 - ops.power(ops.cast(self.beta_2, "float64"), step))
        step_size = ops.cast(ops.cast(learning_rate, "float64") / bc1, dtype)
        g = ops.cast(gradient, dtype)
        self.assign(m, m * self.beta_1 + g * (1.0 - self.beta_1))
        self.assign(v, v * self.beta_2 + g * g * (1.0 - self.beta_2))
        denom = ops.sqrt(v) / ops.cast(bc2_sqrt, dtype) + self.epsilon
        self.assign_sub(variable, step_size * m / denom)

    def _torch_step(self, params: list, grads: list, slots: dict, lr: Any) -> None:
        m, v = slots["exp_avg"], slots["exp_avg_sq"]
        step = self.iterations.value.to(torch.float64) + 1.0
        step_size = (lr / (1.0 - self.beta_1**step)).to(params[0].dtype)
        bc2_sqrt = torch.sqrt(1.0 - self.beta_2**step).to(params[0].dtype)
        torch._foreach_lerp_(m, grads, 1.0 - self.beta_1)
        torch._foreach_mul_(v, self.beta_2)
        torch._foreach_addcmul_(v, grads, grads, 1.0 - self.beta_2)
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, bc2_sqrt)
        torch._foreach_add_(denom, self.epsilon)
        update = torch._foreach_div(m, denom)
        torch._foreach_mul_(update, step_size)
        torch._foreach_sub_(params, update)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


@keras.saving.register_keras_serializable(package="gankit")
class TorchRMSprop(TorchOptimizer):
    """``torch.optim.RMSprop`` (not centred, no weight decay)."""

    def __init__(
        self,
        learning_rate: float = 1e-2,
        alpha: float = 0.99,
        epsilon: float = 1e-8,
        momentum: float = 0.0,
        name: str = "torch_rmsprop",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.alpha, self.epsilon, self.momentum = alpha, epsilon, momentum

    def active_slots(self) -> tuple[str, ...]:
        return ("square_avg", "momentum_buffer") if self.momentum > 0 else ("square_avg",)

    def update_step(self, gradient: Any, variable: keras.Variable, learning_rate: Any) -> None:
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        sq = self.slot("square_avg", variable)
        self.assign(sq, sq * self.alpha + g * g * (1.0 - self.alpha))
        scaled = g / (ops.sqrt(sq) + self.epsilon)
        if self.momentum > 0:
            buf = self.slot("momentum_buffer", variable)
            self.assign(buf, buf * self.momentum + scaled)
            scaled = buf
        self.assign_sub(variable, lr * scaled)

    def _torch_step(self, params: list, grads: list, slots: dict, lr: Any) -> None:
        sq = slots["square_avg"]
        torch._foreach_mul_(sq, self.alpha)
        torch._foreach_addcmul_(sq, grads, grads, 1.0 - self.alpha)
        avg = torch._foreach_sqrt(sq)
        torch._foreach_add_(avg, self.epsilon)
        if self.momentum > 0:
            buf = slots["momentum_buffer"]
            torch._foreach_mul_(buf, self.momentum)
            torch._foreach_addcdiv_(buf, grads, avg)
            update = torch._foreach_mul(buf, lr.to(params[0].dtype))
        else:
            update = torch._foreach_div(grads, avg)
            torch._foreach_mul_(update, lr.to(params[0].dtype))
        torch._foreach_sub_(params, update)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "alpha": self.alpha,
            "epsilon": self.epsilon,
            "momentum": self.momentum,
        }


@keras.saving.register_keras_serializable(package="gankit")
class TorchSGD(TorchOptimizer):
    """``torch.optim.SGD`` (no dampening, no Nesterov, no weight decay). A zero buffer
    makes the first step ``buf = g``, as torch's first-step copy does."""

    has_step = False  # torch's SGD keeps no step count

    def __init__(
        self,
        learning_rate: float = 1e-2,
        momentum: float = 0.0,
        name: str = "torch_sgd",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = momentum

    def active_slots(self) -> tuple[str, ...]:
        return ("momentum_buffer",) if self.momentum > 0 else ()

    def update_step(self, gradient: Any, variable: keras.Variable, learning_rate: Any) -> None:
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        if self.momentum > 0:
            buf = self.slot("momentum_buffer", variable)
            self.assign(buf, buf * self.momentum + g)
            g = buf
        self.assign_sub(variable, lr * g)

    def _torch_step(self, params: list, grads: list, slots: dict, lr: Any) -> None:
        if self.momentum > 0:
            buf = slots["momentum_buffer"]
            torch._foreach_mul_(buf, self.momentum)
            torch._foreach_add_(buf, grads)
            grads = buf
        torch._foreach_sub_(params, torch._foreach_mul(grads, lr.to(params[0].dtype)))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum}


def make_optimizer(
    name: str, lr: float, beta1: float, beta2: float, momentum: float
) -> TorchOptimizer:
    """The optimiser of gankit's ``optim`` config section, with torch's maths."""
    if name == "adam":
        return TorchAdam(lr, beta1, beta2)
    if name == "sgd":
        return TorchSGD(lr, momentum)
    return TorchRMSprop(lr, momentum=momentum)
