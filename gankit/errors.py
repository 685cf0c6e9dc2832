"""The errors a user meets, each ending the CLI with its own exit code: a problem with
something the user gave (code 2), a run that diverged past its rollbacks (code 3), and the
stop a user asks for (Ctrl-C: code 130). Kept free of imports, so the CLI can catch them
before it loads anything heavy."""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """A problem with something the user gave (a path, key, value or file).

    Its message is one sentence naming the input and what would be accepted; no traceback."""


class Interrupted(Exception):
    """Training stopped on a signal; the run can be resumed from ``step``, its newest
    checkpoint (0: it starts again in place)."""

    def __init__(self, run: Any, step: int, text: str | None = None) -> None:
        super().__init__(
            text or f"interrupted at step {step}; continue with: gankit train --resume {run.path}"
        )
        self.run, self.step = run, step
        self.path = run.path  # the run directory: gankit.load(e.path).resume()


class Diverged(Exception):
    """Losses or weights became NaN/inf again after every rollback the loop allows; the
    checkpoints up to ``good`` (the last good step) are kept."""

    def __init__(self, run: Any, step: int, good: int, rollbacks: int) -> None:
        tried = f" after {rollbacks} rollbacks to step {good}" if rollbacks else ""
        kept = f"checkpoints up to step {good} are kept" if good else "no checkpoint was written"
        super().__init__(
            f"training diverged: losses or weights became NaN/inf at step {step}{tried}, so it "
            f"stopped ({kept}); try the doctor's remedies for "
            f"divergence (gankit doctor {run.path}): lower optim.g_lr and optim.d_lr, "
            "loss.name=wgan-gp or train.dtype=float64."
        )
        self.run, self.step, self.good = run, step, good
        self.path = run.path
