"""Adam's fused kernel called straight, without ``torch.optim.Optimizer.step`` around it.

For the small networks of the toy presets an optimiser step is mostly Python: the step
wrapper, hooks, grouping the tensors by device and dtype, checking flags (100-200 µs), around
a fused kernel that takes 40 µs. The engine takes two such steps per iteration, so on a CPU
core this is 6-8 % of an iteration. :class:`DirectStep` gathers the parameter and state
lists once and then calls what ``torch.optim.Adam(fused=True)`` calls, with the same
arguments, so the numbers are the optimiser's own (the tests compare them bit for bit). The
optimiser still owns its state, so checkpoints are unchanged; anything the shortcut does not
cover (other optimisers, a first step that creates the state, a missing gradient) goes
through ``optimizer.step()``.
"""

from __future__ import annotations

import torch
from torch import Tensor


class DirectStep:
    """``step()`` of one optimiser, through Adam's fused kernel where that is exact."""

    def __init__(self, optimizer: torch.optim.Optimizer, enabled: bool = True) -> None:
        self.optimizer = optimizer
        self.enabled = enabled  # False: always optimizer.step() (train.fast_paths)
        self._lists: tuple[list[Tensor], list[Tensor], list[Tensor], list[Tensor]] | None = None
        self._counts = torch.zeros(0)  # the step counts, once gathered

    def reset(self) -> None:
        """Gather the lists again: the optimiser's state was replaced (a loaded checkpoint)."""
        self._lists = None

    def _gather(self) -> tuple[list[Tensor], list[Tensor], list[Tensor], list[Tensor]] | None:
        opt = self.optimizer
        if not self.enabled:
            return None
        if not isinstance(opt, torch.optim.Adam) or len(opt.param_groups) != 1:
            return None
        group = opt.param_groups[0]
        plain_adam = not (group["amsgrad"] or group["maximize"] or group["weight_decay"])
        if not (group.get("fused") and plain_adam and hasattr(torch, "_fused_adam_")):
            return None
        params = list(group["params"])
        states = [opt.state.get(p, {}) for p in params]
        if not all({"step", "exp_avg", "exp_avg_sq"} <= set(s) for s in states):
            return None  # before the first step: optimizer.step() creates the state
        if len({(p.device, p.dtype) for p in params}) != 1:
            return None  # the kernel takes one device and dtype per call
        # the step counts, one per parameter and always equal, become views of one tensor:
        # one add advances them all (a foreach add on a CPU is one small op per tensor)
        self._counts = torch.stack([s["step"] for s in states])
        for i, s in enumerate(states):
            s["step"] = self._counts[i]
        return (
            params,
            [s["exp_avg"] for s in states],
            [s["exp_avg_sq"] for s in states],
            [s["step"] for s in states],
        )

    def step(self) -> None:
        if self._lists is None:
            self._lists = self._gather()
        if self._lists is None:
            self.optimizer.step()
            return
        params, exp_avgs, exp_avg_sqs, steps = self._lists
        grads = [p.grad for p in params]
        if any(g is None for g in grads):
            self.optimizer.step()
            return
        group = self.optimizer.param_groups[0]
        beta1, beta2 = group["betas"]
        self._counts.add_(1)
        torch._fused_adam_(
            params,
            grads,
            exp_avgs,
            exp_avg_sqs,
            [],
            steps,
            amsgrad=False,
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            weight_decay=0.0,
            eps=group["eps"],
            maximize=False,
            grad_scale=None,
            found_inf=None,
        )
