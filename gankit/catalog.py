"""A catalogue of the runs under a folder: ``gankit runs`` and ``gankit.runs()``.

A catalogue must list a hundred runs at once, including runs still training in another
process and runs a crash left half-written, so it reads only the small JSON files
(config.json, eval.json, doctor.json, the checkpoints' JSON) and never weights, metrics or
snapshots; whatever it cannot read it names ("unreadable") instead of failing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gankit.headline import headline_or_none

UNREADABLE = "unreadable"
NOT_DIAGNOSED = "not diagnosed"
HEALTHY = "healthy"


@dataclass(frozen=True)
class RunSummary:
    """One run as a catalogue line shows it."""

    name: str  # the folder's name; "SWEEP/VARIANT" for a run inside a sweep folder
    path: Path
    preset: str  # "?" when config.json cannot be read
    engine: str  # torch, keras or numpy ("?" when unknown)
    step: int  # step of the newest complete checkpoint, 0 when there is none
    steps: int  # planned train.steps (0 when unknown)
    headline: tuple[str, str, str] | None  # (score, value, real-data floor); None: no eval
    verdict: str  # "healthy", the findings' names joined, "not diagnosed" or "unreadable"
    started: str  # the date training began, YYYY-MM-DD ("" when unknown)


def is_run(path: Path) -> bool:
    return (path / "config.json").is_file()


def is_sweep(path: Path) -> bool:
    """A folder ``gankit sweep`` made: it records the sweep (sweep.json) or shows it."""
    return (path / "sweep.json").is_file() or (path / "sweep.gif").is_file()


def find_runs(root: str | Path) -> list[Path]:
    """The run directories under ``root`` (folders with a config.json, also inside sweep
    folders or any other subfolder), sorted by their path below root; ``root`` itself when
    it is a run. A run's own subfolders are not searched, and hidden folders are skipped."""
    root = Path(root)
    if is_run(root):
        return [root]
    found = []
    for folder, subdirs, _ in os.walk(root):
        here = Path(folder)
        if here != root and is_run(here):
            found.append(here)
            subdirs.clear()  # checkpoints/ and snapshots/ hold no runs
            continue
        subdirs[:] = [d for d in subdirs if not d.startswith(".")]
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _read_json(path: Path) -> tuple[Any, bool]:
    """(the parsed file, True) or (None, False) when it is missing, torn or not JSON."""
    try:
        return json.loads(path.read_text()), True
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None, False


def latest_step(run: Path) -> int:
    """The newest complete checkpoint's step (its JSON is written after its weights, so a
    JSON beside its weights marks a complete one), read from the file names alone."""
    steps = []
    for info in (run / "checkpoints").glob("step_*.json"):
        digits = info.stem.removeprefix("step_")
        if digits.isdigit() and info.with_suffix(".safetensors").is_file():
            steps.append(int(digits))
    return max(steps, default=0)


def score_rows(run: str | Path) -> tuple[list[tuple[str, str, str]], str]:
    """Every headline row of the run's eval.json as (score, value, real-data floor), and
    why there are none when there are none ("not evaluated", "eval.json unreadable")."""
    path = Path(run) / "eval.json"
    if not path.exists():
        return [], "not evaluated"
    result, ok = _read_json(path)
    if not ok or not isinstance(result, dict):
        return [], f"eval.json {UNREADABLE}"
    rows = headline_or_none(result)
    if rows is None:  # an eval.json of another version, or edited by hand: say so
        return [], f"eval.json {UNREADABLE}"
    return [(str(s), str(v), str(f)) for s, v, f in rows], ""


def _headline(run: Path) -> tuple[str, str, str] | None:
    rows, note = score_rows(run)
    if rows:
        return rows[0]
    return None if note == "not evaluated" else ("eval.json", UNREADABLE, "")


def _verdict(run: Path) -> str:
    path = run / "doctor.json"
    if not path.exists():
        return NOT_DIAGNOSED
    findings, ok = _read_json(path)
    if not ok or not isinstance(findings, list):
        return UNREADABLE
    names = [f.get("name") for f in findings if isinstance(f, dict)]
    if len(names) != len(findings) or not all(isinstance(n, str) for n in names):
        return UNREADABLE
    return ", ".join(dict.fromkeys(names)) if names else HEALTHY  # each name once, in order


def _name(run: Path) -> str:
    parent = run.parent
    return f"{parent.name}/{run.name}" if is_sweep(parent) else run.name


def summarize(path: str | Path) -> RunSummary:
    """What a catalogue line shows of the run at ``path``, from its small JSON files only.
    Never raises on a damaged run: what cannot be read shows as "?", 0 or "unreadable"."""
    run = Path(path)
    raw, ok = _read_json(run / "config.json")
    cfg = raw if ok and isinstance(raw, dict) else {}
    meta = cfg.get("meta") if isinstance(cfg.get("meta"), dict) else {}
    train = cfg.get("train") if isinstance(cfg.get("train"), dict) else {}
    steps = train.get("steps")
    engine = meta.get("engine") or train.get("engine") or "?"
    started = meta.get("started")
    return RunSummary(
        name=_name(run),
        path=run,
        preset=str(cfg.get("preset") or "?"),
        engine=str(engine),
        step=latest_step(run),
        steps=int(steps) if isinstance(steps, int) and not isinstance(steps, bool) else 0,
        headline=_headline(run),
        verdict=_verdict(run) if ok else UNREADABLE,
        started=str(started)[:10] if isinstance(started, str) else "",
    )


def score_text(headline: tuple[str, str, str] | None) -> str:
    """``distance to curve 0.0123 (floor 0.0041)``; "not evaluated" without scores."""
    if headline is None:
        return "not evaluated"
    score, value, floor = headline
    return f"{score} {value} (floor {floor})" if floor else f"{score} {value}"


def catalog_lines(summaries: list[RunSummary]) -> list[str]:
    """A header and one aligned line per run: name, preset, engine, steps done / planned,
    the headline score beside its floor, the doctor's verdict and the date."""
    header = ("run", "preset", "engine", "steps", "score (real-data floor)", "doctor", "date")
    rows = [header] + [
        (
            s.name,
            s.preset,
            s.engine,
            f"{s.step:,} / {s.steps:,}",
            score_text(s.headline),
            s.verdict,
            s.started,
        )
        for s in summaries
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    return [
        "  ".join([*(cell.ljust(w) for cell, w in zip(r, widths, strict=False)), r[-1]]).rstrip()
        for r in rows
    ]
