"""``gankit compare``: several runs on one page, and the score table ``gankit sweep`` prints.

What is compared is read from the run directories only (config.json, metrics.jsonl,
eval.json, doctor.json, snapshots/), so runs of different engines, presets or machines
compare alike. The page itself is drawn by compare_page.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gankit.catalog import RunSummary, score_rows, summarize
from gankit.errors import UserError
from gankit.run import RunDir, atomic_write

if TYPE_CHECKING:
    from rich.table import Table

MISSING = "—"  # a key one run has and another lacks, or a score a run has not got


@dataclass(frozen=True)
class ComparedRun:
    """What the page and the table need of one run."""

    label: str  # the name in legends and column heads
    path: Path
    summary: RunSummary
    config: dict[str, Any]  # flattened: "model.latent_dim" -> 20
    scores: list[tuple[str, str, str]]  # eval.json's headline rows (score, value, floor)
    scores_note: str  # why there are no scores, when there are none


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """``{"model": {"latent_dim": 2}}`` -> ``{"model.latent_dim": 2}``; lists stay values."""
    if not isinstance(obj, dict):
        return {prefix: obj}
    flat: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(flatten(value, name))
        else:
            flat[name] = value
    return flat


def _labels(paths: list[Path]) -> list[str]:
    """Each run's folder name, with its parent's where two runs share a name."""
    names = [p.name for p in paths]
    return [f"{p.parent.name}/{p.name}" if names.count(p.name) > 1 else p.name for p in paths]


def load_runs(
    paths: Sequence[str | Path], labels: Sequence[str] | None = None
) -> list[ComparedRun]:
    """The runs to compare; UserError for fewer than two or a path that is not a run."""
    if len(paths) < 2:
        raise UserError(
            f"compare takes two or more run directories and got {len(paths)}; "
            "give several, like gankit compare runs/00000-sine-torch runs/00001-sine-numpy."
        )
    runs = [RunDir.open(p).path for p in paths]
    labels = list(labels) if labels is not None else _labels(runs)
    if len(labels) != len(runs):
        raise UserError(f"{len(labels)} labels were given for {len(runs)} runs; give one each.")
    out = []
    for path, label in zip(runs, labels, strict=True):
        try:
            raw = json.loads((path / "config.json").read_text())
        except (OSError, ValueError):
            raw = {}
        config = raw if isinstance(raw, dict) else {}
        config.pop("meta", None)  # versions, host and start time differ in any two runs
        scores, note = score_rows(path)
        out.append(ComparedRun(label, path, summarize(path), flatten(config), scores, note))
    return out


def differing_keys(runs: Sequence[ComparedRun]) -> list[tuple[str, list[str]]]:
    """The dotted config keys whose values differ between the runs, with every run's value
    (as JSON, or MISSING where a run has no such key), in the config's own order."""
    keys = list(dict.fromkeys(k for r in runs for k in r.config))
    out = []
    for key in keys:
        values = [
            json.dumps(r.config[key], ensure_ascii=False) if key in r.config else MISSING
            for r in runs
        ]
        if len(set(values)) > 1:
            out.append((key, [v.strip('"') for v in values]))
    return out


def score_grid(runs: Sequence[ComparedRun]) -> list[tuple[str, list[tuple[str, str] | None]]]:
    """Every headline row of every run: (score, per run (value, floor) or None where the run
    has no such score), scores in the order the runs first show them."""
    names = list(dict.fromkeys(s for r in runs for s, _, _ in r.scores))
    by_run = [{s: (v, f) for s, v, f in r.scores} for r in runs]
    return [(name, [row.get(name) for row in by_run]) for name in names]


def score_table(runs: Sequence[ComparedRun], title: str = "scores side by side") -> Table:
    """The scores side by side, one column per run, each value beside its real-data floor:
    what ``gankit sweep`` prints at the end (the page shows the same grid)."""
    from rich.table import Table

    table = Table(title=title, header_style="bold")
    table.add_column("score")
    for r in runs:
        table.add_column(f"{r.label}\nvalue (real data)", justify="right", overflow="fold")
    for name, cells in score_grid(runs):
        table.add_row(name, *(_cell(c) for c in cells))
    notes = [r.scores_note for r in runs]
    if any(notes):
        table.add_row("", *(n for n in notes))
    return table


def _cell(cell: tuple[str, str] | None) -> str:
    if cell is None:
        return MISSING
    value, floor = cell
    return f"{value} ({floor})" if floor else value


def write_compare(
    paths: Sequence[str | Path], out: str | Path, labels: Sequence[str] | None = None
) -> Path:
    """Write one self-contained HTML page comparing the runs at ``paths``; returns its path."""
    from gankit.compare_page import render

    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"--out {out} should end in .html; the comparison is a web page.")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: the folder {out.parent} does not exist.")
    runs = load_runs(paths, labels)
    atomic_write(out, render(runs, differing_keys(runs), score_grid(runs), out).encode("utf-8"))
    return out
