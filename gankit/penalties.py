"""Penalties on D's input gradient, as data: which, on what, how much and how often.

Three kinds, each a weight and an interval in the config (``loss.r1``/``r1_every``,
``loss.r2``/``r2_every``, ``loss.gp_weight``/``gp_every``):

* R1 (Mescheder et al. 2018): gamma/2 * E ||grad_x D(x)||^2 on the real packs;
* R2: the same on the fake packs (with R1 and the relativistic pairing loss, the R3GAN
  baseline of Huang et al. 2024);
* the gradient penalty (Gulrajani et al. 2017): lambda * E (||grad_x D(x_hat)|| - 1)^2 on
  x_hat = u * real + (1 - u) * fake, one u ~ U[0, 1] per pack; on when the loss brings it
  (``wgan-gp``).

An interval k > 1 is StyleGAN2's lazy regularisation: the penalty on every k-th iteration
only, weighted by k, nearly the same effect for a k-th of the cost of its double backward.
:func:`plan` turns a run's loss section into its penalties once; each D step asks each
penalty for its weight at the iteration (0: not this one). A penalty is a function of D's
input gradient ``g`` (packs, features); the NumPy engine has each one's gradient with
respect to ``g`` beside its losses' gradients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from gankit.losses import NUMPY, get

On = Literal["real", "fake", "mix"]


def squared_norm(g: Any, ops: Any = NUMPY) -> Any:
    """Mean over packs of ||g||^2 (R1, R2)."""
    return ops.row_squares(g).mean()


def unit_gap(g: Any, ops: Any = NUMPY) -> Any:
    """Mean over packs of (||g|| - 1)^2 (the gradient penalty: D 1-Lipschitz between the
    two distributions)."""
    return ((ops.row_norms(g) - 1.0) ** 2).mean()


@dataclass(frozen=True)
class Penalty:
    """One penalty of a run: ``name`` (r1, r2, gp), the packs its gradient is taken at
    (``on``), the function of that gradient (``of``: squared_norm or unit_gap), the config's
    weight (gamma for R1 and R2, whose loss term is gamma / 2 times the mean; lambda for the
    gradient penalty) and its interval."""

    name: str
    on: On
    of: str
    weight: float
    every: int

    def weight_at(self, iteration: int) -> float:
        """The term's factor at ``iteration`` (1-based, as the engines count): 0 when not
        due, else the weight (halved for R1 and R2) times the interval."""
        if iteration % self.every:
            return 0.0
        if self.of == "squared_norm":
            return 0.5 * self.weight * self.every
        return self.weight * self.every


VALUES = {"squared_norm": squared_norm, "unit_gap": unit_gap}


def plan(
    loss: str,
    *,
    gp_weight: float = 10.0,
    gp_every: int = 1,
    r1: float = 0.0,
    r1_every: int = 1,
    r2: float = 0.0,
    r2_every: int = 1,
) -> tuple[Penalty, ...]:
    """The penalties a run's D steps add, in the order they are added: the gradient
    penalty (when ``loss`` brings it), R1, R2; one with weight 0 is left out."""
    out = []
    if get(loss).gradient_penalty and gp_weight:
        out.append(Penalty("gp", "mix", "unit_gap", gp_weight, gp_every))
    if r1:
        out.append(Penalty("r1", "real", "squared_norm", r1, r1_every))
    if r2:
        out.append(Penalty("r2", "fake", "squared_norm", r2, r2_every))
    return tuple(out)


def plan_for(loss_cfg: Any) -> tuple[Penalty, ...]:
    """:func:`plan` of a config's ``loss`` section."""
    lc = loss_cfg
    return plan(
        lc.name, gp_weight=lc.gp_weight, gp_every=lc.gp_every, r1=lc.r1,
        r1_every=lc.r1_every, r2=lc.r2, r2_every=lc.r2_every,
    )  # fmt: skip


def points(p: Penalty, real: Any, fake: Any, mix_weights: Callable[[], Any]) -> Any:
    """The packs a penalty's input gradient is taken at: the real packs (R1), the fake ones
    (R2), or points between them, u * real + (1 - u) * fake with one u per pack that
    ``mix_weights()`` draws (the gradient penalty; drawn only then, so the other penalties
    leave the random streams alone). NumPy arrays or tensors alike."""
    if p.on == "real":
        return real
    if p.on == "fake":
        return fake
    return between(real, fake, mix_weights())


def between(real: Any, fake: Any, u: Any) -> Any:
    """The gradient penalty's points: u * real + (1 - u) * fake, u one weight per pack."""
    return u * real + (1.0 - u) * fake


def due(penalties: tuple[Penalty, ...], iteration: int) -> list[tuple[Penalty, float]]:
    """The penalties due at ``iteration`` with their factors."""
    return [(p, w) for p in penalties if (w := p.weight_at(iteration))]
