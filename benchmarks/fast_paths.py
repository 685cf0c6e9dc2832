"""Each of the torch engine's fast paths' own gain, per preset.

    .venv/bin/python -m benchmarks.fast_paths [--presets ring8 ...] [--device cpu]

Writes benchmarks/results/fast-paths.json and docs/benchmarks/fast-paths.md. Each row is one
``gankit bench --ablate`` measurement (gankit.bench.ablate: the engine with every fast path
that applies, and with each one off and every other allowed, same weights, best of five
interleaved windows). A fast path that gains under 10 % on every preset should go.
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
DEFAULT = ["ring8", "grid25", "sine", "digits", "stacked-digits", "folder", "breakout-fast"]
# a CPU iteration of the folder preset's 64x64 nets takes seconds at its batch: a smaller one
# keeps the benchmark within minutes (the row says which batch)
CPU_BATCH = {"folder": 16, "breakout-fast": 16}
KEEP = 0.10  # a fast path that gains less than this on every preset goes (issue 16)


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
    for r in rows:
        gains = [f"{100 * r['gain'][n]:+.0f} %" if n in r["gain"] else "—" for n in FAST_PATHS]
        lines.append(
            f"| {r['preset']} | {r['batch']} | {r['unit']} | {r['all']:g} | "
            + " | ".join(gains)
            + " |"
        )
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
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=DEFAULT)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "fast-paths.md"))
    ap.add_argument("--render", action="store_true", help="rewrite the markdown from the JSON")
    args = ap.parse_args()
    if args.render:
        Path(args.out).write_text(write_markdown(json.loads(RESULTS.read_text())))
        return
    rows = []
    for preset in args.presets:
        batch = CPU_BATCH.get(preset) if args.device == "cpu" else None
        (cfg,) = bench_configs([preset], batch, args.device)
        rows.append(ablate(cfg))
        print(json.dumps(rows[-1]), flush=True)
    results = {
        "command": f"python -m benchmarks.fast_paths --device {args.device} --presets "
        + " ".join(args.presets),
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "rows": rows,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    Path(args.out).write_text(write_markdown(results))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
