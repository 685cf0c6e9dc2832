"""The doctor: findings from a run's logged series, what went wrong, the numbers that show it,
and the exact commands that would likely fix it.

It reads only what the run directory holds (config.json, metrics.jsonl, eval.json), so it
works for any engine and for runs trained elsewhere. Each rule is a few vectorised NumPy
operations over the logged series (rules.py for the training statistics, collapse.py for
the samples' variety): diagnose() takes about 0.3 s on 100,000 logged rows, most of it
turning the rows into arrays. The training loop runs it as the run goes (LiveDoctor) and at
the end (gankit.outputs.finish), and ``gankit doctor RUN`` runs it on any run directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from gankit.config import IMAGE_DATA
from gankit.doctor.collapse import mode_collapse
from gankit.doctor.finding import Finding, Remedies, to_json
from gankit.doctor.rules import (
    discriminator_wins,
    divergence,
    non_convergence,
    vanishing_gradients,
)
from gankit.doctor.series import series
from gankit.losses import LOSSES
from gankit.run import RunDir

__all__ = ["Finding", "LiveDoctor", "diagnose", "diagnose_run", "to_json"]

# The live doctor judges a run once this share of its steps is done: the rules' windows and
# early levels need some history, and a GAN's first steps are its least settled.
LIVE_START_FRACTION = 0.2
# ... and says "does not converge" only from half of the steps on: the rule looks at the second
# half of the rows so far, and at 20 % that is the run's 10-20 %, where one transient spike
# (breakout-fast's D, around step 1,050 of 6,500 at three seeds of three, then settled) is
# no verdict on the run
LIVE_CONVERGENCE_FRACTION = 0.5


def diagnose(
    rows: list[dict[str, Any]],
    config: dict[str, Any],
    eval_result: dict[str, Any] | None = None,
    final: bool = True,
) -> list[Finding]:
    """The findings of a run: ``rows`` of metrics.jsonl, ``config`` as in config.json and
    optionally eval.json. A healthy run gives an empty list. ``final`` False judges a run
    still training (see gankit.doctor.collapse). Divergence comes first, since it
    explains the rest; vanishing gradients and "D wins" exclude each other (both have D
    winning; the first also has G's gradient gone, which changes the remedy)."""
    # the loss table's traits (a name it does not know, from a newer gankit: bce's)
    loss = LOSSES.get(str(config.get("loss", {}).get("name", "bce")), LOSSES["bce"])
    data_name = str(config.get("data", {}).get("name", ""))
    cmd = Remedies(config)
    steps, s = series(rows)
    out: list[Finding | None] = []
    if len(steps):
        out.append(divergence(steps, s, cmd))
        # the rules below judge a run by its finite rows; a NaN stop is divergence's
        ok = np.isfinite(s["d_loss"]) & np.isfinite(s["g_loss"])
        if not ok.all():
            steps, s = steps[ok], {k: v[ok] for k, v in s.items()}
    if len(steps):
        vanishing = vanishing_gradients(steps, s, loss, cmd)
        out.append(vanishing)
        if vanishing is None:
            out.append(discriminator_wins(steps, s, loss, cmd))
    out.append(non_convergence(steps, s, rows, loss, cmd))
    images = data_name in IMAGE_DATA
    out.append(mode_collapse(steps, s, rows, eval_result, cmd, data_name, images, final))
    return [f for f in out if f is not None]


def diagnose_run(run_dir: str | Path) -> list[Finding]:
    """Diagnose a run directory from its config.json, metrics.jsonl and eval.json."""
    run = RunDir.open(run_dir)
    eval_path = run.path / "eval.json"
    eval_result = None
    if eval_path.is_file():
        try:
            eval_result = json.loads(eval_path.read_text())
        except json.JSONDecodeError:
            eval_result = None  # a torn eval.json: judge the run by its metrics alone
    return diagnose(run.metrics(), run.raw_config(), eval_result)


class LiveDoctor:
    """The doctor during training: called with the rows logged so far, it returns the
    findings not reported before, once LIVE_START_FRACTION of the steps are done.
    ``reported``: the names already reported (a resumed run's, from its events)."""

    def __init__(
        self, config: dict[str, Any], total_steps: int, reported: set[str] | None = None
    ) -> None:
        self.config, self.start = config, LIVE_START_FRACTION * total_steps
        self.convergence_from = LIVE_CONVERGENCE_FRACTION * total_steps
        self.reported: set[str] = set(reported or ())

    def __call__(self, rows: list[dict[str, Any]], step: int) -> list[Finding]:
        if step < self.start:
            return []
        new = [
            f
            for f in diagnose(rows, self.config, final=False)
            if f.name not in self.reported
            and (f.name != "non_convergence" or step >= self.convergence_from)
        ]
        self.reported.update(f.name for f in new)
        return new
