"""The one error type a user can cause (the CLI prints its message and exits with code 2), and
the stop a user asks for (Ctrl-C: exit code 130). Kept free of imports, so the CLI can catch
them before it loads anything heavy."""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """A problem with something the user gave (a path, key, value or file).

    Its message is one sentence naming the input and what would be accepted; no traceback."""


class Interrupted(Exception):
    """Training stopped on a signal after saving a checkpoint; the run can be resumed."""

    def __init__(self, run: Any, step: int) -> None:
        super().__init__(
            f"interrupted at step {step}; continue with: gankit train --resume {run.path}"
        )
        self.run, self.step = run, step
        self.path = run.path  # the run directory: gankit.load(e.path).resume()
