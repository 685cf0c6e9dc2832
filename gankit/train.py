"""The one training loop, for every engine: schedule, progress, logs, snapshots, checkpoints,
signals and resume. Everything it knows of the networks goes through the Engine interface."""

from __future__ import annotations

import platform
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from gankit import __version__
from gankit.config import Config, config_from_dict, parse_override
from gankit.data import Data, load_data
from gankit.doctor import LiveDoctor, to_json
from gankit.engines import check_engine, make_engine
from gankit.engines.base import Engine
from gankit.errors import UserError
from gankit.run import RunDir, next_run_dir
from gankit.signals import Signals
from gankit.snapshots import make_snapshots, save_real_reference


class Interrupted(Exception):
    """Training stopped on a signal after saving a checkpoint; the run can be resumed."""

    def __init__(self, run: RunDir, step: int) -> None:
        super().__init__(
            f"interrupted at step {step}; continue with: gankit train --resume {run.path}"
        )
        self.run, self.step = run, step


def _meta(cfg: Config, engine: Engine) -> dict[str, Any]:
    import torch

    return {
        "gankit": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "engine": engine.name,
        "device": str(getattr(engine, "device", "cpu")),
        "host": platform.node(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def start(cfg: Config, out: str | Path | None = None, progress: bool = True) -> RunDir:
    """A new run of ``cfg`` in ``out`` (or the next free ``runs/NNNNN-PRESET``)."""
    check_engine(cfg)
    data = load_data(cfg.data, cfg.seed, progress)
    engine = make_engine(cfg, data.train)
    run = RunDir.create(out or next_run_dir("runs", cfg.preset), cfg, _meta(cfg, engine))
    save_real_reference(run, cfg, data)
    run.event("start", preset=cfg.preset, seed=cfg.seed, steps=cfg.train.steps)
    return _loop(run, cfg, engine, data, 0, progress)


def resume(path: str | Path, overrides: list[str] | None = None, progress: bool = True) -> RunDir:
    """Continue a run from its newest complete checkpoint. Only ``train.*`` keys may change
    (for instance ``train.steps`` to train longer): anything else would be a different run."""
    run = RunDir.open(path)
    saved = run.raw_config()
    meta = saved.pop("meta", {})
    for text in overrides or []:
        key, value = parse_override(text)
        if key[0] != "train" or len(key) != 2:
            raise UserError(
                f"--set {text} cannot change a run being resumed; only train.* keys can."
            )
        saved.setdefault("train", {})[key[1]] = value
    cfg = config_from_dict(saved, "--resume overrides")
    latest = run.latest_checkpoint()
    if latest is None:
        raise UserError(f"{run.path} has no complete checkpoint to resume from.")
    step, state, _ = latest
    if step >= cfg.train.steps:
        raise UserError(
            f"{run.path} already reached step {step} of train.steps = {cfg.train.steps}; "
            "resume with --set train.steps=N for a larger N to train longer."
        )
    check_engine(cfg)
    data = load_data(cfg.data, cfg.seed, progress)
    engine = make_engine(cfg, data.train)
    engine.load_state(state)
    run.truncate_after(step)
    run.update_config(cfg, meta)
    run.event("resume", step=step, steps=cfg.train.steps)
    return _loop(run, cfg, engine, data, step, progress)


@contextmanager
def _stop_flag() -> Iterator[dict[str, int]]:
    """SIGINT/SIGTERM ask the loop to stop at the next chunk boundary, after a checkpoint."""
    flag = {"signal": 0}

    def handler(signum: int, _frame: Any) -> None:
        if flag["signal"]:  # a second Ctrl-C: the user means it
            raise KeyboardInterrupt
        flag["signal"] = signum

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _next_stop(step: int, total: int, *everies: int) -> int:
    return min([total] + [(step // e + 1) * e for e in everies])


def _loop(
    run: RunDir, cfg: Config, engine: Engine, data: Data, step: int, progress: bool
) -> RunDir:
    from gankit.progress import TrainProgress

    t = cfg.train
    snap = make_snapshots(cfg, engine, data, run)
    if step == 0:
        snap(0, {})
    bar = TrainProgress(t.steps, step, enabled=progress)
    signals = Signals(cfg, engine, data)
    # the rows so far (a resumed run's earlier ones too): what the live doctor reads
    rows = run.metrics() if step else []
    said = {
        e["name"] for e in run.events() if e.get("event") == "doctor" and e.get("step", 0) <= step
    }
    doctor = LiveDoctor(cfg.model_dump(), t.steps, said)
    stats: dict[str, float] = {}
    with _stop_flag() as flag, bar:
        while step < t.steps:
            stop = _next_stop(step, t.steps, t.log_every, t.snapshot_every, t.checkpoint_every)
            tic = time.perf_counter()
            stats = engine.train(stop - step)
            rate = (stop - step) / max(time.perf_counter() - tic, 1e-9)
            step = stop
            if not all(np.isfinite(v) for v in (stats["d_loss"], stats["g_loss"])):
                run.log_metrics({"step": step, **stats})
                run.event("non_finite", step=step, **stats)
                bar.warn(
                    f"losses became NaN/inf at step {step}; stopped"
                    " (checkpoints before it are kept)"
                )
                break
            if step % t.log_every == 0 or step == t.steps:
                rows.append({"step": step, **stats, "steps_per_s": rate, **signals()})
                run.log_metrics(rows[-1])
            if step % t.snapshot_every == 0 or step == t.steps:
                snap(step, stats)
                for finding in doctor(rows, step):
                    run.event("doctor", step=step, **to_json([finding])[0])
                    bar.note(f"doctor: {finding.summary} (gankit doctor {run.path})")
            if step % t.checkpoint_every == 0 or step == t.steps or flag["signal"]:
                run.save_checkpoint(
                    step, engine.state(), {"engine": engine.name}, t.keep_checkpoints
                )
            bar.update(step, stats, rate)
            if flag["signal"]:
                run.event("interrupted", step=step, signal=flag["signal"])
                raise Interrupted(run, step)
    run.event("end", step=step)
    return run
