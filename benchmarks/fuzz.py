"""A longer fuzz run: tests/fuzzing.py's properties with many examples each.

    .venv/bin/python -m benchmarks.fuzz [--scale 1.0] [--seed 0]

Each property draws its examples at random from ``--seed`` (hypothesis' random search,
not the derandomised examples of tests/test_fuzz.py): ``--set`` values, config files, point
files, and one to three damaged files of a finished tiny run under a command (eval,
doctor, report, sample, train --resume). A property that fails prints hypothesis' smallest
failing example and the run carries on with the next. Writes docs/benchmarks/fuzz.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the properties and the tiny configs live there

# the examples each property gets at --scale 1
EXAMPLES = {"set values": 3000, "config files": 1000, "point files": 1000, "run damage": 300}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="Times the examples above.")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "fuzz.md")
    args = ap.parse_args()

    from conftest import QUICK_OUTPUTS, SMALL_DATA, TINY_NETS
    from fuzzing import config_files, points_files, run_damage, set_values, with_examples

    from benchmarks.toy import machine
    from gankit import training
    from gankit.config import load_config
    from gankit.outputs import finish

    tmp = Path(tempfile.mkdtemp(prefix="gankit-fuzz-"))
    cfg = load_config("sine", [*TINY_NETS, *SMALL_DATA, *QUICK_OUTPUTS, "train.steps=20"])
    run = training.start(cfg, tmp / "r", progress=False)
    finish(run)

    props = {
        "set values": lambda n, seed: with_examples(set_values, n, seed)(),
        "config files": lambda n, seed: with_examples(config_files, n, seed)(),
        "point files": lambda n, seed: with_examples(points_files, n, seed)(),
        "run damage": lambda n, seed: run_damage(run.path, n, seed),
    }
    rows = []
    for name, prop in props.items():
        n = max(1, round(EXAMPLES[name] * args.scale))
        tic = time.perf_counter()
        try:
            prop(n, args.seed)
            failure = ""
        except Exception as e:  # a property that failed: its smallest example, and go on
            failure = "".join(traceback.format_exception_only(type(e), e)).strip()
            print(f"{name}: FAILED\n{failure}", flush=True)
        wall = time.perf_counter() - tic
        rows.append((name, n, wall, failure))
        print(f"{name}: {n} examples in {wall:.1f} s {'(failed)' if failure else 'ok'}", flush=True)

    lines = [
        "# Fuzzing: what a user can hand gankit",
        "",
        "`python -m benchmarks.fuzz` (the properties of `tests/fuzzing.py`, random examples "
        f"from seed {args.seed}; `tests/test_fuzz.py` runs a few of each in `make test`).",
        "Each asserts that gankit takes the input or answers it in one sentence (exit 2, or 3 "
        "for a run that diverged), never with a traceback, that a refusal by a command that only "
        "reads a run leaves its directory as it was, and that a run's weights are never "
        "rewritten otherwise than bit for bit (a damaged one may be trained again).",
        "",
        f"Machine: {machine()}; {time.strftime('%Y-%m-%d')}. Wall times are of a machine shared "
        "with other work (several times an idle one's).",
        "",
        "| property | examples | wall s | result |",
        "| --- | ---: | ---: | --- |",
    ]
    for name, n, wall, failure in rows:
        result = "no failure" if not failure else f"failed: `{failure.splitlines()[0][:120]}`"
        lines.append(f"| {name} | {n:,} | {wall:.0f} | {result} |")
    lines += [
        "",
        "What the first runs found, each fixed with its regression test: CSVs in UTF-16 or "
        "binary (UnicodeDecodeError), complex points cast to their real part, values past "
        "float32's range becoming inf, an empty .npy (typer's `Aborted.`), a torn snapshot "
        "(BadZipFile in `gankit report`, a failed finish), a missing real.npz after a resume.",
        "",
    ]
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
