"""``gankit bench``: the speed of gankit's training loop beside the plain PyTorch loop
(:mod:`gankit.plain_loop`) on the same networks, in the same process.

Protocol, per preset:

* data: the preset's own points (toy presets; ``points`` without a path: standard-normal 2-D
  points), for image presets random uint8 images of the preset's shape, at most
  :data:`MAX_IMAGES` of them: speed does not depend on what the pixels show, so no game frames
  are collected and no folder is read;
* networks: the preset's (``build_networks`` from its config), identical initial weights;
* gankit: ``TorchEngine.train(n)``, the hot path ``gankit train`` runs (data resident on the
  device, fused optimisers, channels-last for convolutions, plain MLPs on the CPU stepped by
  hand: ``engines/torch/by_hand.py``); the plain loop: ``PlainLoop``;
* threads: the engine's (``train.threads``, 0 = 1 for MLPs, all cores for conv nets), set for
  both loops;
* timing: a warm-up call of each, a calibration call, then :data:`ROUNDS` rounds of one window
  of ``steps`` iterations of each, back to back; each loop's figure is its best window, so a
  noisy neighbour slows both alike and the ratio holds.

Figures: images/s = iterations/s x batch x d_steps, the real images D consumes per second (the
usual definition of a GAN's training throughput); steps/s = iterations/s for points (an
iteration is d_steps D updates and g_steps G updates).
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch

from gankit import streams
from gankit.config import FAST_PATHS, Config, DataConfig, load_config
from gankit.errors import UserError

MAX_IMAGES = 2048  # random images per preset: plenty to batch from, bounded memory
ROUNDS = 5  # timed windows per loop: the best one counts (3 left ratios 10 % apart on a rerun)
WINDOW_S = 1.0  # default length of the slower loop's timed window


def bench_data(cfg: Config) -> tuple[np.ndarray, str]:
    """The training data the bench uses for ``cfg`` and one line saying what it is."""
    d = cfg.data
    if not d.is_image:
        if d.name == "points" and d.path is None:
            x = streams.rng(cfg.seed, streams.DATA).standard_normal((d.n, 2))
            return x.astype(np.float32), f"{d.n} standard-normal 2-D points (no data.path)"
        from gankit.data.toy import make_points

        x = make_points(d, cfg.seed).train
        return x, f"the preset's {len(x)} {d.name} points"
    h, w, c = image_shape(d)
    n = min(d.n, MAX_IMAGES)
    x = streams.rng(cfg.seed, streams.DATA).integers(0, 256, (n, h, w, c), dtype=np.uint8)
    return x, f"{n} random uint8 images {h}x{w}x{c} (no frames collected: speed only)"


def image_shape(d: DataConfig) -> tuple[int, int, int]:
    """(height, width, channels) of the images the preset trains on."""
    if d.size is not None:
        h, w = d.size
    elif d.name == "atari":
        from gankit.data.atari import FRAME_SHAPE  # every ALE game renders at this size

        h, w = FRAME_SHAPE[:2]
    elif d.name in ("digits", "stacked-digits"):
        h, w = 8, 8
    elif d.name == "folder":
        from gankit.data import DEFAULT_FOLDER_SIZE

        h, w = DEFAULT_FOLDER_SIZE
    else:
        raise UserError(
            f"data.name = {d.name} takes its image size from the file; give it to the bench "
            "with --set data.size=[H,W]."
        )
    return h, w, d.channels


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({os.cpu_count()} cores)"


def precision(cfg: Config, device: torch.device) -> str:
    """What gankit's maths runs in: bf16 autocast of the forward passes with
    train.precision = bf16 (or auto on a device with native bf16), else train.dtype; on a GPU
    cuDNN's default lets float32 convolutions use TF32 tensor cores (in the plain loop too,
    which is always float32)."""
    from gankit.engines.torch.engine import resolve_precision

    if resolve_precision(cfg.train.precision, cfg.train.dtype, device) == "bf16":
        return "bf16 autocast (float32 weights)"
    conv = cfg.data.is_image and cfg.model.arch != "mlp"
    tf32 = device.type == "cuda" and conv and torch.backends.cudnn.allow_tf32
    return cfg.train.dtype + (" (TF32 convolutions)" if tf32 else "")


def _timed(run: Callable[[int], object], n: int, device: torch.device) -> float:
    start = time.perf_counter()
    run(n)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def _race(
    cfg: Config,
    trains: dict[str, Callable[[int], object]],
    dev: torch.device,
    steps: int | None,
    window_s: float,
) -> tuple[int, dict[str, float]]:
    """Warm-up, calibration, then :data:`ROUNDS` interleaved windows of each of ``trains``
    (a noisy neighbour slows all alike): the iterations per window and each one's best
    window in seconds."""
    threads = torch.get_num_threads()  # the engine sets the process's threads from its config
    # first calls pay for allocation and oneDNN/cuDNN kernel choice: not counted. One
    # iteration of a large image net takes seconds on a CPU, so its warm-up is one iteration
    # and, when it takes longer than a window, also its calibration.
    warm = 1 if cfg.data.is_image else 20
    per_iteration_s = max(_timed(t, warm, dev) for t in trains.values()) / warm
    if steps is None:  # about window_s for the slowest
        if per_iteration_s < window_s:  # the warm-up's one-time costs overestimate: re-time
            n = max(warm, int(0.3 * window_s / per_iteration_s))
            per_iteration_s = max(_timed(t, n, dev) for t in trains.values()) / n
        steps = int(min(max(window_s / per_iteration_s, 1), 10_000))
        lc = cfg.loss
        if lc.r1 and lc.r1_every > 1:  # whole R1 periods: each window pays its share of R1
            steps = -(-steps // lc.r1_every) * lc.r1_every
    best = dict.fromkeys(trains, float("inf"))
    for _ in range(ROUNDS):
        for key, train in trains.items():
            torch.set_num_threads(threads)
            best[key] = min(best[key], _timed(train, steps, dev))
    return steps, best


def _row(cfg: Config, dev: torch.device, steps: int, rates: dict, what: str) -> dict:
    """A result line: the preset, device and precision, the figures, and the protocol."""
    return {
        "preset": cfg.preset,
        "device": device_name(dev),
        "batch": cfg.train.batch_size,
        "precision": precision(cfg, dev),
        "unit": "images/s" if cfg.data.is_image else "steps/s",
        **rates,
        "steps": steps,
        "rounds": ROUNDS,
        "threads": torch.get_num_threads(),
        "d_steps": cfg.train.d_steps,
        "data": what,
    }


def _release(dev: torch.device) -> None:
    gc.collect()
    if dev.type == "cuda":
        torch.cuda.empty_cache()


def _rate(cfg: Config, steps: int, seconds: float) -> float:
    """images/s (images D consumes) or iterations/s (points)."""
    per_iteration = cfg.train.batch_size * cfg.train.d_steps if cfg.data.is_image else 1
    return steps / seconds * per_iteration


def measure(cfg: Config, steps: int | None = None, window_s: float = WINDOW_S) -> dict:
    """One preset's JSON line: gankit's and the plain loop's figure, timed interleaved."""
    from gankit.engines.torch.engine import TorchEngine
    from gankit.plain_loop import PlainLoop

    data, what = bench_data(cfg)
    engine = TorchEngine(cfg, data)
    plain = PlainLoop(cfg, data, engine.device)
    dev = engine.device
    steps, best = _race(cfg, {"gankit": engine.train, "plain": plain.train}, dev, steps, window_s)
    gankit_rate, plain_rate = _rate(cfg, steps, best["gankit"]), _rate(cfg, steps, best["plain"])
    rates = {
        "gankit": round(gankit_rate, 1),
        "plain": round(plain_rate, 1),
        "ratio": round(gankit_rate / plain_rate, 3),
    }
    del engine, plain
    _release(dev)
    return _row(cfg, dev, steps, rates, what)


def _with_fast_paths(cfg: Config, names: list[str]) -> Config:
    train = cfg.train.model_copy(update={"fast_paths": names})
    return cfg.model_copy(update={"train": train})


def ablate(cfg: Config, steps: int | None = None, window_s: float = WINDOW_S) -> dict:
    """Each fast path's own gain on one preset: the torch engine with every fast path that
    applies (``train.fast_paths``), and with each one of them off and every other allowed
    (so without the steps by hand, the penalties take D's transpose where it applies: what
    the engine would do), built from the same weights and timed interleaved. A gain is rate
    with it / rate without it - 1."""
    from gankit.engines.torch.engine import TorchEngine

    data, what = bench_data(cfg)
    full = TorchEngine(cfg, data)
    names = full.fast.names
    engines = {"all": full}
    for name in names:
        others = [n for n in FAST_PATHS if n != name]
        engines[name] = TorchEngine(_with_fast_paths(cfg, others), data)
    dev = full.device
    trains = {k: e.train for k, e in engines.items()}
    steps, best = _race(cfg, trains, dev, steps, window_s)
    rate = {k: _rate(cfg, steps, t) for k, t in best.items()}
    rates = {
        "fast_paths": names,
        "all": round(rate["all"], 1),
        "without": {n: round(rate[n], 1) for n in names},
        "gain": {n: round(rate["all"] / rate[n] - 1.0, 3) for n in names},
    }
    del engines, full, trains
    _release(dev)
    return _row(cfg, dev, steps, rates, what)


def bench_configs(
    presets: list[str],
    batch: int | None = None,
    device: str = "auto",
    overrides: list[str] | None = None,
) -> list[Config]:
    """Every preset's config, checked before the first one is timed."""
    sets = [*(overrides or []), f"train.device={device}", "train.engine=torch"]
    if batch is not None:
        sets.append(f"train.batch_size={batch}")
    return [load_config(p, sets) for p in presets]


def bench(
    presets: list[str],
    steps: int | None = None,
    batch: int | None = None,
    device: str = "auto",
    overrides: list[str] | None = None,
    ablate_paths: bool = False,
) -> Iterator[dict]:
    """One result per preset, as each is measured: against the plain loop, or with
    ``ablate_paths`` each fast path's own gain (:func:`ablate`)."""
    if steps is not None and steps < 1:
        raise UserError(f"--steps {steps} times nothing; give a positive count.")
    if device not in ("auto", "cpu", "cuda"):
        raise UserError(f"--device {device} is not one of auto, cpu, cuda.")
    for cfg in bench_configs(presets, batch, device, overrides):
        if cfg.optim.name != "adam":
            raise UserError(
                f"preset {cfg.preset} uses optim.name = {cfg.optim.name}; the plain loop it is "
                "measured against uses Adam, so bench it with optim.name = adam."
            )
        yield ablate(cfg, steps) if ablate_paths else measure(cfg, steps)
