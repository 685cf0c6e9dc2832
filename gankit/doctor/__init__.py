"""The doctor: findings from a run's logged series, what went wrong, the numbers that show it,
and the exact commands that would likely fix it.

It reads only what the run directory holds (config.json, metrics.jsonl, eval.json), so it
works for any engine and for runs trained elsewhere. Each rule is a few vectorised NumPy
operations over the logged series (rules.py for the training statistics, collapse.py for
the samples' variety, fit.py for the scores beside their real-data floors), judged by the
run's age (budget.py: a run too young gets "too early to judge"): diagnose() takes about
0.3 s on 100,000 logged rows, most of it turning the rows into arrays. The training loop
runs it as the run goes (LiveDoctor) and at the end (gankit.outputs.finish), and ``gankit
doctor RUN`` runs it on any run directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from gankit.config import IMAGE_DATA
from gankit.doctor.budget import WAITING, budget, still_rising, too_early
from gankit.doctor.collapse import mode_collapse
from gankit.doctor.finding import Finding, Remedies, to_json
from gankit.doctor.fit import far_from_data
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


def diagnose(
    rows: list[dict[str, Any]],
    config: dict[str, Any],
    eval_result: dict[str, Any] | None = None,
    run: str | None = None,
) -> list[Finding]:
    """The findings of a run: ``rows`` of metrics.jsonl, ``config`` as in config.json and
    optionally eval.json; ``run``, its directory, for the remedy that resumes it. A healthy
    run gives an empty list. The rows say how far the run got (gankit.doctor.budget): one
    that has not trained its planned steps is judged as still training, and one too young
    to judge gets "too_early" with what the waiting rules saw so far. Divergence comes
    first, since it explains the rest; vanishing gradients and "D wins" exclude each other
    (both have D winning; the first also has G's gradient gone, which changes the
    remedy)."""
    # the loss table's traits (a name it does not know, from a newer gankit: bce's)
    loss = LOSSES.get(str(config.get("loss", {}).get("name", "bce")), LOSSES["bce"])
    data_name = str(config.get("data", {}).get("name", ""))
    cmd = Remedies(config)
    steps, s = series(rows)
    b = budget(config, steps)
    final = b.finished
    diverged = divergence(steps, s, loss, cmd.blaming("divergence"), eval_result)
    out: list[Finding | None] = [diverged]
    if len(steps):
        # the rules below judge a run by its finite rows; a NaN stop is divergence's
        ok = np.isfinite(s["d_loss"]) & np.isfinite(s["g_loss"])
        if not ok.all():
            steps, s = steps[ok], {k: v[ok] for k, v in s.items()}
    if len(steps):
        vanishing = vanishing_gradients(steps, s, loss, cmd.blaming("vanishing_gradients"))
        out.append(vanishing)
        if vanishing is None:
            out.append(discriminator_wins(steps, s, loss, cmd.blaming("discriminator_wins")))
    out.append(non_convergence(steps, s, rows, loss, cmd.blaming("non_convergence")))
    images = data_name in IMAGE_DATA
    collapse = cmd.blaming("mode_collapse")
    out.append(mode_collapse(steps, s, rows, eval_result, collapse, data_name, images, final))
    if out[0] is None:  # far from the data is no news when the run diverged
        out.append(far_from_data(eval_result, cmd.blaming("far_from_data")))
    found = [f for f in out if f is not None]
    # too young to judge: the waiting rules' findings become what they saw so far, also in
    # a run shorter than its preset whose variety is still rising (G still finding modes is
    # still coming nearer the data, too: one verdict, not "too early" beside a warning)
    young = b.too_early or (b.done < b.reference and len(steps) and still_rising(s))
    held = {f.name for f in found if f.name in WAITING} if young else set()
    kept = [f for f in found if f.name not in held]
    for f in kept:
        f.summary += cmd.blaming(f.name).why()
    if held and diverged is None:  # a diverged run is over, not young: divergence says why
        kept.append(too_early(b, [f for f in found if f.name in held], cmd, run))
    return kept


def diagnose_run(run_dir: str | Path) -> list[Finding]:
    """Diagnose a run directory from its config.json, metrics.jsonl and eval.json."""
    run = RunDir.open(run_dir)
    eval_path = run.path / "eval.json"
    eval_result = None
    if eval_path.is_file():
        try:
            eval_result = json.loads(eval_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            eval_result = None  # a torn eval.json: judge the run by its metrics alone
        if not isinstance(eval_result, dict):
            eval_result = None  # nor is anything but an object the scores
    return diagnose(run.metrics(), run.raw_config(), eval_result, str(run.path))


class LiveDoctor:
    """The doctor during training: :func:`diagnose` on the rows logged so far, the same
    judgement ``gankit doctor`` gives a copy of the run cut at that step. It returns the
    problems not reported before ("too early" is no news while the run trains).
    ``reported``: the names already reported (a resumed run's, from its events)."""

    def __init__(self, config: dict[str, Any], reported: set[str] | None = None) -> None:
        self.config = config
        self.reported: set[str] = set(reported or ())

    def __call__(self, rows: list[dict[str, Any]]) -> list[Finding]:
        new = [
            f
            for f in diagnose(rows, self.config)
            if f.name not in self.reported and f.name != "too_early"
        ]
        self.reported.update(f.name for f in new)
        return new
