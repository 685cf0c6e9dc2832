"""Issue 19's hostile-user probe, re-run through the real CLI and judged automatically.

    .venv/bin/python -m benchmarks.probe [--quick] [--seed 0]

Every case runs ``python -m gankit ...`` in a subprocess (a fresh interpreter, as a user runs
it) on small ring8 runs:

1. damaged run-directory files under resume, eval, sample, doctor and report; config values
   torch or numpy would reject; odd --config, --out, CSV and sample arguments; Ctrl-C during
   start-up. Pass: exit 2 with one ``error:`` line and no traceback, the run directory as it
   was (every file's hash) -- or, where gankit reads around the damage (a torn log line, a
   damaged newest checkpoint it falls back from), exit 0 without a traceback and every
   checkpoint that survives bit for bit what it was;
2. values once accepted without a check: exit 2 before training starts (no run directory);
3. silent wrong results: a checkpoint whose JSON names another step, NaN in G's EMA
   weights, a NaN stop, complex points: refused or flagged, never exit 0 with wrong output;
4. dead ends: a SIGKILL before the first checkpoint, a double Ctrl-C 50 ms apart, Ctrl-C and
   SIGKILL at each stage of the finishing phase: ``train --resume`` then goes on, and the
   finished directory holds every file, each valid;
5. SIGKILLs (half aimed at checkpoint and snapshot writes: the probe polls the run directory
   and kills the moment a ``.tmp`` file or a new checkpoint appears) and SIGINTs at random
   steps, each followed by ``train --resume`` to the end: the final weights must equal an
   uninterrupted run's bit for bit, and the steps lost (the newest step on disk at the kill
   minus the step resumed from) at most train.checkpoint_every.

Writes benchmarks/results/probe.json and docs/benchmarks/probe.md.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
GANKIT = [sys.executable, "-m", "gankit"]

# small ring8 runs: a finished one to damage (checkpoints at 40 and 60), and a longer one
# to kill (3,000 steps, checkpoints every 500)
SMALL = [
    "data.n=2000", "data.holdout=200", "model.g_hidden=[32,32]", "model.d_hidden=[32,32]",
    "train.batch_size=64", "train.threads=1", "eval.n_samples=300", "eval.w1_points=300",
    "viz.grid=16", "viz.points=100",
]  # fmt: skip
BASE = [*SMALL, "train.steps=60", "train.log_every=10", "train.snapshot_every=20",
        "train.checkpoint_every=20"]  # fmt: skip
KILL_EVERY = 500
AIM_TRIES = 3  # runs an aimed kill may take to catch its write
KILL_STEPS = 3000
KILL = [*SMALL, f"train.steps={KILL_STEPS}", "train.log_every=50", "train.snapshot_every=250",
        f"train.checkpoint_every={KILL_EVERY}"]  # fmt: skip


def sets(overrides: list[str]) -> list[str]:
    return [a for o in overrides for a in ("--set", o)]


# --- running gankit ----------------------------------------------------------------------


def gk(*args: str, cwd: Path, timeout: float = 600) -> dict[str, Any]:
    """``gankit ARGS`` in a fresh interpreter: exit code, stdout, stderr."""
    r = subprocess.run(
        [*GANKIT, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout
    )
    return {"code": r.returncode, "out": r.stdout, "err": r.stderr}


def spawn(*args: str, cwd: Path) -> tuple[subprocess.Popen, Path]:
    log = Path(tempfile.mkstemp(prefix="gankit-probe-", suffix=".err")[1])
    p = subprocess.Popen(
        [*GANKIT, *args],
        cwd=cwd,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        # a shell's background job ignores SIGINT, and a child inherits that: a user's
        # terminal delivers Ctrl-C to a process whose SIGINT is the default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    return p, log


def finish_proc(p: subprocess.Popen, log: Path, timeout: float = 600) -> dict[str, Any]:
    code = p.wait(timeout)
    err = log.read_text(errors="replace")
    log.unlink()
    return {"code": code, "out": "", "err": err}


def has_traceback(r: dict[str, Any]) -> bool:
    return "Traceback" in r["err"] or "Traceback" in r["out"]


def error_lines(r: dict[str, Any]) -> list[str]:
    return [ln for ln in r["err"].splitlines() if ln.startswith("error:")]


def one_sentence(r: dict[str, Any], code: int = 2) -> bool:
    return r["code"] == code and not has_traceback(r) and len(error_lines(r)) == 1


def first_line(r: dict[str, Any]) -> str:
    lines = error_lines(r) or [ln for ln in r["err"].splitlines() if ln.strip()]
    return (lines[0] if lines else "").strip()[:300]


# --- run directories ---------------------------------------------------------------------


def tree(run: Path) -> dict[str, str]:
    """Every file under ``run``: its hash."""
    if not run.exists():
        return {}
    return {
        str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run.rglob("*"))
        if p.is_file()
    }


def weights(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(path))


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)


def final_checkpoint(run: Path, steps: int) -> Path:
    return run / "checkpoints" / f"step_{steps:07d}.safetensors"


def jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):  # a line torn by the kill
                rows.append(json.loads(line))
    return [r for r in rows if isinstance(r, dict)]


def step_on_disk(run: Path) -> int:
    """The newest step the run had reached, as far as its files tell: the last logged step,
    the newest snapshot or checkpoint file (whole or being written)."""
    steps = [r.get("step", 0) for r in jsonl(run / "metrics.jsonl")]
    for sub in ("snapshots", "checkpoints"):
        for p in (run / sub).glob("*step_*"):
            digits = "".join(c for c in p.name.split("step_")[1][:7] if c.isdigit())
            steps.append(int(digits or 0))
    return max(steps, default=0)


def resumed_from(run: Path) -> int | None:
    """The step the newest resume (or restart) of ``run`` started from."""
    for e in reversed(jsonl(run / "events.jsonl")):
        if e.get("event") in ("resume", "restart"):
            return int(e.get("step", 0))
    return None


def finished_files_valid(run: Path) -> list[str]:
    """What is missing or invalid among a finished run's files ([] when all is well)."""
    from PIL import Image

    bad = []
    for name in (
        "eval.json",
        "training.gif",
        "snapshots/last.png",
        "curves.png",
        "doctor.json",
        "report.html",
        "config.json",
    ):
        p = run / name
        if not p.is_file() or p.stat().st_size == 0:
            bad.append(f"{name} missing or empty")
            continue
        try:
            if name.endswith(".json"):
                json.loads(p.read_text())
            elif name.endswith((".png", ".gif")):
                with Image.open(p) as im:
                    im.verify()
            elif "</html>" not in p.read_text(errors="replace")[-2000:]:
                bad.append(f"{name} truncated")
        except Exception as e:
            bad.append(f"{name} invalid ({type(e).__name__})")
    bad += [
        f"{p.relative_to(run)} is 0 bytes"
        for p in run.rglob("*")
        if p.is_file() and p.stat().st_size == 0 and not p.name.endswith(".tmp")
    ]
    return bad


def trained(run: Path) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """What training writes: the checkpoints, and the training rows of metrics.jsonl (the
    scores append rows of their own, with "eval")."""
    ckpts = {k: v for k, v in tree(run).items() if k.startswith("checkpoints/")}
    return ckpts, [r for r in jsonl(run / "metrics.jsonl") if "eval" not in r]


def _no_constant(c: str) -> Any:
    raise ValueError(f"{c} in strict JSON")


def wait_for(p: subprocess.Popen, cond, poll: float = 0.002, limit: float = 300) -> bool:
    """Poll until ``cond()`` holds (True) or the process has ended (False)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            if cond():
                return True
        except OSError:
            pass
        if p.poll() is not None:
            return False
        time.sleep(poll)
    return False


# --- the probe ---------------------------------------------------------------------------


class Probe:
    def __init__(self, tmp: Path, rng: random.Random) -> None:
        self.tmp, self.rng, self.cases = tmp, rng, []
        self.n = 0

    def record(self, group: str, name: str, command: str, ok: bool, got: str, **more: Any):
        self.cases.append(
            {"group": group, "case": name, "command": command, "pass": bool(ok), "got": got, **more}
        )
        print(f"[{'ok' if ok else 'FAIL'}] {group}: {name}: {got[:160]}", flush=True)

    def fresh(self) -> Path:
        self.n += 1
        d = self.tmp / f"c{self.n:03d}"
        d.mkdir()
        return d

    def inputs(self) -> Path:
        """The files the cases hand gankit."""
        d = self.tmp / "input"
        if not d.exists():
            d.mkdir()
            (d / "folder").mkdir()
            (d / "afile").write_text("x")
            (d / "utf16.csv").write_bytes("x,y\n0.1,0.2\n0.3,0.4\n0.5,0.6\n".encode("utf-16"))
            (d / "binary.csv").write_bytes(bytes(range(256)) * 4)
            np.save(d / "complex.npy", (np.arange(20) + 1j * np.arange(20)).reshape(10, 2))
        return d

    # a finished run to copy and damage
    def base_run(self) -> Path:
        d = self.tmp / "base"
        d.mkdir()
        r = gk("train", "ring8", *sets(BASE), "--quiet", "--out", "r", cwd=d)
        assert r["code"] == 0, r["err"]
        return d / "r"

    def reference(self, overrides: list[str], name: str) -> Path:
        d = self.tmp / name
        d.mkdir()
        r = gk("train", "ring8", *sets(overrides), "--quiet", "--out", "r", cwd=d)
        assert r["code"] == 0, r["err"]
        return d / "r"

    # 1. damaged files and refused values ---------------------------------------------
    def damaged_files(self, base: Path) -> None:
        newest = max((base / "checkpoints").glob("step_*.json"))
        newest_npz = max((base / "snapshots").glob("step_*.npz"))

        def cut(p: Path) -> None:
            p.write_bytes(p.read_bytes()[: max(1, p.stat().st_size // 2)])

        damage = {
            "checkpoint .json truncated": lambda r: cut(r / newest.relative_to(base)),
            "checkpoint .json empty": lambda r: (r / newest.relative_to(base)).write_bytes(b""),
            "checkpoint .json garbage": lambda r: (r / newest.relative_to(base)).write_bytes(
                b"\x00\xff{ not json"
            ),
            'checkpoint .json without "step"': lambda r: (r / newest.relative_to(base)).write_text(
                '{"engine": "torch"}'
            ),
            "checkpoint .json a list": lambda r: (r / newest.relative_to(base)).write_text("[]"),
            "config.json []": lambda r: (r / "config.json").write_text("[]"),
            "metrics.jsonl garbage": lambda r: (r / "metrics.jsonl").write_bytes(
                b"\x00\xff{ garbage\n"
            ),
            "eval.json garbage": lambda r: (r / "eval.json").write_bytes(b"\x00\xff{ garbage"),
            "snapshot .npz truncated": lambda r: cut(r / newest_npz.relative_to(base)),
        }
        commands = {
            "resume": ["train", "--resume", "r", "--quiet"],
            "resume longer": ["train", "--resume", "r", "--quiet", "--set", "train.steps=80"],
            "eval": ["eval", "r"],
            "sample": ["sample", "r", "--out", "s.npy"],
            "doctor": ["doctor", "r"],
            "report": ["report", "r"],
        }
        for what, hurt in damage.items():
            for cmd, args in commands.items():
                d = self.fresh()
                run = d / "r"
                shutil.copytree(base, run)
                hurt(run)
                before = tree(run)
                r = gk(*args, cwd=d)
                after = tree(run)
                if r["code"] == 2:
                    ok = one_sentence(r) and after == before
                    got = first_line(r) + ("" if after == before else " [run changed]")
                elif r["code"] == 0:  # read around: no weights rewritten otherwise than bit for bit
                    # a resume may write the checkpoints after the one it started from anew
                    # (bit for bit the same, unless a longer train.steps changes the schedule)
                    redo = resumed_from(run) if "train.steps=80" in args else None
                    kept = [
                        k
                        for k in before
                        if k.endswith(".safetensors")
                        and k in after
                        and after[k] != before[k]
                        and (redo is None or int(k.split("_")[1][:7]) <= redo)
                    ]
                    ok = not has_traceback(r) and not kept
                    warned = [ln for ln in r["err"].splitlines() if ln.startswith("warning:")]
                    got = "exit 0, read around" + (f"; {warned[0][:200]}" if warned else "")
                    got += f" [weights changed: {kept}]" if kept else ""
                else:
                    ok, got = False, f"exit {r['code']}: {r['err'].strip()[-300:]}"
                self.record(
                    "1 tracebacks",
                    f"{what} / {cmd}",
                    "gankit " + " ".join(args),
                    ok,
                    got,
                    code=r["code"],
                )

    def refused(self, group: str, name: str, args: list[str], code: int = 2) -> dict[str, Any]:
        """A command that must end in one sentence and leave no run directory."""
        d = self.fresh()
        tic = time.perf_counter()
        r = gk(*args, cwd=d)
        wall = time.perf_counter() - tic
        made = [p.name for p in d.iterdir() if p.name not in ("s.npy", "input")]
        ok = one_sentence(r, code) and not made
        got = first_line(r) if r["code"] == code else f"exit {r['code']}: {first_line(r)}"
        got += f" [left {made}]" if made else ""
        self.record(
            group, name, "gankit " + " ".join(args), ok, got, code=r["code"], wall_s=round(wall, 1)
        )
        return r

    def bad_values(self, base: Path) -> None:
        for value in [
            "optim.g_lr=-1",
            "optim.d_lr=nan",
            "optim.beta1=2",
            "train.threads=-3",
            "model.leaky_slope=nan",
            "data.noise_level=-1",
            "eval.n_samples=0",
            "viz.points=0",
            "eval.w1_points=0",
            "train.batch_size=1000000000000",
            "model.latent_dim=100000000000",
            "optim.g_lr=inf",
        ]:
            self.refused(
                "1 tracebacks",
                f"--set {value}",
                ["train", "ring8", *sets(BASE), "--set", value, "--out", "out"],
            )
        self.refused(
            "1 tracebacks",
            "--seed -1",
            ["train", "ring8", *sets(BASE), "--seed", "-1", "--out", "out"],
        )
        d = self.inputs()
        self.refused(
            "1 tracebacks",
            "--config naming a folder",
            ["train", "ring8", "--config", str(d / "folder"), "--out", "out"],
        )
        self.refused(
            "1 tracebacks",
            "--out under a file",
            ["train", "ring8", *sets(BASE), "--out", str(d / "afile" / "run")],
        )
        # unwritable: chmod does not stop root, so a place no one can write as well
        ro = d / "readonly"
        ro.mkdir(exist_ok=True)
        ro.chmod(0o555)
        root = os.geteuid() == 0
        self.refused(
            "1 tracebacks",
            "--out in an unwritable place"
            + (
                " (/proc/1: the probe runs as root, which chmod does not stop)"
                if root
                else " (a chmod 555 folder)"
            ),
            [
                "train",
                "ring8",
                *sets(BASE),
                "--out",
                "/proc/1/gankit-run" if root else str(ro / "run"),
            ],
        )
        # a binary CSV: one sentence; a UTF-16 one is text, which gankit reads (README)
        csv = ["train", "points", *sets(SMALL), "--set", "train.steps=40", "--quiet"]
        self.refused(
            "1 tracebacks",
            "a binary CSV",
            [*csv, "--set", f"data.path={d / 'binary.csv'}", "--out", "out"],
        )
        c = self.fresh()
        r = gk(*csv, "--set", f"data.path={d / 'utf16.csv'}", "--out", "out", cwd=c)
        ok = not has_traceback(r) and (
            one_sentence(r) or (r["code"] == 0 and not finished_files_valid(c / "out"))
        )
        got = "exit 0: read as UTF-16 and trained" if r["code"] == 0 else first_line(r)
        self.record(
            "1 tracebacks",
            "a UTF-16 CSV (loads or one sentence)",
            "gankit train points --set data.path=utf16.csv",
            ok,
            got,
            code=r["code"],
        )
        for name, extra in [
            ("sample --seed -1", ["--seed", "-1"]),
            ("sample -n 10000000000000", ["-n", "10000000000000"]),
        ]:
            before = tree(base)
            c = self.fresh()
            r = gk("sample", str(base), "--out", "s.npy", *extra, cwd=c)
            ok = one_sentence(r) and tree(base) == before and not (c / "s.npy").exists()
            self.record(
                "1 tracebacks",
                name,
                f"gankit sample RUN {' '.join(extra)}",
                ok,
                first_line(r) if r["code"] == 2 else f"exit {r['code']}: {first_line(r)}",
                code=r["code"],
            )
        # Ctrl-C during start-up: exit 130, one line
        for delay in (0.3, 1.0, 2.0):
            c = self.fresh()
            p, log = spawn("train", "ring8", *sets(BASE), "--quiet", "--out", "r", cwd=c)
            time.sleep(delay)
            p.send_signal(signal.SIGINT)
            r = finish_proc(p, log)
            lines = [ln for ln in r["err"].splitlines() if ln.strip()]
            ok = r["code"] == 130 and not has_traceback(r) and len(lines) == 1
            after = ""
            if r["code"] == 130 and (c / "r").exists():  # it had begun: it must go on
                rr = gk("train", "--resume", "r", "--quiet", cwd=c)
                ok &= rr["code"] == 0
                after = f"; then --resume: exit {rr['code']}"
            self.record(
                "1 tracebacks",
                f"Ctrl-C {delay:g} s into start-up",
                "gankit train ring8 ... (SIGINT)",
                ok,
                f"exit {r['code']}: {' | '.join(lines)[:200]}{after}",
                code=r["code"],
            )

    # 2. accepted without a check -------------------------------------------------------
    def unchecked(self) -> None:
        for value in [
            "train.steps=true",
            "loss.r1=-1",
            "loss.clip=-1",
            "viz.grid=0",
            "data.n=1",
            "viz.fps=0",
        ]:
            extra = ["--set", "loss.name=wgan"] if value.startswith("loss.clip") else []
            self.refused(
                "2 unchecked",
                f"--set {value}",
                ["train", "ring8", *sets(BASE), *extra, "--set", value, "--out", "out"],
            )

    # 3. silent wrong results -----------------------------------------------------------
    def silent(self, base: Path) -> None:
        g = "3 silent wrong results"
        # a checkpoint's JSON whose step disagrees with its name
        newest = max((base / "checkpoints").glob("step_*.json"))
        for cmd, args in [
            ("resume", ["train", "--resume", "r", "--quiet", "--set", "train.steps=80"]),
            ("eval", ["eval", "r"]),
            ("sample", ["sample", "r", "--out", "s.npy"]),
        ]:
            d = self.fresh()
            shutil.copytree(base, d / "r")
            j = d / "r" / newest.relative_to(base)
            j.write_text(json.dumps({**json.loads(j.read_text()), "step": 5}))
            before = tree(d / "r")
            r = gk(*args, cwd=d)
            relabelled = resumed_from(d / "r") == 5
            ok = one_sentence(r) and tree(d / "r") == before and not relabelled
            self.record(
                g,
                f'checkpoint .json "step": 5 in {newest.name} / {cmd}',
                "gankit " + " ".join(args),
                ok,
                (first_line(r) if r["code"] == 2 else f"exit {r['code']}")
                + (" [resumed as step 5]" if relabelled else ""),
                code=r["code"],
            )
        # NaN in G's EMA weights
        from safetensors.numpy import save_file

        for cmd, args in [
            ("sample", ["sample", "r", "--out", "s.npy"]),
            ("eval", ["eval", "r"]),
            ("export", ["export", "r", "--out", "ex"]),
        ]:
            d = self.fresh()
            shutil.copytree(base, d / "r")
            w = max((d / "r" / "checkpoints").glob("step_*.safetensors"))
            state = weights(w)
            key = sorted(k for k in state if k.startswith("G_ema."))[0]
            state[key] = np.full_like(state[key], np.nan)
            save_file(state, str(w))
            before = tree(d / "r")
            r = gk(*args, cwd=d)
            wrote = (d / "s.npy").exists() or (d / "ex").exists()
            ok = one_sentence(r) and not wrote and tree(d / "r") == before
            self.record(
                g,
                f"NaN in {key} / {cmd}",
                "gankit " + " ".join(args),
                ok,
                first_line(r)
                if r["code"] == 2
                else f"exit {r['code']}" + (" [wrote samples]" if wrote else ""),
                code=r["code"],
            )
        # a NaN stop: exit 3, one sentence, and a directory eval/doctor/report still read
        d = self.fresh()
        blow = ["optim.g_lr=1e30", "optim.d_lr=1e30"]
        r = gk("train", "ring8", *sets(BASE), *sets(blow), "--quiet", "--out", "r", cwd=d)
        ok = one_sentence(r, 3)
        notes = [f"exit {r['code']}: {first_line(r)}"]
        if (d / "r" / "config.json").is_file():
            try:
                json.loads((d / "r" / "config.json").read_text(), parse_constant=_no_constant)
            except ValueError:
                ok, notes = False, [*notes, "config.json holds NaN/inf"]
            for cmd in (
                ["doctor", "r"],
                ["report", "r"],
                ["eval", "r"],
                ["train", "--resume", "r", "--quiet"],
            ):
                rr = gk(*cmd, cwd=d)
                fine = rr["code"] in (0, 2, 3) and not has_traceback(rr)
                ok &= fine
                notes.append(f"{' '.join(cmd[:2])}: exit {rr['code']}")
        self.record(
            g,
            "a NaN stop (optim.g_lr=1e30, optim.d_lr=1e30)",
            "gankit train ring8 --set optim.g_lr=1e30 --set optim.d_lr=1e30",
            ok,
            "; ".join(notes),
            code=r["code"],
        )
        # complex points
        self.refused(
            g,
            "a complex .npy of points",
            [
                "train",
                "points",
                *sets(SMALL),
                "--set",
                f"data.path={self.inputs() / 'complex.npy'}",
                "--out",
                "out",
            ],
        )

    # 4. dead ends ----------------------------------------------------------------------
    def dead_ends(self, ref: Path, base_ref: Path) -> None:
        g = "4 dead ends"
        final = final_checkpoint(ref, KILL_STEPS)
        # SIGKILL before the first checkpoint
        d = self.fresh()
        p, log = spawn("train", "ring8", *sets(KILL), "--quiet", "--out", "r", cwd=d)
        hit = wait_for(p, lambda: (d / "r" / "config.json").is_file())
        p.kill()
        finish_proc(p, log)
        had = [x.name for x in (d / "r" / "checkpoints").glob("step_*")] if hit else []
        r = gk("train", "--resume", "r", "--quiet", cwd=d)
        ok = (
            hit
            and not had
            and r["code"] == 0
            and same_weights(final_checkpoint(d / "r", KILL_STEPS), final)
        )
        self.record(
            g,
            "SIGKILL before the first checkpoint, then --resume",
            "gankit train ring8 ... (SIGKILL once config.json exists); gankit train --resume D",
            ok,
            f"checkpoints at the kill: {had or 'none'}; --resume exit {r['code']}; "
            f"final weights {'equal' if ok else 'differ'} to a fresh run's "
            f"(bad files: {finished_files_valid(d / 'r')})",
        )
        # double Ctrl-C 50 ms apart
        for at in (1000, 1750):
            d = self.fresh()
            p, log = spawn("train", "ring8", *sets(KILL), "--quiet", "--out", "r", cwd=d)
            wait_for(p, lambda d=d, at=at: step_on_disk(d / "r") >= at)
            at = step_on_disk(d / "r")  # read just before the first signal
            p.send_signal(signal.SIGINT)
            time.sleep(0.05)
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
            first = finish_proc(p, log)
            lines = [ln for ln in first["err"].splitlines() if ln.strip()]
            r = gk("train", "--resume", "r", "--quiet", cwd=d)
            back = resumed_from(d / "r")
            same = r["code"] == 0 and same_weights(final_checkpoint(d / "r", KILL_STEPS), final)
            lost = max(0, at - (back or 0))
            ok = (
                first["code"] == 130
                and not has_traceback(first)
                and bool(lines)
                and same
                and lost <= KILL_EVERY
            )
            self.record(
                g,
                f"double Ctrl-C 50 ms apart at step ~{at}",
                "gankit train ring8 ... (SIGINT, 50 ms, SIGINT); gankit train --resume D",
                ok,
                f"exit {first['code']}: {' | '.join(lines)[:200]}; resumed from "
                f"{back} (lost {lost}); final weights {'equal' if same else 'differ'}",
                steps_lost=lost,
            )
        # Ctrl-C and SIGKILL during the finishing phase
        base_final = final_checkpoint(base_ref, 60)
        stages = {
            "after training ends (scores)": lambda r: any(
                e.get("event") == "end" for e in jsonl(r / "events.jsonl")
            ),
            "once eval.json is written (GIF)": lambda r: (r / "eval.json").is_file(),
            "once training.gif is written (curves)": lambda r: (r / "training.gif").is_file(),
            "once curves.png is written (doctor)": lambda r: (r / "curves.png").is_file(),
            "once doctor.json is written (report)": lambda r: (r / "doctor.json").is_file(),
        }
        for stage, cond in stages.items():
            for sig in (signal.SIGINT, signal.SIGKILL):
                d = self.fresh()
                run = d / "r"
                p, log = spawn("train", "ring8", *sets(BASE), "--quiet", "--out", "r", cwd=d)
                hit = wait_for(p, lambda run=run, cond=cond: cond(run))
                p.send_signal(sig)
                first = finish_proc(p, log)
                missing_then = [
                    n
                    for n in (
                        "eval.json",
                        "training.gif",
                        "curves.png",
                        "doctor.json",
                        "report.html",
                    )
                    if not (run / n).is_file()
                ]
                kept = trained(run)
                r = gk("train", "--resume", "r", "--quiet", cwd=d)
                bad = finished_files_valid(run)
                retrained = trained(run) != kept
                same = same_weights(final_checkpoint(run, 60), base_final)
                ok = r["code"] == 0 and not bad and not retrained and same
                ok &= sig == signal.SIGKILL or (
                    first["code"] in (0, 130) and not has_traceback(first)
                )
                self.record(
                    g,
                    f"{sig.name} {stage}, then --resume",
                    f"gankit train ring8 ... ({sig.name}); gankit train --resume D",
                    ok,
                    f"{'hit' if hit else 'missed (it ended first)'}; exit "
                    f"{first['code']}, missing {missing_then or 'nothing'}; --resume "
                    f"exit {r['code']}: {first_line(r)[:80] or 'ok'}; "
                    f"{'retrained!' if retrained else 'no training'}; "
                    f"bad files {bad or 'none'}",
                )

    # 5. kills at random points ---------------------------------------------------------
    def kills(self, ref: Path, n_kill: int, n_int: int) -> None:
        g = "5 kills"
        final = final_checkpoint(ref, KILL_STEPS)
        aims = [
            "checkpoint .tmp",
            "new checkpoint",
            "snapshot .tmp",
            "new snapshot",
            "checkpoint .tmp",
        ]
        plan = [("SIGKILL", aims[i] if i < n_kill // 2 else "random") for i in range(n_kill)]
        plan += [("SIGINT", "random")] * n_int
        for sig_name, aim in plan:
            # an aimed kill starts early enough that a checkpoint (or snapshot) write still
            # follows; one that still misses it (the run ended first) is tried on a new run
            for _ in range(AIM_TRIES):
                d = self.fresh()
                run = d / "r"
                last = KILL_STEPS - (100 if aim == "random" else KILL_EVERY + 50)
                at = self.rng.randrange(50, last)
                p, log = spawn("train", "ring8", *sets(KILL), "--quiet", "--out", "r", cwd=d)
                wait_for(p, lambda run=run, at=at: step_on_disk(run) >= at)
                if aim == "random":
                    time.sleep(self.rng.uniform(0, 0.1))  # somewhere in the next chunk
                    cond = None
                else:
                    sub = "checkpoints" if "checkpoint" in aim else "snapshots"
                    seen = {x.name for x in (run / sub).iterdir()}

                    def cond(run=run, sub=sub, aim=aim, seen=seen) -> bool:
                        names = {x.name for x in (run / sub).iterdir()} - seen
                        if aim.endswith(".tmp"):
                            return any(n.endswith(".tmp") for n in names)
                        return any(not n.endswith(".tmp") for n in names)

                hit = cond is None or wait_for(p, cond, poll=0.0005)
                sig = signal.SIGKILL if sig_name == "SIGKILL" else signal.SIGINT
                on_disk = step_on_disk(run)  # read just before the signal
                if p.poll() is None:
                    p.send_signal(sig)
                first = finish_proc(p, log)
                if hit:
                    break
            if sig == signal.SIGINT:  # the step it stopped at: what the interrupt message says
                stops = [
                    e["step"]
                    for e in jsonl(run / "events.jsonl")
                    if e.get("event") == "interrupted"
                ]
                on_disk = max([on_disk, *stops])
            tmp_left = [str(x.relative_to(run)) for x in run.rglob("*.tmp")]
            r = gk("train", "--resume", "r", "--quiet", cwd=d)
            back = resumed_from(run)
            resumed = back if back is not None else 0
            lost = max(0, on_disk - resumed)
            same = r["code"] == 0 and same_weights(final_checkpoint(run, KILL_STEPS), final)
            bad = finished_files_valid(run)
            ok = same and lost <= KILL_EVERY and not bad and hit
            if sig == signal.SIGINT:
                ok &= first["code"] == 130 and not has_traceback(first)
            self.record(
                g,
                f"{sig_name} at step ~{on_disk} ({aim}{'' if hit else ', missed'})",
                "gankit train ring8 ... ; gankit train --resume D",
                ok,
                f"exit {first['code']}; resumed from {back}; lost {lost} steps; final "
                f"weights {'bit-for-bit equal' if same else 'DIFFER'}; "
                f"bad files {bad or 'none'}; stray .tmp {tmp_left or 'none'}",
                signal=sig_name,
                aim=aim,
                step_at_kill=on_disk,
                resumed_from=back,
                steps_lost=lost,
                bit_for_bit=same,
            )


def render(result: dict[str, Any]) -> str:
    cases = result["cases"]
    by = {}
    for c in cases:
        by.setdefault(c["group"], []).append(c)
    kills = [c for c in cases if c["group"] == "5 kills"]
    losts = [c["steps_lost"] for c in cases if "steps_lost" in c]
    fails = [c for c in cases if not c["pass"]]

    def count(group: str) -> str:
        cs = by.get(group, [])
        return f"{sum(not c['pass'] for c in cs)} of {len(cs)}"

    lines = [
        "# Probe: issue 19's hostile user, re-run",
        "",
        f"`python -m benchmarks.probe{' --quick' if result['quick'] else ''}` "
        f"(seed {result['seed']}): every case of issue 19 through `python -m gankit` in a "
        "fresh process, judged automatically (benchmarks/probe.py says how); results in "
        "benchmarks/results/probe.json.",
        "",
        f"Machine: {result['machine']}; {result['date']}; {result['wall_s'] / 60:.0f} min.",
        "",
        "| target | measured |",
        "| --- | --- |",
        f"| 0 tracebacks (damaged files, bad values and arguments: exit 2, one sentence, "
        f"run intact) | {count('1 tracebacks')} failed |",
        f"| values once accepted unchecked refused at the door | {count('2 unchecked')} failed |",
        f"| 0 silent wrong results | {count('3 silent wrong results')} failed |",
        f"| 0 dead-end directories | {count('4 dead ends')} failed |",
        f"| every kill loses at most train.checkpoint_every = {KILL_EVERY} steps | most lost: "
        f"{max(losts, default=0)} (of {len(losts)} interruptions) |",
        f"| bit-for-bit resume after {sum(c['signal'] == 'SIGKILL' for c in kills)} SIGKILLs "
        f"and {sum(c['signal'] == 'SIGINT' for c in kills)} SIGINTs | "
        f"{sum(c['bit_for_bit'] for c in kills)} of {len(kills)} equal |",
        "",
    ]
    if fails:
        lines += ["## Failures", ""]
        lines += [f"* {c['group']}: {c['case']}: {c['got']}" for c in fails]
        lines += [""]
    for group, cs in by.items():
        lines += [f"## {group}", "", "| case | result | what gankit did |", "| --- | --- | --- |"]
        for c in cs:
            got = c["got"].replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {c['case']} | {'pass' if c['pass'] else '**FAIL**'} | {got} |")
        lines.append("")
    lines += result.get("notes", [])
    return "\n".join(lines) + "\n"


NOTES = [
    "Notes: the first kill cases fire when the run's files reach a random step (metrics.jsonl,",
    "a snapshot or a checkpoint of that step), then after a random wait of up to 0.1 s; the aimed",
    "ones poll the run directory every 0.5 ms and kill the moment a new `.tmp` or a new file",
    "appears in checkpoints/ or snapshots/. Steps lost: the newest step on disk at the kill",
    "(the step being written, for an aimed kill) minus the step `--resume` started from; the",
    "run may have trained up to one logging interval past the newest step on disk.",
    "",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 SIGKILLs and 2 SIGINTs, not 10 and 10")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="*", default=None, help="groups to run: 1 2 3 4 5")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "probe.md")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "probe.json")
    args = ap.parse_args()

    from benchmarks.toy import machine

    tic = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="gankit-probe-"))
    probe = Probe(tmp, random.Random(args.seed))
    only = set(args.only or "12345")
    try:
        base = probe.base_run()
        probe.inputs()
        if "1" in only:
            probe.damaged_files(base)
            probe.bad_values(base)
        if "2" in only:
            probe.unchecked()
        if "3" in only:
            probe.silent(base)
        if {"4", "5"} & only:
            ref = probe.reference(KILL, "reference")
            if "4" in only:
                probe.dead_ends(ref, base)
            if "5" in only:
                probe.kills(ref, 3 if args.quick else 10, 2 if args.quick else 10)
    finally:
        result = {
            "machine": machine(),
            "date": time.strftime("%Y-%m-%d"),
            "seed": args.seed,
            "quick": args.quick,
            "wall_s": time.perf_counter() - tic,
            "kill_config": KILL,
            "base_config": BASE,
            "cases": probe.cases,
            "notes": NOTES,
        }
        for p in tmp.rglob("*"):  # the read-only folder, so rmtree can go
            if p.is_dir():
                p.chmod(0o755)
        shutil.rmtree(tmp, ignore_errors=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    args.out.write_text(render(result))
    print(
        f"wrote {args.json} and {args.out}: {sum(not c['pass'] for c in probe.cases)} failed "
        f"of {len(probe.cases)}"
    )


if __name__ == "__main__":
    main()
