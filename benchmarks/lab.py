"""gankit lab's targets, measured: training in the lab against `gankit train` on the same
config, the page's redraw rate in headless Chromium (its own frame counter,
``window.labStats``), the step-to-redraw latency, and an idle (paused) server's CPU use.

    .venv/bin/python -m benchmarks.lab [--seconds 12]

Writes benchmarks/results/lab.json and docs/benchmarks/lab.md. The config is what the lab
trains for ring8 (its preset with the lab's defaults, gankit.lab.controls.LAB_DEFAULTS);
`gankit train` runs it in this process, the lab as `gankit lab` in a child process with the
page open in headless Chromium (/usr/bin/chromium) on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.toy import machine

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "lab.json"
DOC = ROOT / "docs" / "benchmarks" / "lab.md"
CHROMIUM = "/usr/bin/chromium"
TRAIN_STEPS = 3000  # iterations of each `gankit train` measurement (about 8 s here)
ROUNDS = 3  # `gankit train` and the lab playing, taken in turns: the load drifts


def train_rate(steps: int = TRAIN_STEPS) -> float:
    """`gankit train`'s iterations/s on the lab's ring8 config: ``steps`` over the time of
    its training loop (rows, signals, snapshots, the live doctor and checkpoints, as the
    lab's loop has them, bar checkpoints), without start-up or the end-of-run pictures."""
    from unittest import mock

    from gankit import training
    from gankit.lab.controls import lab_config

    real, took = training._loop, []

    def timed(*args: object, **kwargs: object) -> object:
        tic = time.perf_counter()
        out = real(*args, **kwargs)
        took.append(time.perf_counter() - tic)
        return out

    cfg = lab_config("ring8", overrides=[f"train.steps={steps}"])
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(training, "_loop", timed):
        training.start(cfg, Path(tmp) / "run", progress=False)
    return steps / took[0]


def worker_numbers(seconds: float) -> dict:
    """The lab's training thread without a server or browser (frames built and dropped),
    against the same session trained bare (no frames), interleaved in this process: what
    the frames themselves cost, apart from the browser's share of the cores."""
    from gankit.lab.controls import lab_config
    from gankit.lab.session import Session
    from gankit.lab.worker import Worker

    frames = [0]
    session = Session(config=lab_config("ring8"))
    session.iterate(50)
    worker = Worker(session, lambda _: frames.__setitem__(0, frames[0] + 1))
    worker.start()
    worker.connected(+1)
    rates: dict[str, list[float]] = {"worker": [], "bare": [], "fps": []}
    for _ in range(2):
        worker.submit({"op": "play"}, print)
        time.sleep(0.5)
        s0, frames[0], t0 = session.step, 0, time.monotonic()
        time.sleep(seconds / 4)
        rates["worker"].append((session.step - s0) / (time.monotonic() - t0))
        rates["fps"].append(frames[0] / (time.monotonic() - t0))
        worker.submit({"op": "pause"}, print)
        time.sleep(0.5)
        s0, t0 = session.step, time.monotonic()
        session.iterate(max(50, int(rates["worker"][-1] * seconds / 4)))
        rates["bare"].append((session.step - s0) / (time.monotonic() - t0))
    worker.stop()
    return {
        "worker_rate": statistics.median(rates["worker"]),
        "worker_fps": statistics.median(rates["fps"]),
        "bare_rate": statistics.median(rates["bare"]),
    }


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # a process gone meanwhile
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _chromium_pids() -> list[int]:
    pids = []
    for d in Path("/proc").glob("[0-9]*"):
        try:
            if b"chromium" in (d / "cmdline").read_bytes():
                pids.append(int(d.name))
        except OSError:
            continue
    return pids


ROUND_KEYS = ("train_rate", "lab_rate", "ratio", "page_fps", "cores_server", "cores_chromium")


def lab_numbers(seconds: float) -> dict:
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "gankit", "lab", "--port", str(port), "--no-open"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
    out: dict = {}
    try:
        proc.stderr.readline()  # "gankit lab at ...": serving
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1300, "height": 950})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function("window.labStats && window.labStats.frames > 0")
            train_rate(200)  # warm-up of this process's torch
            stats = "[window.labFrame.panels[0].step, window.labStats.frames, performance.now()]"
            pids = _chromium_pids()
            rounds: dict[str, list[float]] = {k: [] for k in ROUND_KEYS}
            for _ in range(ROUNDS):
                # `gankit train` with the lab paused beside it (its page open), then the lab
                rounds["train_rate"].append(train_rate())
                page.click("#play")
                time.sleep(2)  # warm-up
                cpu0 = (_cpu_seconds(proc.pid), sum(map(_cpu_seconds, pids)))
                s0, f0, t0 = page.evaluate(stats)
                time.sleep(seconds)
                s1, f1, t1 = page.evaluate(stats)
                cpu1 = (_cpu_seconds(proc.pid), sum(map(_cpu_seconds, pids)))
                page.click("#play")  # pause
                wall = (t1 - t0) / 1000
                # cores each side got while playing: on a busy machine, less than it asks for
                rounds["cores_server"].append((cpu1[0] - cpu0[0]) / wall)
                rounds["cores_chromium"].append((cpu1[1] - cpu0[1]) / wall)
                rounds["lab_rate"].append((s1 - s0) / wall)
                rounds["page_fps"].append((f1 - f0) / wall)
                rounds["ratio"].append(rounds["lab_rate"][-1] / rounds["train_rate"][-1])
                time.sleep(1)
            out["rounds"] = rounds
            out.update({k: statistics.median(v) for k, v in rounds.items()})
            time.sleep(1)
            page.evaluate("window.labStats.latencies = []")
            for _ in range(30):
                page.click("#step")
                time.sleep(0.2)
            lat = page.evaluate("window.labStats.latencies")
            out["latency_ms"] = {"median": statistics.median(lat), "max": max(lat), "n": len(lat)}
            time.sleep(2)
            c0, w0 = _cpu_seconds(proc.pid), time.monotonic()
            time.sleep(seconds)
            out["idle_cpu_open_tab"] = (_cpu_seconds(proc.pid) - c0) / (time.monotonic() - w0)
            page.close()
            browser.close()
        time.sleep(1)
        c0, w0 = _cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        out["idle_cpu_no_tab"] = (_cpu_seconds(proc.pid) - c0) / (time.monotonic() - w0)
    finally:
        proc.send_signal(2)
        proc.wait(timeout=30)
    return out


def rates(r: dict, key: str) -> str:
    return ", ".join(f"{v:.0f}" for v in r["rounds"][key])


def write_doc(r: dict, command: str) -> None:
    ratio = r["ratio"]
    lat = r["latency_ms"]
    rows = [
        ("lab training vs `gankit train` (iterations/s)",
         f"{r['lab_rate']:.0f} vs {r['train_rate']:.0f}: {100 * ratio:.0f} %", "≥ 80 %",
         ratio >= 0.8),
        ("without a browser: the lab's thread (frames built, dropped) vs its loop bare",
         f"{r['worker_rate']:.0f} vs {r['bare_rate']:.0f} = "
         f"{100 * r['worker_rate'] / r['bare_rate']:.0f} % at {r['worker_fps']:.0f} frames/s",
         "", None),
        ("page redraws (frames/s, the page's own counter)", f"{r['page_fps']:.1f}", "≥ 20",
         r["page_fps"] >= 20),
        (f"'Step' pressed to views redrawn (median of {lat['n']}; max)",
         f"{lat['median']:.0f} ms ({lat['max']:.0f} ms)", "≤ 100 ms", lat["median"] <= 100),
        ("idle server, paused, page open (share of one core)",
         f"{100 * r['idle_cpu_open_tab']:.2f} %", "< 2 %", r["idle_cpu_open_tab"] < 0.02),
        ("idle server, no page (share of one core)", f"{100 * r['idle_cpu_no_tab']:.2f} %",
         "< 2 %", r["idle_cpu_no_tab"] < 0.02),
        ("while playing: cores the server got, cores Chromium got",
         f"{r['cores_server']:.2f}, {r['cores_chromium']:.2f}", "", None),
    ]  # fmt: skip
    table = "| target | measured | goal | |\n| --- | ---: | ---: | --- |\n" + "\n".join(
        f"| {what} | {got} | {goal} | {'' if ok is None else 'met' if ok else '**missed**'} |"
        for what, got, goal, ok in rows
    )
    before, after = r["load_average"]
    load_note = f"The machine's 1-minute load average was {before} before and {after} after" + (
        ": other work shared its 2 cores, so the numbers move by tens of per cent from "
        "one run to the next."
        if max(before, after) > 1.5
        else " (nothing else running)."
    )
    DOC.write_text(
        f"""# gankit lab: speed, redraw rate, latency, idle cost

`{command}` on {r["machine"]}, {r["date"]}. The config is the lab's ring8 (preset ring8 with
the lab's defaults: constant learning rates, no EMA; rows every 50 iterations and doctor
checks every 100, as in `gankit train`). The page ran in headless Chromium on the same
machine, drawing every frame the server sent.

{load_note}

{table}

Reading them: while the lab played, its server process got {r["cores_server"]:.2f} of a core
and Chromium {r["cores_chromium"]:.2f} (medians). The row without a browser isolates the
lab's own cost: its training thread, building and dropping frames at {r["worker_fps"]:.0f}
frames/s, ran at {100 * r["worker_rate"] / r["bare_rate"]:.0f} % of its loop without frames.
numpy's BLAS follows the torch engine's one thread for MLPs (`gankit/engines/torch/engine.py`):
until 2026-12-04 an idle OpenBLAS thread spun on about half a core of the two, beside the
training, and the lab measured 55-59 % of `gankit train`.

How each is measured:

* **`gankit train`**: the lab's ring8 config trained for {TRAIN_STEPS:,} iterations in this
  process (the lab paused beside it, its page open); the rate is those iterations over the
  time of the training loop (`gankit.training._loop`: rows, signals, snapshots, the live
  doctor, checkpoints), so start-up and the end-of-run pictures are left out.
* **lab training**: the step counter of the frames the page drew, over {r["seconds"]:.0f} s
  of play after 2 s of warm-up. The lab pays for what `gankit train` pays for (rows, the
  doctor's signals, snapshots) and for its frames: each frame is one call of G and one of
  D (samples, D's field, G's push, the manifold) and a JSON message, at most 22 a second.
* **taken in turns**: {ROUNDS} rounds of `gankit train` then the lab playing; the ratio is
  the median of the rounds' ratios (the rounds: lab {rates(r, "lab_rate")}, `gankit train`
  {rates(r, "train_rate")} iterations/s), as the machine's load drifts over the minutes
  this takes.
* **without a browser**: the lab's training thread in this process, frames built at its
  rate and dropped, against the same session trained with no frames, interleaved twice:
  what the frames themselves cost. Chromium draws the canvases in software here (no GPU),
  on the same two cores.
* **page redraws**: `window.labStats.frames`, counted by the page each time it draws a new
  frame from the server (not animation frames without new data).
* **latency**: the page stamps each command; when a frame acknowledging it is drawn,
  `performance.now()` minus the stamp goes to `window.labStats.latencies`.
* **cores while playing**: the CPU time the server process and all of Chromium's processes
  used over the play window, per second. The lab's thread trains flat out when playing, so
  a server that got much less than one core was waiting for one.
* **idle**: the server process's CPU time (utime + stime in /proc) over {r["seconds"]:.0f} s
  paused, with its page open and with none.
"""
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--rewrite", action="store_true", help="rewrite the page from the results")
    args = ap.parse_args()
    command = "python -m benchmarks.lab" + (
        f" --seconds {args.seconds:g}" if args.seconds != 12.0 else ""
    )
    load_before = os.getloadavg()[0]
    if args.rewrite:
        r = json.loads(RESULTS.read_text())
        write_doc(r, r.get("command", command))
        return
    r = {**worker_numbers(args.seconds), **lab_numbers(args.seconds)}
    r.update(machine=machine(), date=time.strftime("%Y-%m-%d"), seconds=args.seconds)
    r["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    r["command"] = command
    RESULTS.write_text(json.dumps(r, indent=2) + "\n")
    write_doc(r, command)
    print(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
