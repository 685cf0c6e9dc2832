"""docs/problems.md's walk-throughs, written from the doctor's record.

    .venv/bin/python -m benchmarks.problems

Each section of docs/problems.md that shows a problem holds a block between
``<!-- walkthrough SCENARIO -->`` and ``<!-- /walkthrough -->``. This script rewrites every
such block from benchmarks/results/doctor.json (``python -m benchmarks.doctor``): the seed-0
run of the scenario, its command, its scores, what the doctor said (as ``gankit doctor``
prints it), the doctor's first remedy run as printed with its scores and findings, the two
runs' last pictures and the failing run's curves; and it says on how many seeds the doctor
named the problem. Nothing in a block is written by hand, so the page cannot drift from the
record.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from benchmarks.doctor import RESULTS, _base, _scores

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "problems.md"
BLOCK = re.compile(r"(<!-- walkthrough (\S+) -->\n)(.*?)(<!-- /walkthrough -->)", re.S)


def doctor_text(findings: list[dict]) -> str:
    """The findings as ``gankit doctor`` prints them (gankit/cli.py's doctor command)."""
    lines = []
    for f in findings:
        lo, hi = f["steps"]
        lines.append(f"{f['severity']}: {f['name']} (steps {lo:,}-{hi:,}) {f['summary']}")
        evidence = ", ".join(f"{k} = {v:.4g}" for k, v in f["evidence"].items())
        lines.append(f"  evidence: {evidence}")
        lines += [f"  try: {r}" for r in f["remedies"]]
    return "\n".join(lines) or "no problem found"


def walkthrough(scenario: str, runs: list[dict]) -> str:
    by_name = {r["name"]: r for r in runs}
    first = by_name.get(f"{scenario}-seed0")
    if first is None:
        raise SystemExit(f"{RESULTS} has no run {scenario}-seed0: run benchmarks.doctor first.")
    seeds = [r for r in runs if _base(r["name"]) == scenario and not r["fix_of"]]
    caught = sum(r["ok"] for r in seeds)
    fixed = by_name.get(f"{scenario}-seed0-fixed")
    pics = "benchmarks/doctor"
    out = [
        f"**Show it.** {first['why'][0].upper()}{first['why'][1:]}.",
        "",
        "```",
        f"$ {first['command']}",
        "```",
        "",
        f"Scores at the end: {_scores(first)}. What the doctor says, as `gankit doctor` prints it:",
        "",
        "```",
        doctor_text(first["findings"]),
        "```",
        "",
        f"Over seeds 0 to {len(seeds) - 1}, the doctor named {first['expect']} on {caught} "
        f"of {len(seeds)} runs ([the record](benchmarks/doctor.md)).",
        "",
    ]
    if fixed:
        out += [
            "**Fix it.** The doctor's first suggestion, run as printed:",
            "",
            "```",
            f"$ {fixed['command']}",
            "```",
            "",
            f"Scores after: {_scores(fixed)}. Findings after: "
            f"{', '.join(fixed['names']) or 'none'}.",
            "",
            "| built to fail | the first suggestion |",
            "| --- | --- |",
            f"| ![{scenario}: last]({pics}/{first['name']}/last.png) "
            f"| ![{scenario} fixed: last]({pics}/{fixed['name']}/last.png) |",
            "",
        ]
    out.append(
        f"The failing run's curves: ![{scenario}: curves]({pics}/{first['name']}/curves.png)"
    )
    return "\n".join(out) + "\n"


def main() -> None:
    runs = json.loads(RESULTS.read_text())["runs"]
    page = PAGE.read_text()
    blocks = BLOCK.findall(page)
    if not blocks:
        raise SystemExit(f"{PAGE} has no <!-- walkthrough SCENARIO --> block.")
    new = BLOCK.sub(lambda m: m[1] + walkthrough(m[2], runs) + m[4], page)
    PAGE.write_text(new)
    print(f"wrote {len(blocks)} walk-throughs into {PAGE}")


if __name__ == "__main__":
    main()
