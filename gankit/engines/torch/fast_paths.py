"""The torch engine's fast paths, chosen once, when the engine is built (and again by the
engine itself when torchrun splits it over processes).

Each computes what plain autograd and ``optimizer.step()`` compute, up to float rounding
(the tests hold each to them), faster where it applies:

* ``by_hand``: plain MLPs on a CPU step without autograd (``by_hand.py``), R1 and R2 too
  when D is piecewise linear;
* ``transpose``: a penalty's input gradient by D's transpose written out (``input_grad.py``)
  instead of autograd's double backward, where D is simple enough;
* ``direct_adam``: Adam's fused kernel called straight (``direct_adam.py``).

``train.fast_paths``: true (each that applies), false (none), or the list of those to use
(what ``gankit bench --ablate`` varies to measure each one's own gain).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gankit.config import FAST_PATHS, Config
from gankit.engines.torch import by_hand
from gankit.engines.torch.input_grad import input_grad
from gankit.engines.torch.input_grad import supports as supports_transpose
from gankit.engines.torch.losses import InputGrad, autograd_input_grad
from gankit.penalties import Penalty

Layers = tuple[list[by_hand.Layer], list[by_hand.Layer]]


@dataclass(frozen=True)
class FastPaths:
    """What one engine uses: G's and D's layers when it steps by hand (None: autograd), and
    whether those steps take R1 and R2 as well; the penalties' input gradient; whether Adam's
    kernel is called straight."""

    by_hand: Layers | None
    by_hand_penalties: bool
    input_grad: InputGrad
    direct_adam: bool

    @property
    def names(self) -> list[str]:
        """The fast paths in use, by name."""
        used = {
            "by_hand": self.by_hand is not None,
            "transpose": self.input_grad is input_grad,
            "direct_adam": self.direct_adam,
        }
        return [name for name in FAST_PATHS if used[name]]


def wanted(cfg: Config) -> set[str]:
    """The fast paths ``train.fast_paths`` allows."""
    fp = cfg.train.fast_paths
    if fp is True:
        return set(FAST_PATHS)
    return set() if fp is False else set(fp)


def choose(
    cfg: Config,
    penalties: tuple[Penalty, ...],
    g: nn.Module,
    d: nn.Module,
    device: torch.device,
    precision: str,
    world: int = 1,
) -> FastPaths:
    """The fast paths of an engine with networks ``g`` and ``d`` on ``device``, at its
    resolved ``precision``, split over ``world`` processes."""
    allowed = wanted(cfg)
    layers = None
    if "by_hand" in allowed and world == 1:  # DDP's all-reduce hooks into autograd
        layers = by_hand.layers_for(cfg, penalties, g, d, device, precision)
    penalties_by_hand = layers is not None and by_hand.piecewise_linear(layers[1])
    # the transpose serves the penalties autograd computes: none when the steps by hand take
    # them all
    autograd_penalties = bool(penalties) and not penalties_by_hand
    transpose = "transpose" in allowed and autograd_penalties and supports_transpose(d)
    return FastPaths(
        by_hand=layers,
        by_hand_penalties=penalties_by_hand,
        input_grad=input_grad if transpose else autograd_input_grad,
        direct_adam="direct_adam" in allowed and cfg.optim.name == "adam",
    )
