"""One D step and one G step: the recipe every engine runs, filled with its own primitives.

The engines differ in how they compute (torch autograd, the torch engine's steps by hand,
Keras' variables under torch autograd, NumPy's hand-derived backward passes), not in what a
step is. That is written once here, so a loss, a penalty or a statistic enters every engine
the same way. The plain loop (``gankit/plain_loop.py``) keeps its own copy on purpose: it is
what a user writes by hand, the benchmark's yardstick.

An engine draws its batch (real packs, as D sees them) and latents; the recipe does the rest
through :class:`Primitives`. The gradient penalty's mixing weights are drawn only when a
penalty between real and fake is due (``mix``), so every engine asks its stream for the same
draws in the same order (``engines.base.Draws``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from gankit.penalties import Penalty, points


class Primitives(Protocol):
    """What an engine supplies to the recipe. Batches, outputs and losses are the engine's
    own arrays (torch tensors, NumPy arrays or floats): the recipe only passes them on."""

    def fake(self, z: Any) -> Any:
        """G(z) in training mode as D's packs, not differentiated (D's step trains D only)."""

    def judge(self, real: Any, fake: Any) -> tuple[Any, Any]:
        """D's training pass over real and fake packs: D's raw outputs on each, ``(r, f)``,
        with what the gradients need kept."""

    def d_objective(self, r: Any, f: Any) -> Any:
        """The loss table's D objective on the outputs of :meth:`judge` (engines that
        backpropagate by hand take its gradient into D's weights here)."""

    def penalty(self, p: Penalty, x: Any, weight: float) -> Any:
        """Penalty ``p``'s value at the packs ``x`` (engines by hand add ``weight`` times its
        gradient to D's here)."""

    def d_apply(self, loss: Any) -> Any:
        """D's update from ``loss`` (its gradients, where autograd takes them), after
        reading the gradient's norm, which it returns; then WGAN's weight clipping."""

    def judge_generated(self, z: Any, real: Any | None) -> tuple[Any, Any | None]:
        """D's outputs on G(z), differentiable with respect to G's weights, and (``real``
        given, for a relativistic loss) on those real packs, not differentiated."""

    def g_objective(self, r: Any | None, f: Any) -> Any:
        """The loss table's G objective (engines by hand take its gradient into G's here)."""

    def g_apply(self, loss: Any) -> Any:
        """G's update from ``loss``, after reading the gradient's norm, which it returns;
        then the EMA copy of G follows."""


def d_step(
    step: Primitives,
    real: Any,
    z: Any,
    due: Sequence[tuple[Penalty, float]],
    mix: Callable[[], Any],
) -> tuple[Any, Any, Any, Any]:
    """One D update on the real packs and G(z), with the penalties ``due`` this iteration
    (each with its factor: gamma / 2 times the lazy interval, or the gradient penalty's
    weight). Returns the loss (penalties in), D's outputs on real and fake, and the gradient
    norm before the update."""
    fake = step.fake(z)
    r, f = step.judge(real, fake)
    loss = step.d_objective(r, f)
    for p, weight in due:
        loss = loss + weight * step.penalty(p, points(p, real, fake, mix), weight)
    return loss, r, f, step.d_apply(loss)


def g_step(step: Primitives, z: Any, real: Any | None) -> tuple[Any, Any]:
    """One G update through D on G(z); ``real``: the last D step's real packs, for a
    relativistic loss (None otherwise). Returns the loss and the gradient norm before the
    update."""
    f, r = step.judge_generated(z, real)
    loss = step.g_objective(r, f)
    return loss, step.g_apply(loss)
