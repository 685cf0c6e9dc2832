"""Ring8 and grid25 over 20 seeds, beside PacGAN's published Table 1.

    .venv/bin/python -m benchmarks.toy [--seeds 20] [--presets ring8 grid25 sine]
        [--variants rpgan]

Each mode preset is measured as shipped and with each variant of VARIANTS (the same preset
with another loss or penalty: R3GAN's baseline, RpGAN + R1 + R2, by default).

Writes benchmarks/results/toy.json and docs/benchmarks/toy.md. Each run is the full
`gankit train` path (training loop, snapshots, checkpoints) plus `gankit eval`, timed in
process CPU seconds (all threads) and wall seconds; pictures are not drawn.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

from gankit.bench import measure
from gankit.config import load_config
from gankit.evaluate import evaluate
from gankit.training import start

ROOT = Path(__file__).resolve().parents[1]
PACGAN = {  # Lin et al. 2018, Table 1: modes / % high quality / reverse KL
    "ring8": {"GAN": (6.3, 98.2, 0.45), "PacGAN2": (7.9, 95.6, 0.07),
              "PacGAN3": (7.8, 97.7, 0.10), "PacGAN4": (7.8, 95.9, 0.07)},
    "grid25": {"GAN": (17.3, 94.8, 0.70), "PacGAN2": (23.8, 91.3, 0.13),
               "PacGAN3": (24.6, 94.2, 0.06), "PacGAN4": (24.8, 93.6, 0.04)},
}  # fmt: skip

# Methods measured beside a mode preset: a label, and the overrides they add to the preset
# (given its config). rpgan: the relativistic pairing loss with R1 and R2 of the preset's own
# gamma and interval, R3GAN's baseline (Huang et al., NeurIPS 2024), everything else as shipped
VARIANTS = {
    "rpgan": (
        "RpGAN + R1 + R2",
        lambda cfg: ["loss.name=rpgan", f"loss.r2={cfg.loss.r1:g}",
                     f"loss.r2_every={cfg.loss.r1_every}"],
    ),
}  # fmt: skip


def one_run(preset: str, seed: int, workdir: Path, overrides: list[str], tag: str) -> dict:
    cfg = load_config(preset, overrides, seed=seed)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    run = start(cfg, workdir / f"{preset}-{tag}-{seed}", progress=False)
    result = evaluate(run)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    rates = [r["steps_per_s"] for r in run.metrics() if "steps_per_s" in r]
    return {"seed": seed, "cpu_s": cpu, "wall_s": wall, "steps": cfg.train.steps,
            "steps_per_s": float(np.median(rates)), "scores": result["scores"],
            "sampler": result["sampler"],
            "every_draw": result.get("scores_every_draw")}  # fmt: skip


def loop_speed(preset: str, overrides: list[str], iterations: int = 300) -> dict:
    """gankit's engine and the plain loop on the same networks, measured back to back
    (gankit.bench: warm-up, then best of three interleaved windows)."""
    row = measure(load_config(preset, [*overrides, "train.device=cpu"]), iterations)
    return {"gankit_steps_per_s": row["gankit"], "plain_steps_per_s": row["plain"],
            "ratio": row["ratio"]}  # fmt: skip


def _mode_scores(m: list[dict]) -> dict:
    return {"modes": [x["modes"] for x in m], "high_quality": [100 * x["high_quality"] for x in m],
            "reverse_kl": [x["reverse_kl"] for x in m]}  # fmt: skip


def summarise(preset: str, runs: list[dict]) -> dict:
    out: dict = {"cpu_s": [r["cpu_s"] for r in runs], "wall_s": [r["wall_s"] for r in runs],
                 "sampler": runs[0]["sampler"]}  # fmt: skip
    if "modes" in runs[0]["scores"]:
        m = [r["scores"]["modes"] for r in runs]
        out.update(_mode_scores(m))
        out["n_modes"] = m[0]["n_modes"]
        out["protocol"] = m[0]["protocol"]
        if runs[0].get("every_draw"):  # the preset truncates: G's every draw as well
            out["every_draw"] = _mode_scores([r["every_draw"]["modes"] for r in runs])
    if "sine" in runs[0]["scores"]:
        out["curve_distance"] = [r["scores"]["sine"]["curve_distance"] for r in runs]
        out["x_coverage"] = [r["scores"]["sine"]["x_coverage"] for r in runs]
        out["protocol"] = runs[0]["scores"]["sine"]["protocol"]
    return out


def ms(v: list[float], fmt: str = ".2f") -> str:
    return f"{np.mean(v):{fmt}} ± {np.std(v):{fmt}}"


def _how(s: dict) -> str:
    """How the scored samples were drawn, when not G's every draw."""
    keep = s.get("sampler", {}).get("jacobian_keep")
    return f" (Jacobian truncation, {100 * keep:.0f} % of draws kept)" if keep else ""


def targets(results: dict) -> list[tuple[str, str, str]]:
    """The issue's targets beside what this run measured, judged from the numbers."""
    rows = []
    yes = lambda ok: "yes" if ok else "**no**"  # noqa: E731
    for preset in ("ring8", "grid25"):
        s = results["presets"].get(preset)
        if not s:
            continue
        full = sum(m == s["n_modes"] for m in s["modes"])
        rows += [
            (f"{preset}: all modes in every seed", f"{full} of {len(s['modes'])}",
             yes(full == len(s["modes"]))),
            (f"{preset}: ≥ 98 % high quality{_how(s)}",
             f"{min(s['high_quality']):.1f} % (worst seed)", yes(min(s["high_quality"]) >= 98)),
            (f"{preset}: reverse KL ≤ 0.02{_how(s)}", f"{max(s['reverse_kl']):.3f} (worst seed)",
             yes(max(s["reverse_kl"]) <= 0.02)),
            (f"{preset}: ≤ 60 CPU s per run", f"{max(s['cpu_s']):.1f} s (slowest)",
             yes(max(s["cpu_s"]) <= 60)),
        ]  # fmt: skip
        if "every_draw" in s:
            e = s["every_draw"]
            rows.append((f"{preset}: ≥ 98 % high quality, every draw of G",
                         f"{min(e['high_quality']):.1f} % (worst seed)",
                         yes(min(e["high_quality"]) >= 98)))  # fmt: skip
    if "sine" in results["presets"]:
        s = results["presets"]["sine"]
        rows.append(("sine: distance to curve ≤ 0.05 in ≤ 60 CPU s",
                     f"{max(s['curve_distance']):.4f}, {max(s['cpu_s']):.1f} s (worst)",
                     yes(max(s["curve_distance"]) <= 0.05 and max(s["cpu_s"]) <= 60)))  # fmt: skip
    for preset, sp in results["speed"].items():
        rows.append((f"{preset}: loop ≥ 1.5x the plain loop", f"{sp['ratio']:.2f}x",
                     yes(sp["ratio"] >= 1.5)))  # fmt: skip
    return rows


def write_markdown(results: dict, command: str) -> str:
    lines = [
        "# Toy benchmark: ring8, grid25, sine",
        "",
        f"Command: `{command}`  ",
        f"Date: {results['date']}  ",
        f"Machine: {results['machine']}  ",
        f"Seeds: {results['seeds']} per preset; scores on {results['n_samples']} generated "
        "samples (PacGAN protocol: a sample is high quality within 3σ of its nearest centre; "
        "a mode is captured when it has one; reverse KL of the high-quality histogram over "
        "modes against uniform). Perfect samples from the true mixture score 98.9 % high "
        "quality (the mass of a 2-D Gaussian within 3σ).",
        "",
    ]
    if any("every_draw" in s for s in results["presets"].values()):
        lines += [
            "The `ring8` and `grid25` presets score the samples of Jacobian truncation "
            "(`model.jacobian_keep`; Tanielian et al., ICML 2020): of n / k latent draws the "
            "n where G is flattest, which drops the samples G strings between modes. The row "
            "*every draw of G* scores G without it, as PacGAN's published rows score theirs.",
            "",
        ]
    for preset in ("ring8", "grid25"):
        if preset not in results["presets"]:
            continue
        s = results["presets"][preset]
        full = sum(m == s["n_modes"] for m in s["modes"])
        lines += [
            f"## {preset}", "",
            "| method | modes | % high quality | reverse KL |",
            "| --- | --- | --- | --- |",
            f"| **gankit `{preset}` preset**{_how(s)} | {ms(s['modes'], '.1f')} | "
            f"{ms(s['high_quality'], '.1f')} | {ms(s['reverse_kl'], '.3f')} |",
        ]  # fmt: skip
        if "every_draw" in s:
            e = s["every_draw"]
            lines.append(
                f"| gankit `{preset}` preset, every draw of G | {ms(e['modes'], '.1f')} | "
                f"{ms(e['high_quality'], '.1f')} | {ms(e['reverse_kl'], '.3f')} |"
            )
        for tag, v in results.get("variants", {}).get(preset, {}).items():
            label = VARIANTS[tag][0]
            lines.append(
                f"| gankit `{preset}` preset, {label}{_how(v)} | {ms(v['modes'], '.1f')} | "
                f"{ms(v['high_quality'], '.1f')} | {ms(v['reverse_kl'], '.3f')} |"
            )
            if "every_draw" in v:
                e = v["every_draw"]
                lines.append(
                    f"| gankit `{preset}` preset, {label}, every draw of G | "
                    f"{ms(e['modes'], '.1f')} | {ms(e['high_quality'], '.1f')} | "
                    f"{ms(e['reverse_kl'], '.3f')} |"
                )
        for name, (mo, hq, kl) in PACGAN[preset].items():
            lines.append(f"| {name} (published) | {mo} | {hq} | {kl} |")
        lines += [
            "",
            f"All {s['n_modes']} modes in {full} of {len(s['modes'])} seeds; worst seed: "
            f"{min(s['modes'])} modes, {min(s['high_quality']):.1f} % high quality, "
            f"reverse KL {max(s['reverse_kl']):.3f}. CPU seconds per run (training + eval, all "
            f"threads): {ms(s['cpu_s'], '.1f')} (max {max(s['cpu_s']):.1f}); wall "
            f"{ms(s['wall_s'], '.1f')}.",
            "",
        ]  # fmt: skip
        for tag, v in results.get("variants", {}).get(preset, {}).items():
            full_v = sum(m == v["n_modes"] for m in v["modes"])
            sets = " ".join(f"`{o}`" for o in v["overrides"])
            lines += [
                f"{VARIANTS[tag][0]} ({sets}): all {v['n_modes']} modes in {full_v} of "
                f"{len(v['modes'])} seeds; worst seed: {min(v['modes'])} modes, "
                f"{min(v['high_quality']):.1f} % high quality, reverse KL "
                f"{max(v['reverse_kl']):.3f}"
                + (f"; every draw of G, worst seed: {min(v['every_draw']['high_quality']):.1f} "
                   "% high quality" if "every_draw" in v else "")
                + f". CPU seconds per run: {ms(v['cpu_s'], '.1f')}.",
                "",
            ]  # fmt: skip
    if "sine" in results["presets"]:
        s = results["presets"]["sine"]
        lines += [
            "## sine", "",
            f"Mean distance of generated points to the curve: {ms(s['curve_distance'], '.4f')} "
            f"(worst {max(s['curve_distance']):.4f}; real data 0.010); x coverage "
            f"{ms(s['x_coverage'], '.2f')}. CPU seconds per run: {ms(s['cpu_s'], '.1f')}.",
            "",
        ]  # fmt: skip
    lines += ["## Against the targets", "", "| target | measured | met |", "| --- | --- | --- |"]
    for row in targets(results):
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "## Loop speed", "",
        "Iterations per second of gankit's torch engine (on these plain MLPs its steps are "
        "written out by hand, R1 included: `gankit/engines/torch/by_hand.py`) and of the "
        "plain PyTorch loop "
        "(`gankit/plain_loop.py`: DataLoader over a TensorDataset, separate D passes on "
        "real and fake, a loss read back per step) doing the same maths (networks, batch, "
        "optimiser, lazy R1, EMA of G, learning-rate decay), one thread each, measured back to "
        "back in the same process, best of five."
        + (f" Measured by `{results['speed_command']}` on {results['speed_date']}, the "
           "machine otherwise idle." if "speed_command" in results else ""), "",
        "| preset | gankit it/s | plain loop it/s | ratio |",
        "| --- | --- | --- | --- |",
    ]  # fmt: skip
    for preset, sp in results["speed"].items():
        lines.append(
            f"| {preset} | {sp['gankit_steps_per_s']:.0f} | {sp['plain_steps_per_s']:.0f} | "
            f"{sp['ratio']:.2f}x |"
        )
    return "\n".join(lines) + "\n"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """The line every benchmark page names its machine with."""
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {cpu_name()}, "
        f"Python {platform.python_version()}, torch {torch.__version__}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--presets", nargs="+", default=["ring8", "grid25", "sine"])
    ap.add_argument(
        "--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS),
        help="methods measured beside the mode presets",
    )  # fmt: skip
    ap.add_argument("--set", action="append", default=[], help="config override (smoke tests)")
    ap.add_argument("--jobs", type=int, default=1, help="runs side by side (one per core)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "toy.md"))
    ap.add_argument(
        "--render",
        action="store_true",
        help="rewrite the markdown from benchmarks/results/toy.json, no runs",
    )
    ap.add_argument(
        "--merge",
        action="store_true",
        help="replace only these presets' results in benchmarks/results/toy.json, keep the rest",
    )
    ap.add_argument(
        "--speed-only",
        action="store_true",
        help="measure the loop speed again into benchmarks/results/toy.json, then render",
    )
    args = ap.parse_args()
    res_file = ROOT / "benchmarks" / "results" / "toy.json"
    if args.speed_only:  # the loop speed again, into the saved results
        saved = json.loads(res_file.read_text())
        for preset in args.presets:
            saved["speed"][preset] = loop_speed(preset, args.set)
            print(preset, saved["speed"][preset], flush=True)
        saved["speed_command"] = "python -m benchmarks.toy --speed-only --presets " + " ".join(
            args.presets
        )
        saved["speed_date"] = time.strftime("%Y-%m-%d %H:%M")
        res_file.write_text(json.dumps(saved, indent=2, default=float) + "\n")
        args.render = True
    if args.render:
        saved = json.loads(res_file.read_text())
        Path(args.out).write_text(write_markdown(saved, saved["command"]))
        print(f"wrote {args.out} from {res_file}")
        return
    presets = " ".join(args.presets)
    sets = "".join(f" --set {o}" for o in args.set)
    variants = " ".join(args.variants)
    command = (
        f"python -m benchmarks.toy --seeds {args.seeds} --jobs {args.jobs} --presets {presets}"
        f" --variants {variants}" + sets
    )
    results: dict = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "command": command, "seeds": args.seeds, "n_samples": load_config("ring8").eval.n_samples,
        "presets": {}, "runs": {}, "speed": {}, "variants": {},
    }  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="gankit-bench-"))
    n = args.seeds
    try:
        for preset in args.presets:
            methods = [("preset", args.set)]
            if load_config(preset).data.name in PACGAN:  # the mode presets get the variants
                cfg = load_config(preset, args.set)
                methods += [(v, [*args.set, *VARIANTS[v][1](cfg)]) for v in args.variants]
            for tag, overrides in methods:
                # seeds run side by side in separate processes; CPU seconds are per process
                with ProcessPoolExecutor(args.jobs) as ex:
                    runs = list(ex.map(one_run, [preset] * n, range(n), [work] * n,
                                       [overrides] * n, [tag] * n))  # fmt: skip
                for r in runs:
                    line = json.dumps({k: v for k, v in r.items() if k != "scores"})
                    print(preset, tag, line, flush=True)
                if tag == "preset":
                    results["runs"][preset] = runs
                    results["presets"][preset] = summarise(preset, runs)
                else:
                    variant = {"overrides": overrides, **summarise(preset, runs)}
                    results["variants"].setdefault(preset, {})[tag] = variant
            results["speed"][preset] = loop_speed(preset, args.set)
            print(preset, results["speed"][preset], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.merge and res_file.exists():  # these presets anew, the others as they were
        saved = json.loads(res_file.read_text())
        for key in ("presets", "runs", "speed", "variants"):
            saved[key].update(results[key])
        # the commands that reproduce the file, in order (the shell's &&)
        saved["command"] = f"{saved['command']} && {command} --merge"
        saved["date"], results = results["date"], saved
    res_file.parent.mkdir(exist_ok=True)
    res_file.write_text(json.dumps(results, indent=2, default=float) + "\n")
    Path(args.out).write_text(write_markdown(results, results["command"]))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
