"""Each of the torch engine's fast paths' own gain, per preset.

    .venv/bin/python -m benchmarks.fast_paths [--presets ring8 ...] [--device cpu] [--merge]

Writes benchmarks/results/fast-paths.json and docs/benchmarks/fast-paths.md. Each row is one
``gankit bench --ablate`` measurement (gankit.bench.ablate: the engine with every fast path
that applies, and with each one off and every other allowed, same weights, best of five
interleaved windows). A fast path that gains under 10 % on every preset should go. With
--merge, the presets measured replace their rows in the results already written (each row
keeps the command and date it was measured with).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from benchmarks.toy import machine
from gankit.bench import ablate, bench_configs
from gankit.config import FAST_PATHS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "fast-paths.json"
DEFAULT = [
    "ring8",
    "grid25",
    "sine",
    "digits",
    "stacked-digits",
    "folder",
    "breakout-fast",
    "breakout-wgan",
]
# a CPU iteration of the folder preset's 64x64 nets takes seconds at its batch: a smaller one
# keeps the benchmark within minutes (the row says which batch)
CPU_BATCH = {"folder": 16, "breakout-fast": 16}
KEEP = 0.10  # a fast path that gains less than this on every preset goes (issue 16)
# fast paths this benchmark removed, with the measurement that removed them
REMOVED = {
    "r1_from_pass": "R1 from D's forward pass: best +8 % (folder), under 10 % everywhere; "
    "removed 2026-12-03",
}


def write_markdown(results: dict) -> str:
    rows = results["rows"]
    head = " | ".join(f"`{n}`" for n in FAST_PATHS)
    lines = [
        "# The torch engine's fast paths, one by one",
        "",
        f"Command: `{results['command']}`  ",
        f"Date: {results['date']}  ",
        f"Machine: {results['machine']}",
        "",
        "Each fast path (`gankit/engines/torch/fast_paths.py`) computes what plain autograd and "
        "`optimizer.step()` compute, up to float rounding. A gain is the engine's rate with "
        "every fast path that applies over its rate with that one off and every other "
        "allowed (without the steps by hand, R1 takes D's transpose where it can), minus 1 "
        "(`gankit bench --ablate`, `train.fast_paths`); — where it does not apply. "
        "Image data is random (speed only).",
        "",
        f"| preset | batch | unit | all on | {head} |",
        "| --- | --- | --- | --- | " + " | ".join("---" for _ in FAST_PATHS) + " |",
    ]
    others = []
    for r in rows:
        gains = [f"{100 * r['gain'][n]:+.0f} %" if n in r["gain"] else "—" for n in FAST_PATHS]
        mark = ""
        if r.get("command", results["command"]) != results["command"]:
            others.append(r)
            mark = f" [{len(others)}]"
        lines.append(
            f"| {r['preset']}{mark} | {r['batch']} | {r['unit']} | {r['all']:g} | "
            + " | ".join(gains)
            + " |"
        )
    if others:
        lines.append("")
        for i, r in enumerate(others, 1):
            lines.append(f"[{i}] measured with `{r['command']}` on {r['date']}.  ")
    lines += ["", "## Which stay", ""]
    for n in FAST_PATHS:
        seen = [r["gain"][n] for r in rows if n in r["gain"]]
        if not seen:
            lines.append(f"* `{n}`: applies to none of these presets.")
            continue
        best = max(seen)
        where = next(r["preset"] for r in rows if r["gain"].get(n) == best)
        verdict = "stays" if best >= KEEP else f"gains under {100 * KEEP:.0f} % everywhere"
        lines.append(f"* `{n}`: best {100 * best:+.0f} % ({where}); {verdict}.")
    lines += [f"* `{n}` (gone): {why}." for n, why in REMOVED.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=DEFAULT)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "fast-paths.md"))
    ap.add_argument("--render", action="store_true", help="rewrite the markdown from the JSON")
    ap.add_argument(
        "--merge", action="store_true", help="replace these presets' rows in the results so far"
    )
    args = ap.parse_args()
    if args.render:
        Path(args.out).write_text(write_markdown(json.loads(RESULTS.read_text())))
        return
    command = f"python -m benchmarks.fast_paths --device {args.device} --presets " + " ".join(
        args.presets
    )
    date = time.strftime("%Y-%m-%d")
    rows = []
    for preset in args.presets:
        batch = CPU_BATCH.get(preset) if args.device == "cpu" else None
        (cfg,) = bench_configs([preset], batch, args.device)
        rows.append(
            {**ablate(cfg), "command": command + (" --merge" if args.merge else ""), "date": date}
        )
        print(json.dumps(rows[-1]), flush=True)
    results = {"command": command, "date": date, "machine": machine(), "rows": rows}
    if args.merge and RESULTS.exists():
        results = json.loads(RESULTS.read_text())
        measured = {r["preset"]: r for r in rows}
        kept = [measured.pop(r["preset"], r) for r in results["rows"]]
        results["rows"] = kept + list(measured.values())
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    Path(args.out).write_text(write_markdown(results))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
