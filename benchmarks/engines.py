"""The same GAN on three engines: quality and speed of torch, keras and numpy.

    .venv/bin/python -m benchmarks.engines [--seeds 5] [--presets ring8 sine] [--jobs 2]

Writes benchmarks/results/engines.json and docs/benchmarks/engines.md. Quality: each engine
trains each preset over the same seeds through the full `gankit train` path; an engine
matches when its mean score lies within the spread (min..max) of the torch engine's seeds.
Speed: iterations per second of each engine on each toy preset, one core, measured back to
back in one process (best of three), so a noisy neighbour hits all alike.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.toy import machine
from gankit.config import load_config
from gankit.data import load_data
from gankit.engines import make_engine
from gankit.evaluate import evaluate
from gankit.training import start

ROOT = Path(__file__).resolve().parents[1]
ENGINES = ("torch", "keras", "numpy")
# the headline scores of each preset: (label, path into eval.json's scores)
MODES = [("modes", ("modes", "modes")), ("% high quality", ("modes", "high_quality")),
         ("reverse KL", ("modes", "reverse_kl"))]  # fmt: skip
HEADLINE = {
    "ring8": MODES,
    "grid25": MODES,
    "sine": [("distance to curve", ("sine", "curve_distance")),
             ("x coverage", ("sine", "x_coverage"))],
}  # fmt: skip


def _get(scores: dict, path: tuple[str, str]) -> float:
    v = scores[path[0]][path[1]]
    return 100 * v if path[1] == "high_quality" else float(v)


def one_run(preset: str, engine: str, seed: int, workdir: Path) -> dict:
    cfg = load_config(preset, [f"train.engine={engine}"], seed=seed)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    run = start(cfg, workdir / f"{preset}-{engine}-{seed}", progress=False)
    result = evaluate(run)
    return {"preset": preset, "engine": engine, "seed": seed,
            "cpu_s": time.process_time() - cpu0, "wall_s": time.perf_counter() - wall0,
            "scores": result["scores"]}  # fmt: skip


def speed(preset: str, iterations: int = 300) -> dict[str, float]:
    """Iterations per second of every engine on the preset's networks, best of three."""
    engines = {}
    for name in ENGINES:
        cfg = load_config(preset, [f"train.engine={name}", "train.threads=1"])
        data = load_data(cfg.data, cfg.seed, progress=False).train
        engines[name] = make_engine(cfg, data)
        engines[name].train(20)  # warm-up
    best = dict.fromkeys(ENGINES, 0.0)
    for _ in range(3):
        for name, e in engines.items():
            t = time.perf_counter()
            e.train(iterations)
            best[name] = max(best[name], iterations / (time.perf_counter() - t))
    return best


def write_markdown(results: dict) -> str:
    lines = [
        "# One GAN, three engines: torch, keras, numpy", "",
        f"Command: `{results['command']}`  ",
        f"Date: {results['date']}  ",
        f"Machine: {results['machine']}", "",
        f"Each preset trained with its own settings on every engine over seeds "
        f"0-{results['seeds'] - 1}; mean ± std over seeds, [min, max] in brackets. An engine "
        "matches torch when its mean lies inside torch's [min, max].", "",
    ]  # fmt: skip
    for preset, rows in HEADLINE.items():
        if preset not in results["quality"]:
            continue
        q = results["quality"][preset]
        lines += [f"## {preset}", "", "| engine | " + " | ".join(r[0] for r in rows)
                  + " | CPU s per run | matches torch |",
                  "| --- " * (len(rows) + 3) + "|"]  # fmt: skip
        torch_vals = {r[0]: q["torch"][r[0]] for r in rows}
        for engine in ENGINES:
            if engine not in q:
                continue
            cells, ok = [], True
            for label, _ in rows:
                v = q[engine][label]
                cells.append(f"{np.mean(v):.4g} ± {np.std(v):.2g} [{min(v):.4g}, {max(v):.4g}]")
                lo, hi = min(torch_vals[label]), max(torch_vals[label])
                ok &= lo - 1e-12 <= float(np.mean(v)) <= hi + 1e-12
            cpu = np.mean(q[engine]["cpu_s"])
            verdict = "—" if engine == "torch" else ("yes" if ok else "**no**")
            lines.append(f"| {engine} | " + " | ".join(cells) + f" | {cpu:.0f} | {verdict} |")
        lines.append("")
    lines += ["## Speed (iterations per second, one core)", "",
              "| preset | " + " | ".join(ENGINES) + " | numpy / torch |",
              "| --- " * (len(ENGINES) + 2) + "|"]  # fmt: skip
    for preset, sp in results["speed"].items():
        cells = " | ".join(f"{sp[e]:.0f}" for e in ENGINES)
        lines.append(f"| {preset} | {cells} | {sp['numpy'] / sp['torch']:.2f}x |")
    if results.get("notes"):
        lines += ["", "## Notes", "", *[f"* {n}" for n in results["notes"]]]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--presets", nargs="+", default=["ring8", "sine"])
    ap.add_argument("--speed-presets", nargs="+", default=["ring8", "grid25", "sine"])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "engines.md"))
    ap.add_argument("--render", action="store_true", help="rewrite the markdown from the JSON")
    args = ap.parse_args()
    res_file = ROOT / "benchmarks" / "results" / "engines.json"
    if args.render:
        Path(args.out).write_text(write_markdown(json.loads(res_file.read_text())))
        return
    results: dict = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "command": f"python -m benchmarks.engines --seeds {args.seeds} --presets "
        f"{' '.join(args.presets)} --jobs {args.jobs}",
        "seeds": args.seeds, "quality": {}, "speed": {}, "runs": [],
    }  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="gankit-engines-"))
    try:
        for preset in args.presets:
            jobs = [(preset, e, s) for e in ENGINES for s in range(args.seeds)]
            with ProcessPoolExecutor(args.jobs) as ex:
                runs = list(ex.map(one_run, *zip(*jobs, strict=True), [work] * len(jobs)))
            results["runs"] += runs
            q: dict = {}
            for r in runs:
                per = q.setdefault(r["engine"], {"cpu_s": []})
                per["cpu_s"].append(r["cpu_s"])
                for label, path in HEADLINE[preset]:
                    per.setdefault(label, []).append(_get(r["scores"], path))
            results["quality"][preset] = q
            print(preset, json.dumps(q), flush=True)
        for preset in args.speed_presets:
            results["speed"][preset] = speed(preset)
            print(preset, results["speed"][preset], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res_file.parent.mkdir(exist_ok=True)
    res_file.write_text(json.dumps(results, indent=2, default=float) + "\n")
    Path(args.out).write_text(write_markdown(results))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
