"""Training speed: gankit's loop against the plain PyTorch loop, every preset, CPU and GPU.

    .venv/bin/python -m benchmarks.speed [--presets ring8 dcgan ...] [--devices cpu cuda]

Writes benchmarks/results/speed.json and docs/benchmarks/speed.md. Each row is one
`gankit bench` measurement (gankit.bench: same networks, same process, warm-up, best of three
interleaved windows); the GPU part runs when CUDA is available, with dcgan also at batch 512.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from benchmarks.toy import machine
from gankit.bench import bench_configs, measure
from gankit.config import load_config, preset_names

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "speed.json"
EXTRA_GPU_RUNS = [("dcgan", 512)]  # the second DCGAN target
# five critic steps with a double-backward gradient penalty on 210x160 frames: about half a
# minute per iteration at the preset's batch 64 on 2 cores; a smaller batch keeps the CPU
# part of the benchmark within minutes (the row says which batch)
CPU_BATCH = {"breakout-wgan": 16}
CPU_RATIO = 1.3
TOY_GPU_RATIO = 10.0
BREAKOUT_BUDGET_S = 120.0  # 100 epochs over 10,000 frames


def _load(results: dict, key: str) -> str:
    value = results.get(key)
    return f"{value:.2f}" if isinstance(value, int | float) else "?"


def _window(results: dict) -> str:
    """The timed window's length, from the command the results were measured with."""
    words = results.get("command", "").split()
    return words[words.index("--window") + 1] if "--window" in words else "1.0"


def _rounds(results: dict) -> int:
    """Timed windows per loop, as the rows record it (3 before it was recorded)."""
    rows = [r for device_rows in results["rows"].values() for r in device_rows]
    return max((r.get("rounds", 3) for r in rows), default=3)


def run_device(device: str, presets: list[str], window_s: float) -> list[dict]:
    runs = [(p, CPU_BATCH.get(p) if device == "cpu" else None, []) for p in presets]
    if device == "cuda":
        runs += [(p, b, []) for p, b in EXTRA_GPU_RUNS if p in presets]
        # bf16 autocast is off by default until these rows show where it helps
        runs += [(p, b, ["train.precision=bf16"]) for p, b, _ in list(runs)]
    rows = []
    for preset, batch, sets in runs:
        (cfg,) = bench_configs([preset], batch, device, sets)
        row = measure(cfg, window_s=window_s)
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def _row(rows: list[dict], preset: str, batch: int | None = None) -> dict | None:
    for r in rows:
        if r["preset"] == preset and (batch is None or r["batch"] == batch):
            return r
    return None


def breakout_seconds(row: dict) -> float:
    """Seconds for the breakout preset's own run: train.steps iterations (100 epochs of its
    batches over 10,000 frames) at the measured images/s."""
    cfg = load_config("breakout")
    images = cfg.train.steps * cfg.train.batch_size * cfg.train.d_steps
    return images / row["gankit"]


def _ratio(ratio: float) -> str:
    """Two decimals, three where two would round it onto the other side of the line."""
    two = f"{ratio:.2f}x"
    return two if (round(ratio, 2) >= CPU_RATIO) == (ratio >= CPU_RATIO) else f"{ratio:.3f}x"


def targets(results: dict) -> list[tuple[str, str, str]]:
    """The issue's targets beside this run's numbers, judged from them."""
    yes = lambda ok: "yes" if ok else "**no**"  # noqa: E731
    rows = []
    cpu = results["rows"].get("cpu", [])
    for r in cpu:
        rows.append((f"CPU: {r['preset']} ≥ {CPU_RATIO}x the plain loop", _ratio(r["ratio"]),
                     yes(r["ratio"] >= CPU_RATIO)))  # fmt: skip
    gpu = results["rows"].get("cuda", [])
    absent = "not measured: no GPU in this session"
    for batch, floor, ratio in ((128, 40_000, 3.0), (512, 60_000, 2.2)):
        name = f"GPU: dcgan 64x64 ≥ {floor:,} images/s and ≥ {ratio}x plain at batch {batch}"
        r = _row(gpu, "dcgan", batch)
        if r is None:
            rows.append((name, absent, "-"))
        else:
            rows.append((name, f"{r['gankit']:,.0f} images/s, {r['ratio']:.2f}x",
                         yes(r["gankit"] >= floor and r["ratio"] >= ratio)))  # fmt: skip
    name = "GPU: breakout (210x160) 100 epochs over 10,000 frames ≤ 2 min"
    r = _row(gpu, "breakout")
    if r is None:
        rows.append((name, absent, "-"))
    else:
        s = breakout_seconds(r)
        rows.append((name, f"{s:.0f} s", yes(s <= BREAKOUT_BUDGET_S)))
    toy = [r for r in gpu if r["unit"] == "steps/s"]
    if not toy:
        rows.append((f"GPU: toy MLP presets ≥ {TOY_GPU_RATIO:.0f}x the plain loop", absent, "-"))
    for r in toy:
        rows.append((f"GPU: {r['preset']} ≥ {TOY_GPU_RATIO:.0f}x the plain loop",
                     f"{r['ratio']:.2f}x", yes(r["ratio"] >= TOY_GPU_RATIO)))  # fmt: skip
    return rows


def table(rows: list[dict]) -> list[str]:
    out = [
        "| preset | unit | batch | precision | threads | gankit | plain loop | ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        out.append(
            f"| {r['preset']} | {r['unit']} | {r['batch']} | {r['precision']} | "
            f"{r['threads']} | {r['gankit']:,.0f} | {r['plain']:,.0f} | {_ratio(r['ratio'])} |"
        )
    return out


def write_markdown(results: dict) -> str:
    lines = [
        "# Training speed: gankit against the plain PyTorch loop",
        "",
        f"Command: `{results['command']}`  ",
        f"Date: {results['date']}  ",
        f"Machine: {results['machine']}  ",
        # other work on the machine slows both loops, multi-threaded ones the most
        f"Load average (1 min) before / after: {_load(results, 'load_before')} / "
        f"{_load(results, 'load_after')}; the whole run took {results.get('wall_s', '?')} s.",
        "",
        "Each row is `gankit bench PRESET` (`gankit/bench.py`). gankit's figure is "
        "`TorchEngine.train(n)`, the loop `gankit train` runs: data resident on the device, "
        "batches and noise drawn there, one D pass over real and fake (two where D has "
        "batch-norm: breakout, dcgan), fused Adam, "
        "channels-last convolutions, DCGAN's transposed convolutions from a 1x1 input or to "
        "a few channels as matrix products (`ProductConvTranspose2d`), minibatch-std from "
        "two means, the gradient penalties' input gradient (R1, WGAN-GP) as D's transpose in "
        "first-order convolutions, R1's taken from the step's own pass over real and fake "
        "(`gankit/engines/torch/input_grad.py`), statistics read once "
        "per call, bf16 autocast where the preset asks for it (breakout-fast: "
        "`train.precision = auto`, bf16 on a CPU that has it natively); plain MLPs on the "
        "CPU (the point presets and digits) step by hand, batch-norm and R1 included, "
        "without autograd (`gankit/engines/torch/by_hand.py`). The plain loop "
        "(`gankit/plain_loop.py`) is what a user writes: a DataLoader over a TensorDataset "
        "of float samples in memory (shuffled, drop_last; on a GPU the data stays on the CPU "
        "and each batch is copied over), separate D passes on real and fake, fp32, eager, "
        "`torch.optim.Adam` with default flags, `loss.item()` every step, torch's own "
        "modules, minibatch-std through `torch.var`, the penalties through autograd's double "
        "backward. Both run the preset's networks from the same initial weights and the same "
        "maths (loss, lazy R1, "
        "EMA of G, learning-rate decay); `tests/test_bench.py` checks they compute the same "
        "losses and weights step by step on the MLP presets, stacked-digits, a critic under "
        "the gradient penalty and a minibatch-std D under R1, and the same losses on a "
        "convolutional D with batch-norm.",
        "",
        "Protocol: same process, same thread count for both (the engine's: 1 for MLPs, all "
        "cores for conv nets); a warm-up call of each, a calibration call, then "
        f"{_rounds(results)} rounds of one window of each loop back to back, about "
        f"{_window(results)} s for the slower one; each "
        "figure is its best window. **images/s = iterations/s x batch x d_steps**: the real "
        "images D consumes per second. steps/s (points) = iterations/s. Image presets train "
        "on random uint8 images of the preset's shape (at most 2,048): speed does not depend "
        "on the pixels, so no game frames are collected.",
        "",
    ]
    for device, title in (("cpu", "CPU"), ("cuda", "GPU")):
        rows = results["rows"].get(device)
        lines += [f"## {title}" + (f": {rows[0]['device']}" if rows else ""), ""]
        lines += table(rows) if rows else ["Not measured: no GPU in this session."]
        lines.append("")
    lines += ["## Against the targets", "", "| target | measured | met |", "| --- | --- | --- |"]
    lines += ["| " + " | ".join(row) + " |" for row in targets(results)]
    for note in results.get("notes", []):
        lines += ["", note]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=preset_names())
    cuda = torch.cuda.is_available()
    ap.add_argument("--devices", nargs="+", default=["cpu", "cuda"] if cuda else ["cpu"])
    ap.add_argument("--window", type=float, default=1.0, help="seconds per timed window")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "speed.md"))
    ap.add_argument("--render", action="store_true", help="rewrite the markdown from the JSON")
    args = ap.parse_args()
    if args.render:
        Path(args.out).write_text(write_markdown(json.loads(RESULTS.read_text())))
        print(f"wrote {args.out} from {RESULTS}")
        return
    command = (
        f"python -m benchmarks.speed --presets {' '.join(args.presets)} "
        f"--devices {' '.join(args.devices)} --window {args.window}"
    )
    start = time.perf_counter()
    results: dict = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": command,
                     "rows": {}, "load_before": round(os.getloadavg()[0], 2)}  # fmt: skip
    for device in args.devices:
        results["rows"][device] = run_device(device, args.presets, args.window)
    if "cpu" in args.devices:
        results["notes"] = [
            f"On the CPU {p} runs at batch {b} instead of its own: its iterations take about "
            "half a minute on 2 cores at the preset's batch."
            for p, b in CPU_BATCH.items()
            if p in args.presets
        ] + [
            f"{r['preset']}'s gankit figure is in bf16, as the preset asks (train.precision = "
            "auto: bf16 on a CPU that computes it natively, as this one does); the plain loop "
            "is float32."
            for r in results["rows"]["cpu"]
            if r["precision"].startswith("bf16")
        ]
    results["wall_s"] = round(time.perf_counter() - start, 1)
    results["load_after"] = round(os.getloadavg()[0], 2)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    Path(args.out).write_text(write_markdown(results))
    print(f"wrote {args.out} and {RESULTS} in {results['wall_s']} s")


if __name__ == "__main__":
    main()
