"""The torch engine's primitives for the step recipe (``engines/steps.py``) through autograd:
any network, every penalty, bf16 autocast and DDP. ``by_hand.ByHandSteps`` is the same for
plain MLPs on a CPU, faster (``fast_paths.py`` chooses)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from gankit.engines.torch.losses import penalty_value
from gankit.losses import torch_ops
from gankit.penalties import Penalty

if TYPE_CHECKING:
    from gankit.engines.torch.engine import TorchEngine


class AutogradSteps:
    """Reads the engine's networks at every call: torchrun swaps them for DDP wrappers."""

    def __init__(self, engine: TorchEngine) -> None:
        self.e = engine
        self.ops = torch_ops()

    def fake(self, z: Tensor) -> Tensor:
        e = self.e
        with torch.no_grad(), e.forward_scope():
            return e.d_input(e.G(z)).to(e.dtype)

    def judge(self, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
        e = self.e
        with e.forward_scope():  # one call over real and fake
            out = e.D_train(torch.cat([real, fake])).squeeze(1).to(e.dtype)
        return out[: real.shape[0]], out[real.shape[0] :]

    def d_objective(self, r: Tensor, f: Tensor) -> Tensor:
        return self.e.loss.d(self.ops, r, f)

    def penalty(self, p: Penalty, x: Tensor, weight: float) -> Tensor:
        return penalty_value(p, self.e.D, x, self.e.fast.input_grad)

    def d_apply(self, loss: Tensor) -> Tensor:
        self.e.d_opt.zero_grad(set_to_none=True)
        loss.backward()
        return self.e.update_d()

    def judge_generated(self, z: Tensor, real: Tensor | None) -> tuple[Tensor, Tensor | None]:
        e = self.e
        with e.forward_scope():
            # the plain D: its weights get no gradient here, so DDP must not wait for one
            out = e.D(e.d_input(e.G_train(z))).squeeze(1).to(e.dtype)
            if real is None:
                return out, None
            with torch.no_grad():
                return out, e.D(real).squeeze(1).to(e.dtype)

    def g_objective(self, r: Tensor | None, f: Tensor) -> Tensor:
        return self.e.loss.g(self.ops, r, f)

    def g_apply(self, loss: Tensor) -> Tensor:
        self.e.g_opt.zero_grad(set_to_none=True)
        loss.backward(inputs=self.e.g_params)  # D's weights get no gradient from G's step
        return self.e.update_g()
