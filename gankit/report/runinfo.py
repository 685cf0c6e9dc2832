"""Everything the report shows, read once from the run directory.

A report is most wanted for runs that went wrong or are not finished, so every part may be
missing or torn (no eval.json, no snapshots yet, a half-written metrics line, an old run
without the newer statistics) and each section then says what is missing instead of failing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gankit.config import IMAGE_DATA
from gankit.doctor import Finding, diagnose_run
from gankit.run import RunDir
from gankit.viz.curves import read_metrics
from gankit.viz.palette import PALETTES, SEED, Palette

Series = dict[str, tuple[np.ndarray, np.ndarray]]

# eval fields that are fixed by the protocol or are spreads, not scores worth a curve
_NOT_A_SCORE_CURVE = ("n_modes", "std")


@dataclass
class RunInfo:
    """The run directory's contents in the shapes the sections need."""

    path: Path
    config: dict[str, Any]  # config.json without "meta"
    meta: dict[str, Any]  # versions, engine, device, start time
    series: Series  # metrics.jsonl: key -> (steps, values), NaN for null
    layer_grads: Series  # "G.fc0" -> (steps, values)
    eval_series: Series  # "w1", "modes.high_quality" -> (steps, values) from eval rows
    eval_result: dict[str, Any] | None  # eval.json
    eval_note: str  # why there is no eval_result, when there is none
    findings: list[Finding]
    doctor_note: str  # why there are no findings to show, when the doctor failed
    events: list[dict[str, Any]]
    steps_done: int
    is_image: bool
    palette: Palette = SEED  # viz.palette: the colours of real, fooled-D and caught points
    notes: list[str] = field(default_factory=list)

    @property
    def steps_total(self) -> int | None:
        total = self.config.get("train", {}).get("steps")
        return int(total) if isinstance(total, int | float) else None


def _layer_grads(rows: list[dict[str, Any]]) -> Series:
    """Per-layer gradient norms from rows that carry a ``layer_grads`` dict."""
    found: dict[str, tuple[list[float], list[float]]] = {}
    for row in rows:
        grads, step = row.get("layer_grads"), row.get("step")
        if not isinstance(grads, dict) or not isinstance(step, int | float):
            continue
        for name, value in grads.items():
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            xs, ys = found.setdefault(str(name), ([], []))
            xs.append(float(step))
            ys.append(float(value) if ok and math.isfinite(value) else math.nan)
    return {k: (np.asarray(xs), np.asarray(ys)) for k, (xs, ys) in sorted(found.items())}


def _eval_series(rows: list[dict[str, Any]]) -> Series:
    """The scalar scores of every ``eval`` row: "w1" for a score's value, "modes.modes" and
    the like for scores with several numbers."""
    found: dict[str, dict[float, float]] = {}
    for row in rows:
        scores, step = row.get("eval"), row.get("step")
        if not isinstance(scores, dict) or not isinstance(step, int | float):
            continue
        for score, fields in scores.items():
            if not isinstance(fields, dict):
                continue
            for name, value in fields.items():
                if name in _NOT_A_SCORE_CURVE or isinstance(value, bool):
                    continue
                if value is None or isinstance(value, int | float):
                    key = score if name == "value" else f"{score}.{name}"
                    v = math.nan if value is None else float(value)
                    found.setdefault(key, {})[float(step)] = v  # a re-evaluation replaces
    out = {}
    for key, by_step in found.items():
        xs = np.asarray(sorted(by_step))
        out[key] = (xs, np.asarray([by_step[x] for x in xs]))
    return out


def _read_eval(path: Path) -> tuple[dict[str, Any] | None, str]:
    if not path.is_file():
        return None, "missing"
    try:
        result = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        return None, f"eval.json is unreadable ({e})"
    if not isinstance(result, dict):
        return None, "eval.json does not hold a JSON object"
    return result, ""


def load_run(run_dir: str | Path) -> RunInfo:
    """Read the run; raises UserError only when ``run_dir`` is not a run directory at all."""
    run = RunDir.open(run_dir)
    raw = run.raw_config()
    meta = raw.pop("meta", {}) if isinstance(raw.get("meta"), dict) else {}
    rows = [r for r in run.metrics() if isinstance(r, dict)]
    series = read_metrics(run.metrics_file) if run.metrics_file.is_file() else {}
    eval_result, eval_note = _read_eval(run.path / "eval.json")
    try:
        findings, doctor_note = diagnose_run(run.path), ""
    except Exception as e:  # the page must still show the run when a doctor rule breaks
        findings, doctor_note = [], f"the doctor failed on this run: {type(e).__name__}: {e}"
    train_steps = [r["step"] for r in rows if "d_loss" in r and isinstance(r.get("step"), int)]
    snaps = run.snapshot_steps()
    done = max(train_steps or snaps or [0])
    return RunInfo(
        path=run.path,
        config=raw,
        meta=meta,
        series=series,
        layer_grads=_layer_grads(rows),
        eval_series=_eval_series(rows),
        eval_result=eval_result,
        eval_note=eval_note,
        findings=findings,
        doctor_note=doctor_note,
        events=[e for e in run.events() if isinstance(e, dict)],
        steps_done=int(done),
        is_image=str(raw.get("data", {}).get("name", "")) in IMAGE_DATA,
        # a run from before viz.palette, or a hand-edited unknown name: the seed's colours
        palette=PALETTES.get(str((raw.get("viz") or {}).get("palette")), SEED),
    )
