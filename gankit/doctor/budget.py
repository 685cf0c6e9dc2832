"""A run's budget and age: the steps it planned, its preset's own, the steps it has logged,
and whether the signals it would be judged by have settled.

A GAN's early rows look like failures: G starts near one point (diversity 0.1), reaches a
few modes before all of them, and its losses swing before they settle. The presets' steps
are the budgets their recipes were tested with, so a run is judged against its preset's
steps: before JUDGE_FROM of them it is "too early to judge", whatever it planned, and
a run shorter than its preset whose signals are still rising is too early as well.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

import numpy as np

from gankit.doctor.finding import Finding, Remedies
from gankit.doctor.series import median

# The share of its preset's steps after which a run is judged by every rule: grid25 wanders
# between 5 and 9 of its 25 modes around 15 % of its steps and reaches all 25 by 45 %;
# breakout-fast's D spikes once around 16 % and settles. Divergence and vanishing
# gradients are judged at any age: no healthy run shows either, early or late.
JUDGE_FROM = 0.5
# The rules that wait for that age; the others (divergence, vanishing gradients) do not.
WAITING = {"mode_collapse", "non_convergence", "discriminator_wins", "far_from_data"}
# A signal still rising: its median over the last sixth of the rows at least this much above
# its median over the sixth before (a count of modes or classes, diversity): G is still
# finding what the finding says it lacks.
STILL_RISING = 1.1


@dataclass(frozen=True)
class Budget:
    planned: int  # train.steps of the run's config
    reference: int  # its preset's train.steps (the planned steps when the preset is unknown)
    done: int  # the last logged step

    @property
    def finished(self) -> bool:
        """Trained its planned steps (a run cut short, or still training, has not)."""
        return self.done >= self.planned

    @property
    def too_early(self) -> bool:
        return self.done < JUDGE_FROM * self.reference


def budget(config: dict[str, Any], steps: np.ndarray) -> Budget:
    """``config`` as in config.json, ``steps`` the logged training rows' steps."""
    from gankit.config import load_config
    from gankit.errors import UserError

    done = int(steps[-1]) if len(steps) else 0
    planned = config.get("train", {}).get("steps")
    planned = int(planned) if planned is not None else done  # no plan on record: done
    try:
        reference = load_config(str(config.get("preset", ""))).train.steps
    except UserError:  # a config from elsewhere: its own plan is the budget
        reference = planned
    return Budget(planned, int(reference), done)


def still_rising(s: dict[str, np.ndarray]) -> list[str]:
    """The variety signals (modes, classes, diversity) still rising at the last rows."""
    out = []
    for key in ("modes", "classes", "diversity"):
        x = s[key][np.isfinite(s[key])]
        k = len(x) // 6
        if k >= 2 and median(x[-k:]) >= STILL_RISING * median(x[-2 * k : -k]):
            out.append(key)
    return out


def too_early(b: Budget, held: list[Finding], cmd: Remedies, run: str | None) -> Finding:
    """What a run too young to judge gets instead of the ``held`` findings: its age, what
    they saw so far, and the commands that train it for its preset's steps."""
    cmd = cmd.blaming("too_early")  # its own train.steps: the remedies leave it out
    remedies = [cmd()]
    if run is not None:  # or go on from its last checkpoint
        more = [] if b.planned >= b.reference else ["--set", f"train.steps={b.reference}"]
        remedies.append(shlex.join(["gankit", "train", "--resume", run, *more]))
    seen = "; ".join(f.summary[:1].lower() + f.summary[1:].rstrip(".") for f in held)
    share = 100 * b.done / b.reference
    return Finding(
        name="too_early",
        severity="info",
        steps=(b.done, b.done),
        evidence={
            "steps_done": float(b.done),
            "steps_planned": float(b.planned),
            "preset_steps": float(b.reference),
        },
        summary=(
            f"Too early to judge: the run trained {b.done:,} steps, {share:.0f} % of its "
            f"preset's {b.reference:,}"
            + (f"; so far: {seen}." if seen else "; nothing looks wrong so far.")
        ),
        remedies=remedies,
        series=sorted({k for f in held for k in f.series}) or ["d_loss", "g_loss"],
    )
