"""The doctor's record: runs built to fail in each way, each on several seeds, the doctor's
first remedy for each of them run as printed, the point presets over five seeds and the
image presets over two, and the same presets stopped at a tenth of their steps.

    .venv/bin/python -m benchmarks.doctor [--jobs 2] [--fail-seeds 3] [--seeds 5] [--only NAME ...]
    .venv/bin/python -m benchmarks.doctor --only NAME ... --merge
    .venv/bin/python -m benchmarks.doctor --record autograd --set train.fast_paths=false \
        --only NAME ... --no-remedies

Every run is the full ``gankit train`` command in a process of its own (one thread each, so
``--jobs 2`` fills two cores), and the doctor's verdict is the ``doctor.json`` that the end
of training writes: exactly what a user gets. A failing run counts as caught when its
problem is among the findings (a run that fails one way often fails others too: those are
listed, not counted against it); its first remedy counts when the rerun is healthy by the
scenario's own scores (HEALTHY_SCORES); a healthy run must have no finding at all, and a
short healthy run only "too early".

Writes benchmarks/results/doctor.json, docs/benchmarks/doctor.md, and each run's last
picture and curves under docs/benchmarks/doctor/ (what docs/problems.md shows). With
``--merge``, the runs named by ``--only`` (and their remedies) replace theirs in the results
so far, runs of scenarios no longer defined are dropped, and the record lists every command
with the runs it measured: each run is a process of its own, so a run measured later stands
beside the others as it would in one sitting.

``--set KEY=VALUE`` adds a change to every run (``train.fast_paths=false``: the record under
autograd, where the point presets otherwise take their steps by hand). ``--record NAME``
writes a record of its own, benchmarks/results/doctor-NAME.json and
docs/benchmarks/doctor-NAME.md (no pictures: those of docs/problems.md come from the main
record), and writes it even for the scenarios ``--only`` names.
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
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from benchmarks.toy import machine

ROOT = Path(__file__).resolve().parents[1]
PICTURES = ROOT / "docs" / "benchmarks" / "doctor"
RESULTS = ROOT / "benchmarks" / "results" / "doctor.json"
KEEP_PICTURES = True  # False for a record of its own (--record): the main record's pictures stay


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


# Built to fail. Each trains its preset's steps (those that diverge stop at the first NaN),
# as the doctor's remedies then do: a remedy can only show a healthy run at full length.
FAILING = [
    Scenario("minimax-strong-d-ring8", "ring8",
             ["loss.name=minimax", "loss.r1=0", "optim.d_lr=0.01", "train.d_steps=5"],
             "vanishing_gradients",
             "the saturating minimax loss with a D five steps and 3.3x the learning rate ahead"),
    Scenario("minimax-frozen-g-digits", "digits",
             ["loss.name=minimax", "loss.r1=0", "optim.d_lr=0.002", "optim.g_lr=0.00002",
              "train.d_steps=5"], "vanishing_gradients",
             "minimax on digits with G's learning rate 100x below D's: D wins at once"),
    Scenario("high-lr-digits", "digits",
             ["loss.r1=0", "model.g_ema=0", "optim.d_lr=0.01", "optim.g_lr=0.01",
              "optim.lr_decay=none"], "mode_collapse",
             "50x the preset's learning rates: G falls onto one class"),
    Scenario("small-batch-grid25", "grid25",
             ["train.batch_size=16", "loss.r1=0", "optim.lr_decay=none", "model.g_ema=0"],
             "mode_collapse",
             "a vanilla GAN (no R1, no EMA, no decay) with batches of 16 on 25 modes"),
    Scenario("small-batch-ring8", "ring8",
             ["train.batch_size=8", "loss.r1=0", "optim.lr_decay=none", "model.g_ema=0"],
             "mode_collapse", "the same on the ring of 8, with batches of 8"),
    Scenario("small-batch-digits", "digits",
             ["train.batch_size=8", "loss.r1=0", "optim.d_lr=0.002", "optim.g_lr=0.002",
              "optim.lr_decay=none"], "mode_collapse",
             "batches of 8 and 10x the learning rates on digits, no R1"),
    Scenario("lsgan-momentum-digits", "digits",
             ["loss.name=lsgan", "loss.r1=0", "optim.d_lr=0.001", "optim.g_lr=0.001",
              "optim.beta1=0.9", "optim.lr_decay=none"], "mode_collapse",
             "least squares with Adam's default momentum 0.9 and 5x the learning rates"),
    Scenario("high-lr-ring8", "ring8",
             ["optim.d_lr=0.02", "optim.g_lr=0.02", "optim.lr_decay=none"], "mode_collapse",
             "7x the preset's learning rates, held constant: G leaves the ring"),
    Scenario("sgd-cycle-ring8", "ring8",
             ["optim.name=sgd", "optim.d_lr=0.05", "optim.g_lr=0.05", "optim.lr_decay=none",
              "loss.r1=0", "model.g_ema=0"], "non_convergence",
             "plain SGD at a constant rate, no R1, no EMA: nothing damps the game, and G's "
             "samples never settle"),
    Scenario("high-lr-sine", "sine",
             ["optim.d_lr=0.02", "optim.g_lr=0.02", "optim.lr_decay=none"], "non_convergence",
             "20x the preset's learning rates, held constant"),
    Scenario("slow-g-ring8", "ring8",
             ["loss.r1=0", "optim.d_lr=0.01", "optim.g_lr=0.00001", "train.d_steps=5"],
             "discriminator_wins",
             "G's learning rate 1,000x below D's, D five steps per G step, no R1"),
    Scenario("slow-g-sine", "sine",
             ["optim.d_lr=0.01", "optim.g_lr=0.00001", "train.d_steps=5"], "discriminator_wins",
             "the same on the sine wave"),
    Scenario("slow-g-digits", "digits",
             ["loss.r1=0", "optim.d_lr=0.002", "optim.g_lr=0.00002", "train.d_steps=5"],
             "discriminator_wins",
             "the same on digits, with the non-saturating loss: G keeps its gradient"),
    # the seed notebook's own recipe, kept as its preset to reproduce the seed: a plain GAN
    # whose fit of the curve ends far off (curve distance 0.09-0.84 on seeds 0-4)
    Scenario("sine-seed", "sine-seed", [], "mode_collapse",
             "the seed notebook's recipe as shipped (preset sine-seed): it ends off the curve"),
    Scenario("sgd-lr2-ring8", "ring8",
             ["optim.name=sgd", "optim.d_lr=2", "optim.g_lr=2", "optim.lr_decay=none"],
             "divergence", "plain SGD at learning rate 2"),
    Scenario("sgd-lr2-grid25", "grid25",
             ["optim.name=sgd", "optim.d_lr=2", "optim.g_lr=2", "optim.lr_decay=none"],
             "divergence", "the same on 25 modes"),
    Scenario("sgd-lr5-digits", "digits",
             ["optim.name=sgd", "optim.d_lr=5", "optim.g_lr=5", "optim.lr_decay=none",
              "train.checkpoint_every=100"], "divergence",
             "plain SGD at learning rate 5 on digits"),
]  # fmt: skip

# The healthy presets: every point preset (but ``points``, which reads the user's file) over
# ``--seeds`` seeds, the image presets over two
HEALTHY_POINTS = ["sine", "ring8", "grid25", "spiral", "moons", "gaussian1d"]
HEALTHY_IMAGES = ["digits", "breakout-fast"]
IMAGE_SEEDS = 2
# A short healthy run: this share of its preset's steps (the doctor must say "too early")
SHORT = 0.1


def healthy(seeds: int) -> list[Scenario]:
    out = [
        Scenario(f"{p}-seed{s}", p, [], None, f"the {p} preset as shipped", seed=s)
        for p in HEALTHY_POINTS
        for s in range(seeds)
    ]
    out += [
        Scenario(f"{p}-seed{s}", p, [], None, f"the {p} preset as shipped", seed=s)
        for p in HEALTHY_IMAGES
        for s in range(IMAGE_SEEDS)
    ]
    return out


def short_healthy() -> list[Scenario]:
    from gankit.config import load_config

    out = []
    for p in HEALTHY_POINTS + HEALTHY_IMAGES:
        steps = max(1, round(SHORT * load_config(p).train.steps))
        why = f"the {p} preset stopped at a tenth of its steps"
        out.append(Scenario(f"{p}-short", p, [f"train.steps={steps}"], "too_early", why))
    return out


def failing(seeds: int) -> list[Scenario]:
    return [
        Scenario(f"{sc.name}-seed{s}", sc.preset, sc.sets, sc.expect, sc.why, seed=s)
        for sc in FAILING
        for s in range(seeds)
    ]


def healthy_scores(scores: dict, floor: dict) -> bool:
    """A run's scores are those of a healthy run of its data: every mode and class, even
    shares, the curve covered, distances within 10x their real-data floors (what the
    doctor's far_from_data allows W1, 25x for FD)."""
    if not scores:
        return False
    m = scores.get("modes")
    if m and (m["modes"] < m["n_modes"] or m["reverse_kl"] > 0.1):
        return False
    sine = scores.get("sine")
    if sine and (sine["curve_distance"] > 0.05 or sine["x_coverage"] < 0.8):
        return False
    c = scores.get("classes")
    if c and (c["coverage"] < 10 or max(c["shares"]) > 0.2):
        return False
    for key, far in (("w1", 10.0), ("fd", 25.0)):
        v, f = (scores.get(key) or {}).get("value"), (floor.get(key) or {}).get("value")
        if v is not None and f is not None and v > far * max(f, 1e-12):
            return False
    return True


def judged(expect: str | None, names: list[str]) -> bool:
    """A failing run is caught when its problem is among the findings; a healthy run has
    none, a short healthy run only "too early"."""
    if expect == "too_early":
        return names == ["too_early"]
    return (expect in names) if expect else not names


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
    # exit 3: the run diverged (after its rollbacks), and still wrote its doctor.json
    if proc.returncode not in (0, 3) or not doctor_file.is_file():
        return {**asdict(sc), "error": proc.stderr[-2000:], "wall_s": wall, "findings": []}
    findings = json.loads(doctor_file.read_text())
    eval_file = out / "eval.json"
    result = json.loads(eval_file.read_text()) if eval_file.is_file() else {}
    scores = result.get("scores_every_draw") or result.get("scores") or {}
    names = [f["name"] for f in findings]
    ok = judged(sc.expect, names)
    if sc.seed == 0 and KEEP_PICTURES:  # seed 0's (and its remedy's): docs/problems.md shows them
        _keep_pictures(sc.name, out)
    return {
        **asdict(sc),
        "command": shlex.join(sc.command()),
        "wall_s": wall,
        "findings": findings,
        "names": names,
        "ok": ok,
        "healthy_scores": healthy_scores(scores, result.get("real_floor") or {}),
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
    """The doctor's first remedy for each failing run, as printed: for the problem it was
    built to show where the doctor named it, else for the doctor's first finding."""
    out = []
    for r in results:
        if not r["expect"] or r["expect"] == "too_early" or r["fix_of"] or not r.get("findings"):
            continue
        named = [f for f in r["findings"] if f["name"] == r["expect"]] or r["findings"]
        if not named[0]["remedies"]:
            continue
        preset, sets, seed = _sets(named[0]["remedies"][0])
        why = f"the doctor's first remedy for {named[0]['name']}"
        out.append(Scenario(f"{r['name']}-fixed", preset, sets, None, why, seed, r["name"]))
    return out


def kept_runs(old: dict, defined: dict[str, Scenario], rerun: set[str]) -> list[dict]:
    """The record's runs that stay: those of scenarios still defined and not rerun, judged
    by today's definition (what each is built to show); remedy runs are matched afresh."""
    kept = []
    for r in old["runs"]:
        sc = defined.get(r["name"])
        if r["fix_of"] or sc is None or r["name"] in rerun:
            continue
        ok = judged(sc.expect, r["names"]) and not r.get("error")
        kept.append({"measured_by": old["command"], **r, "expect": sc.expect, "why": sc.why,
                     "ok": ok})  # fmt: skip
    return kept


def reused_fixes(wanted: list[Scenario], measured: list[dict]) -> tuple[list[dict], list[Scenario]]:
    """Each wanted remedy run taken from a run of the same command already measured (every
    run is seeded and single-threaded, so the same command trains the same run), or left to
    run."""
    by_command = {r["command"]: r for r in measured if not r.get("error")}
    found, missing = [], []
    for sc in wanted:
        src = by_command.get(shlex.join(sc.command()))
        if src is None:
            missing.append(sc)
            continue
        shown = KEEP_PICTURES and (PICTURES / src["name"]).is_dir()
        if sc.seed == 0 and src["name"] != sc.name and shown:
            # its pictures, as docs/problems.md shows them
            shutil.copytree(PICTURES / src["name"], PICTURES / sc.name, dirs_exist_ok=True)
        found.append({**src, "name": sc.name, "expect": None, "why": sc.why,
                      "fix_of": sc.fix_of, "ok": judged(None, src["names"])})  # fmt: skip
    return found, missing


def _table_head(cells: list[str]) -> list[str]:
    return [_row(cells), _row(["---"] * len(cells))]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _base(name: str) -> str:
    """A run's scenario: its name without the seed."""
    return name.rsplit("-seed", 1)[0]


def write_markdown(res: dict, others: dict[str, dict] | None = None) -> str:
    """The record as markdown; ``others`` are the records of their own (by name) that the
    main record points to."""
    others = others or {}
    runs = res["runs"]
    fail = [r for r in runs if r["expect"] not in (None, "too_early") and not r["fix_of"]]
    ok = [r for r in runs if r["expect"] is None and not r["fix_of"]]
    short = [r for r in runs if r["expect"] == "too_early"]
    fixed = {r["fix_of"]: r for r in runs if r["fix_of"]}
    caught = sum(r["ok"] for r in fail)
    healed = sum(bool(fixed.get(r["name"], {}).get("healthy_scores")) for r in fail)
    alarms = sum(not r["ok"] for r in ok)
    early = sum(r["ok"] for r in short)
    sp = res["speed"]

    def pct(k: int, n: int) -> str:
        return f"{k} / {n} ({100 * k / max(n, 1):.0f} %)"

    sittings = res.get("sittings") or [
        {"command": res["command"], "date": res["date"], "wall_min": res["wall_min"]}
    ]
    lines = ["# The doctor's record", ""]
    for st in sittings:
        n = sum(r.get("measured_by", res["command"]) == st["command"] for r in runs)
        lines.append(
            f"Command: `{st['command']}` ({st['date']}, {st['wall_min']:.1f} min, {n} runs)  "
        )
    lines += [
        f"Machine: {res['machine']}", "",
        "Each run is the full `gankit train` command (one thread); the verdict is the "
        "`doctor.json` the end of training writes. A failing run is *caught* when its problem "
        "is among the findings (other findings are listed: a run that fails one way often "
        "fails others too). Its *remedy* is the doctor's first command for that problem, run "
        "as printed; it counts when the rerun's scores are healthy for its data (every mode "
        "and class with even shares, the curve covered, W1 within 10x and FD within 25x of "
        "the real-data floor: `healthy_scores` in `benchmarks/doctor.py`). A healthy run must "
        "have no finding at all; a healthy run stopped at a tenth of its preset's steps must "
        "read *too early* and nothing else.", "",
        "## Summary", "",
    ]  # fmt: skip
    summary = [  # a record of a part (--record with --only) says only what it measured
        (fail, f"* **Failing runs caught: {pct(caught, len(fail))}** (target ≥ 95 %)"),
        (fixed, f"* **First remedy healthy: {pct(healed, len(fail))}** (target ≥ 80 %)"),
        (ok, f"* **False alarms on healthy runs: {alarms} / {len(ok)}** (target 0)"),
        (short, f'* **Short healthy runs read "too early" only: {early} / {len(short)}**'),
    ]
    lines += [line for runs_of, line in summary if runs_of]
    for name, other in others.items():  # the records beside this one (--record NAME)
        o_fail = [r for r in other["runs"] if r["expect"] not in (None, "too_early")
                  and not r["fix_of"]]  # fmt: skip
        lines.append(
            f"* Record `{name}` (`{other['command'].split(' --only')[0]}`): failing runs caught "
            f"{pct(sum(r['ok'] for r in o_fail), len(o_fail))}, "
            f"[doctor-{name}.md](doctor-{name}.md)"
        )
    lines += [
        f"* Doctor on {sp['rows']:,} logged rows: {sp['diagnose_s']:.2f} s in memory, "
        f"{sp['diagnose_run_s']:.2f} s with reading the run directory (target: under 2 s)", "",
        "## Built to fail, per scenario", "",
    ]  # fmt: skip
    # a record measured without remedies (--no-remedies) has no remedy columns
    head = ["scenario", "built to show", "what is wrong", "caught"]
    lines += _table_head([*head, "first remedy healthy"] if fixed else head)
    groups: dict[str, list[dict]] = {}
    for r in fail:
        groups.setdefault(_base(r["name"]), []).append(r)
    for name, rs in groups.items():
        k = sum(r["ok"] for r in rs)
        h = sum(bool(fixed.get(r["name"], {}).get("healthy_scores")) for r in rs)
        cells = [f"`{name}`", rs[0]["expect"], rs[0]["why"], f"{k} of {len(rs)}"]
        lines.append(_row([*cells, f"{h} of {len(rs)}"] if fixed else cells))
    title = "Every failing run and its remedy" if fixed else "Every failing run"
    lines += ["", f"## {title}", ""]
    head = ["run", "findings", "scores"]
    lines += _table_head([*head, "remedy run", "its findings", "its scores"] if fixed else head)
    for r in fail:
        f = fixed.get(r["name"])
        mark = "" if r["ok"] else " (**missed**)"
        cells = [f"`{r['name']}`{mark}", _names(r), _scores(r)]
        if fixed:
            cells += [f"`{f['command']}`", _names(f), _scores(f)] if f else ["none", "-", "-"]
        lines.append(_row(cells))
    lines += ["", "Commands:", ""]
    lines += [f"* `{name}`: `{rs[0].get('command', '')}` (and `--seed N`)"
              for name, rs in groups.items()]  # fmt: skip
    if ok:
        lines += ["", "## Healthy presets", "",
                  "| run | findings | scores | minutes |", "| --- | --- | --- | --- |"]  # fmt: skip
    for r in ok:
        lines.append(f"| `{r['name']}` | {_names(r)} | {_scores(r)} | {r['wall_s'] / 60:.1f} |")
    if short:
        lines += ["", "## Healthy presets stopped at a tenth of their steps", "",
                  "| run | command | findings | what the doctor said |",
                  "| --- | --- | --- | --- |"]  # fmt: skip
    for r in short:
        said = next((f["summary"] for f in r.get("findings", []) if f["name"] == "too_early"), "")
        lines.append(f"| `{r['name']}` | `{r.get('command', '')}` | {_names(r)} | {said} |")
    if KEEP_PICTURES:
        lines += ["", "Pictures of every run (last frame, curves): `docs/benchmarks/doctor/NAME/`."]
    lines.append("")
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
    ap.add_argument("--seeds", type=int, default=5, help="seeds of each healthy point preset")
    ap.add_argument("--fail-seeds", type=int, default=3, help="seeds of each failing scenario")
    ap.add_argument("--only", nargs="*", help="scenario names (prefixes) to run; prints only")
    ap.add_argument("--no-write", action="store_true", help="print, don't write docs")
    ap.add_argument(
        "--merge", action="store_true", help="replace the --only runs in the results so far"
    )
    ap.add_argument("--no-remedies", action="store_true", help="a check: skip the remedy runs")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a change added to every run (repeatable)")  # fmt: skip
    ap.add_argument("--record", help="write a record of its own: doctor-RECORD.json and .md")
    args = ap.parse_args()
    global RESULTS, KEEP_PICTURES
    doc = ROOT / "docs" / "benchmarks" / "doctor.md"
    if args.record:
        RESULTS = RESULTS.with_name(f"doctor-{args.record}.json")
        doc = doc.with_name(f"doctor-{args.record}.md")
        KEEP_PICTURES = False
    every = failing(args.fail_seeds) + healthy(args.seeds) + short_healthy()
    every = [replace(sc, sets=sc.sets + args.set) for sc in every]
    scenarios = list(every)
    if args.only:
        scenarios = [s for s in scenarios if any(s.name.startswith(o) for o in args.only)]
    # the longest first (breakout-fast's, minutes each), so two jobs end together
    scenarios.sort(key=lambda sc: sc.preset not in HEALTHY_IMAGES or sc.name.endswith("short"))
    old = json.loads(RESULTS.read_text()) if args.merge else None
    kept = (
        kept_runs(old, {sc.name: sc for sc in every}, {sc.name for sc in scenarios}) if old else []
    )

    def remedies(rs: list[dict]) -> list[Scenario]:  # as printed, with this record's --set
        return [replace(sc, sets=sc.sets + args.set) for sc in fixes(rs)]

    reused, missing = reused_fixes(remedies(kept), kept + old["runs"]) if old else ([], [])
    command = "python -m benchmarks.doctor " + " ".join(sys.argv[1:])
    tic = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        work = Path(tmp)

        def one(sc: Scenario) -> dict:
            r = run_one(sc, work)
            print(f"{sc.name}: {r.get('names', r.get('error'))} ({r['wall_s']:.0f} s)", flush=True)
            return {**r, "measured_by": command}

        runs = list(pool.map(one, scenarios))
        if not args.no_remedies:
            measured = runs + kept + (old or {}).get("runs", [])
            found, more = reused_fixes(remedies(runs), measured)
            runs += found + list(pool.map(one, more + missing))
    date = time.strftime("%Y-%m-%d")
    wall = (time.perf_counter() - tic) / 60
    res = {
        "command": command,
        "date": date,
        "machine": machine(),
        "seeds": args.seeds,
        "fail_seeds": args.fail_seeds,
        "wall_min": wall,
        "speed": doctor_speed(),
        "runs": runs,
    }
    if old:
        sittings = old.get("sittings") or [
            {"command": old["command"], "date": old["date"], "wall_min": old["wall_min"]}
        ]
        sittings.append({"command": command, "date": date, "wall_min": wall})
        res = {**old, "speed": res["speed"], "runs": kept + reused + runs, "sittings": sittings}
    others = {} if args.record else {
        f.stem.removeprefix("doctor-"): json.loads(f.read_text())
        for f in sorted(RESULTS.parent.glob("doctor-*.json"))
    }  # fmt: skip
    text = write_markdown(res, others)
    if args.no_write or (args.only and not (args.merge or args.record)):  # only a check
        print(text)
        return
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=1))
    if KEEP_PICTURES:
        shown = {r["name"] for r in res["runs"] if r["seed"] == 0}
        for stale in [d for d in PICTURES.iterdir() if d.is_dir() and d.name not in shown]:
            shutil.rmtree(stale)  # pictures of runs the record no longer holds
    doc.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
