"""The doctor's scenario suite: runs built to fail in each way, the healthy presets over five
seeds, and the doctor's own first remedy tried on one failing run per problem.

    .venv/bin/python -m benchmarks.doctor [--jobs 2] [--seeds 5] [--only NAME ...]

Every run is the full ``gankit train`` command in a process of its own (one thread each, so
``--jobs 2`` fills two cores), and the doctor's verdict is the ``doctor.json`` that the end
of training writes: exactly what a user gets. A failing scenario counts as caught when its
problem is among the findings (a run that fails one way often fails others too: those are
listed, not counted against it); a healthy run must have no finding at all.

Writes benchmarks/results/doctor.json, docs/benchmarks/doctor.md, and each run's last
picture and curves under docs/benchmarks/doctor/ (what docs/problems.md shows).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from benchmarks.toy import machine

ROOT = Path(__file__).resolve().parents[1]
PICTURES = ROOT / "docs" / "benchmarks" / "doctor"


@dataclass
class Scenario:
    name: str
    preset: str
    sets: list[str]
    expect: str | None  # the finding it is built to show; None: healthy, no finding allowed
    why: str = ""
    seed: int = 0
    fix_of: str = ""  # for a remedy run: the scenario whose doctor suggested it

    def command(self) -> list[str]:
        words = ["gankit", "train", self.preset]
        if self.seed:
            words += ["--seed", str(self.seed)]
        for s in self.sets:
            words += ["--set", s]
        return words


# Built to fail. Most are short: a failure shows within a few thousand steps. Those whose
# remedies are tried (FIX) keep their preset's length, so a remedy that works can show it.
FAILING = [
    Scenario("minimax-strong-d-ring8", "ring8",
             ["loss.name=minimax", "loss.r1=0", "optim.d_lr=0.01", "train.d_steps=5"],
             "vanishing_gradients",
             "the saturating minimax loss with a D five steps and 3.3x the learning rate ahead"),
    Scenario("minimax-frozen-g-digits", "digits",
             ["loss.name=minimax", "loss.r1=0", "optim.d_lr=0.002", "optim.g_lr=0.00002",
              "train.d_steps=5", "train.steps=1500"], "vanishing_gradients",
             "minimax on digits with G's learning rate 100x below D's: D wins at once"),
    Scenario("high-lr-digits", "digits",
             ["loss.r1=0", "model.g_ema=0", "optim.d_lr=0.01", "optim.g_lr=0.01",
              "optim.lr_decay=none", "train.steps=1500"], "vanishing_gradients",
             "50x the preset's learning rates: G saturates and D separates perfectly"),
    Scenario("small-batch-grid25", "grid25",
             ["train.batch_size=16", "loss.r1=0", "optim.lr_decay=none", "model.g_ema=0"],
             "mode_collapse",
             "a vanilla GAN (no R1, no EMA, no decay) with batches of 16 on 25 modes"),
    Scenario("small-batch-ring8", "ring8",
             ["train.batch_size=16", "loss.r1=0", "optim.lr_decay=none", "model.g_ema=0",
              "train.steps=4000"], "mode_collapse",
             "the same on the ring of 8"),
    Scenario("small-batch-digits", "digits",
             ["train.batch_size=8", "loss.r1=0", "optim.d_lr=0.002", "optim.g_lr=0.002",
              "optim.lr_decay=none", "train.steps=1500"], "mode_collapse",
             "batches of 8 and 10x the learning rates on digits, no R1"),
    Scenario("lsgan-momentum-digits", "digits",
             ["loss.name=lsgan", "loss.r1=0", "optim.d_lr=0.001", "optim.g_lr=0.001",
              "optim.beta1=0.9", "optim.lr_decay=none", "train.steps=1500"], "mode_collapse",
             "least squares with Adam's default momentum 0.9 and 5x the learning rates"),
    Scenario("high-lr-ring8", "ring8",
             ["optim.d_lr=0.02", "optim.g_lr=0.02", "optim.lr_decay=none"], "non_convergence",
             "7x the preset's learning rates, held constant"),
    Scenario("high-lr-sine", "sine",
             ["optim.d_lr=0.02", "optim.g_lr=0.02", "optim.lr_decay=none",
              "train.steps=3000"], "non_convergence",
             "20x the preset's learning rates, held constant"),
    Scenario("fast-g-digits", "digits",
             ["loss.r1=0", "optim.d_lr=0.0002", "optim.g_lr=0.002", "optim.lr_decay=none",
              "model.g_ema=0", "train.steps=1500"], "non_convergence",
             "G's learning rate 10x D's, no EMA, no decay: G hops from digit to digit"),
    Scenario("slow-g-ring8", "ring8",
             ["optim.d_lr=0.01", "optim.g_lr=0.00001", "train.d_steps=5"], "discriminator_wins",
             "G's learning rate 1,000x below D's, D five steps per G step"),
    Scenario("slow-g-sine", "sine",
             ["optim.d_lr=0.01", "optim.g_lr=0.00001", "train.d_steps=5",
              "train.steps=2000"], "discriminator_wins",
             "the same on the sine wave"),
    Scenario("slow-g-digits", "digits",
             ["loss.r1=0", "optim.d_lr=0.002", "optim.g_lr=0.00002", "train.d_steps=5",
              "train.steps=1500"], "discriminator_wins",
             "the same on digits, with the non-saturating loss: G keeps its gradient"),
    Scenario("sgd-lr2-ring8", "ring8",
             ["optim.name=sgd", "optim.d_lr=2", "optim.g_lr=2", "optim.lr_decay=none"],
             "divergence", "plain SGD at learning rate 2"),
    Scenario("sgd-lr2-grid25", "grid25",
             ["optim.name=sgd", "optim.d_lr=2", "optim.g_lr=2", "optim.lr_decay=none",
              "train.steps=2000"], "divergence",
             "the same on 25 modes"),
    Scenario("sgd-lr5-digits", "digits",
             ["optim.name=sgd", "optim.d_lr=5", "optim.g_lr=5", "optim.lr_decay=none",
              "train.steps=1000", "train.checkpoint_every=100"], "divergence",
             "plain SGD at learning rate 5 on digits"),
]  # fmt: skip

# The failing runs whose doctor's first remedy is tried: one per problem.
FIX = ["minimax-strong-d-ring8", "small-batch-grid25", "high-lr-ring8", "slow-g-ring8",
       "sgd-lr2-ring8"]  # fmt: skip

HEALTHY = ["sine", "ring8", "grid25", "digits"]


def healthy(seeds: int) -> list[Scenario]:
    return [
        Scenario(f"{p}-seed{s}", p, [], None, f"the {p} preset as shipped", seed=s)
        for p in HEALTHY
        for s in range(seeds)
    ]


def run_one(sc: Scenario, workdir: Path) -> dict:
    """Train through the CLI and read what the end of training wrote."""
    out = workdir / sc.name
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "gankit", "train", *sc.command()[2:], "--out", str(out),
           "--quiet", "--set", "train.threads=1"]  # fmt: skip
    tic = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - tic
    doctor_file = out / "doctor.json"
    if proc.returncode != 0 or not doctor_file.is_file():
        return {**asdict(sc), "error": proc.stderr[-2000:], "wall_s": wall, "findings": []}
    findings = json.loads(doctor_file.read_text())
    eval_file = out / "eval.json"
    scores = json.loads(eval_file.read_text())["scores"] if eval_file.is_file() else {}
    names = [f["name"] for f in findings]
    _keep_pictures(sc.name, out)
    return {
        **asdict(sc),
        "command": shlex.join(sc.command()),
        "wall_s": wall,
        "findings": findings,
        "names": names,
        "ok": (sc.expect in names) if sc.expect else not names,
        "scores": _headline(scores),
    }


def _headline(scores: dict) -> dict:
    out: dict = {}
    if "modes" in scores:
        out["modes"] = f"{scores['modes']['modes']}/{scores['modes']['n_modes']}"
        out["high quality"] = f"{100 * scores['modes']['high_quality']:.1f} %"
    if "sine" in scores:
        out["distance to curve"] = f"{scores['sine']['curve_distance']:.4f}"
    if "classes" in scores:
        out["classes"] = f"{scores['classes']['coverage']}/10"
        out["largest class"] = f"{100 * max(scores['classes']['shares']):.0f} %"
    if "fd" in scores:
        out["FD"] = f"{scores['fd']['value']:.1f}"
    if "w1" in scores:
        out["W1"] = f"{scores['w1']['value']:.3f}"
    return out


def _keep_pictures(name: str, run: Path) -> None:
    dest = PICTURES / name
    dest.mkdir(parents=True, exist_ok=True)
    for src, to in (
        (run / "snapshots" / "last.png", "last.png"),
        (run / "curves.png", "curves.png"),
    ):
        if src.is_file():
            shutil.copyfile(src, dest / to)


def doctor_speed(rows_n: int = 100_000) -> dict[str, float]:
    """Seconds for the doctor on a run of ``rows_n`` logged rows with every signal, from
    memory and from a run directory on disk (best of three)."""
    from gankit.config import load_config
    from gankit.doctor import diagnose, diagnose_run
    from gankit.run import RunDir

    rng = np.random.default_rng(0)
    n = rows_n

    def noisy(level: float, sd: float) -> np.ndarray:
        return np.abs(level + sd * rng.standard_normal(n))

    cols = {
        "d_loss": noisy(1.3, 0.05), "g_loss": noisy(0.8, 0.05), "d_real": noisy(0.6, 0.02),
        "d_fake": noisy(0.4, 0.02), "fooled": noisy(0.3, 0.02), "d_grad_norm": noisy(1, 0.1),
        "g_grad_norm": noisy(0.5, 0.1), "diversity": noisy(0.95, 0.02),
        "drift": np.geomspace(0.5, 0.01, n), "modes": np.full(n, 8.0),
        "mode_kl": np.full(n, 0.01), "high_quality": np.full(n, 0.95),
    }  # fmt: skip
    rows = [
        {"step": 50 * (i + 1), **{k: float(v[i]) for k, v in cols.items()},
         "layer_grads": {"G.fc0": 0.1, "G.fc1": 0.2, "D.fc0": 0.3, "D.fc1": 0.4}}
        for i in range(n)
    ]  # fmt: skip
    cfg = load_config("ring8")
    best_mem = best_disk = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        run = RunDir.create(Path(tmp) / "run", cfg, {})
        run.metrics_file.write_text("".join(json.dumps(r) + "\n" for r in rows))
        for _ in range(3):
            t = time.perf_counter()
            assert diagnose(rows, cfg.model_dump()) == []
            best_mem = min(best_mem, time.perf_counter() - t)
            t = time.perf_counter()
            assert diagnose_run(run.path) == []
            best_disk = min(best_disk, time.perf_counter() - t)
    return {"rows": n, "diagnose_s": best_mem, "diagnose_run_s": best_disk}


def _sets(command: str) -> tuple[str, list[str], int]:
    words = shlex.split(command)
    sets = [words[i + 1] for i, w in enumerate(words) if w == "--set"]
    seed = int(words[words.index("--seed") + 1]) if "--seed" in words else 0
    return words[2], sets, seed


def fixes(results: list[dict]) -> list[Scenario]:
    """Per problem, one failing run's remedies tried as printed: the doctor's first (which
    undoes the run's own changes to the problem's usual causes), and its first single change
    (the first remedy that sets something the run did not)."""
    out = []
    for r in results:
        if r["name"] not in FIX or not r.get("findings"):
            continue
        finding = next((f for f in r["findings"] if f["name"] == r["expect"]), None)
        if finding is None:
            continue
        own = set(_sets(r["command"])[1])
        single = next((c for c in finding["remedies"] if set(_sets(c)[1]) - own), None)
        tries = [("fixed", finding["remedies"][0], "the doctor's first remedy")]
        if single is not None and single != finding["remedies"][0]:
            tries.append(("single", single, "the doctor's first single change"))
        for suffix, command, why in tries:
            preset, sets, seed = _sets(command)
            out.append(Scenario(f"{r['name']}-{suffix}", preset, sets, None, why, seed, r["name"]))
    return out


def write_markdown(res: dict) -> str:
    fail = [r for r in res["runs"] if r["expect"] and not r["fix_of"]]
    ok = [r for r in res["runs"] if not r["expect"] and not r["fix_of"]]
    fixed = [r for r in res["runs"] if r["fix_of"]]
    caught = sum(r["ok"] for r in fail)
    alarms = sum(not r["ok"] for r in ok)
    sp = res["speed"]
    lines = [
        "# The doctor's scenario suite", "",
        f"Command: `{res['command']}`  ",
        f"Date: {res['date']}  ",
        f"Machine: {res['machine']}  ",
        f"Wall time: {res['wall_min']:.1f} min", "",
        "Each run is the full `gankit train` command; the verdict is the `doctor.json` the end of "
        "training writes. A failing run is *caught* when its problem is among the findings (other "
        "findings are listed: a run that fails one way often fails others too). A healthy run "
        "must have no finding at all.", "",
        "## Summary", "",
        f"* **Failing scenarios caught: {caught} / {len(fail)}**",
        f"* **False alarms on healthy runs: {alarms} / {len(ok)}** "
        f"({', '.join(HEALTHY)}, seeds 0-{res['seeds'] - 1})",
        f"* Doctor on {sp['rows']:,} logged rows: {sp['diagnose_s']:.2f} s in memory, "
        f"{sp['diagnose_run_s']:.2f} s with reading the run directory (target: under 2 s)", "",
        "## Built to fail", "",
        "| scenario | built to show | what is wrong | findings | caught | scores |",
        "| --- | --- | --- | --- | --- | --- |",
    ]  # fmt: skip
    for r in fail:
        lines.append(
            f"| `{r['name']}` | {r['expect']} | {r['why']} | {_names(r)} | "
            f"{'yes' if r['ok'] else '**no**'} | {_scores(r)} |"
        )
    lines += ["", "Commands:", ""]
    lines += [f"* `{r['name']}`: `{r.get('command', '')}`" for r in fail]
    lines += ["", "## Healthy presets", "",
              "| run | findings | scores | minutes |", "| --- | --- | --- | --- |"]  # fmt: skip
    for r in ok:
        lines.append(f"| `{r['name']}` | {_names(r)} | {_scores(r)} | {r['wall_s'] / 60:.1f} |")
    lines += ["", "## The doctor's remedy, tried", "",
              "For one failing run per problem, two of the doctor's suggestions, run as printed: "
              "its first, which undoes the run's own changes to the problem's usual causes, and "
              "its first single change (the first that sets something the run did not).", "",
              "| failing run | tried | command | findings after | scores after |",
              "| --- | --- | --- | --- | --- |"]  # fmt: skip
    for r in fixed:
        tried = r["why"].removeprefix("the doctor's ")
        lines.append(
            f"| `{r['fix_of']}` | {tried} | `{r.get('command', '')}` | {_names(r)} | {_scores(r)} |"
        )
    lines += ["", "Pictures of every run (last frame, curves): `docs/benchmarks/doctor/NAME/`.", ""]
    return "\n".join(lines)


def _names(r: dict) -> str:
    if r.get("error"):
        return "**run failed**"
    return ", ".join(r["names"]) or "none"


def _scores(r: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in (r.get("scores") or {}).items()) or "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--only", nargs="*", help="scenario names (prefixes) to run; prints only")
    ap.add_argument("--no-write", action="store_true", help="print, don't write docs")
    args = ap.parse_args()
    scenarios = FAILING + healthy(args.seeds)
    if args.only:
        scenarios = [s for s in scenarios if any(s.name.startswith(o) for o in args.only)]
    tic = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        work = Path(tmp)

        def one(sc: Scenario) -> dict:
            r = run_one(sc, work)
            print(f"{sc.name}: {r.get('names', r.get('error'))} ({r['wall_s']:.0f} s)", flush=True)
            return r

        runs = list(pool.map(one, scenarios))
        runs += list(pool.map(one, fixes(runs)))
    res = {
        "command": "python -m benchmarks.doctor " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "seeds": args.seeds,
        "wall_min": (time.perf_counter() - tic) / 60,
        "speed": doctor_speed(),
        "runs": runs,
    }
    text = write_markdown(res)
    if args.no_write or args.only:  # a partial suite is a check, not the benchmark
        print(text)
        return
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "results" / "doctor.json").write_text(json.dumps(res, indent=1))
    (ROOT / "docs" / "benchmarks" / "doctor.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
