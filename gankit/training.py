"""The one training loop, for every engine: schedule, progress, logs, snapshots, checkpoints,
signals and resume. Everything it knows of the networks goes through the Engine interface."""

from __future__ import annotations

import platform
import signal
import time
from collections.abc import Callable, Iterator
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
from gankit.errors import Diverged, Interrupted, UserError
from gankit.run import RunDir, next_run_dir, non_finite_key
from gankit.signals import Signals
from gankit.snapshots import make_snapshots, save_real_reference


def _meta(cfg: Config, engine: Engine) -> dict[str, Any]:
    import torch

    from gankit.torchrun import world_size

    return {
        "gankit": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "engine": engine.name,
        "device": str(getattr(engine, "device", "cpu")),
        # what train.precision came to on this device (auto resolved)
        "precision": getattr(engine, "precision", cfg.train.dtype),
        "world_size": world_size(),  # processes under torchrun (1 without it)
        "host": platform.node(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def start(cfg: Config, out: str | Path | None = None, progress: bool = True) -> RunDir:
    """A new run of ``cfg`` in ``out`` (or the next free ``runs/NNNNN-PRESET-ENGINE``). Under
    torchrun every rank trains and rank 0 alone writes the run (engines.torch.distributed)."""
    from gankit.engines.torch import distributed

    def begin(engine: Engine, data: Data, lead: bool) -> tuple[RunDir, int]:
        def create() -> RunDir:
            # the engine in the name: runs of one preset on two engines tell apart at a glance
            name = f"{cfg.preset}-{cfg.train.engine}"
            run = RunDir.create(out or next_run_dir("runs", name), cfg, _meta(cfg, engine))
            save_real_reference(run, cfg, data)
            run.event("start", preset=cfg.preset, seed=cfg.seed, steps=cfg.train.steps)
            return run

        return distributed.on_lead(create), 0

    return _train(cfg, progress, begin)


def resume(path: str | Path, overrides: list[str] | None = None, progress: bool = True) -> RunDir:
    """Continue a run from its newest complete checkpoint. Only ``train.*`` keys may change
    (for instance ``train.steps`` to train longer): anything else would be a different run."""
    run = RunDir.open(path)
    saved = run.raw_config()
    meta = saved.pop("meta", {})
    meta = meta if isinstance(meta, dict) else {}  # versions and times: rewritten below
    config_from_dict(saved, f"{run.path / 'config.json'}")  # its own faults named as its own
    for text in overrides or []:
        key, value = parse_override(text)
        if key[0] != "train" or len(key) != 2:
            raise UserError(
                f"--set {text} cannot change a run being resumed; only train.* keys can."
            )
        saved.setdefault("train", {})[key[1]] = value
    cfg = config_from_dict(saved, "--resume overrides")
    latest = run.latest_checkpoint()
    # killed before its first checkpoint: it starts again in place, as a fresh run would
    step, state = (latest[0], latest[1]) if latest is not None else (0, None)
    if state is not None:
        run.check_finite(step, state)
    if step >= cfg.train.steps:
        raise AlreadyTrained(run, step, cfg.train.steps)
    from gankit.torchrun import world_size

    def begin(engine: Engine, data: Data, lead: bool) -> tuple[RunDir, int]:
        if state is not None:
            engine.load_state(state)  # every rank reads the checkpoint, rank 0 alone writes
        if lead:
            run.truncate_after(step)
            run.update_config(cfg, {**meta, "world_size": world_size()})
            if state is None:
                save_real_reference(run, cfg, data)
                run.event("restart", step=0, steps=cfg.train.steps)
            else:
                run.event("resume", step=step, steps=cfg.train.steps)
        return run, step

    return _train(cfg, progress, begin)


class AlreadyTrained(UserError):
    """A run resumed that already reached its train.steps: nothing is left to train (its
    finishing files may still be, which the CLI and the API then rebuild)."""

    def __init__(self, run: RunDir, step: int, steps: int) -> None:
        super().__init__(
            f"{run.path} already reached step {step} of train.steps = {steps}; "
            "resume with --set train.steps=N for a larger N to train longer."
        )
        self.run = run


def _train(
    cfg: Config,
    progress: bool,
    begin: Callable[[Engine, Data, bool], tuple[RunDir, int]],
) -> RunDir:
    """Load the data, build the engine, let ``begin`` open the run (a new one, or a resumed
    one with its checkpoint loaded: the run and its step) and train it. Under torchrun every
    rank does this inside one process group; ``begin`` learns whether it runs on rank 0."""
    from gankit.engines.torch import distributed

    check_engine(cfg)
    with distributed.session(cfg, (Interrupted, Diverged)) as lead:
        progress = progress and lead
        with distributed.local_lead_first():
            data = load_data(cfg.data, cfg.seed, progress)
        engine = make_engine(cfg, data.train)
        run, step = begin(engine, data, lead)
        distributed.wrap(engine)  # its collectives: no rank trains before all have begun
        return _loop(run, cfg, engine, data, step, progress)


# How often a run whose losses or weights become NaN/inf goes back to its newest good
# checkpoint before it stops (exit code 3): a rare blow-up passes, a run that diverges
# however it is replayed does not train on for long. Under torchrun a run stops at once.
MAX_ROLLBACKS = 3


@contextmanager
def _stop_flag(escalate: bool = True) -> Iterator[dict[str, int]]:
    """SIGINT/SIGTERM ask the loop to stop at the next chunk boundary, after a checkpoint.
    A second one stops at once (KeyboardInterrupt), unless ``escalate`` is off, or while
    ``flag["writing"]`` is set: a checkpoint being written is finished first (the loop then
    stops on the first signal). Under torchrun each worker gets a Ctrl-C twice, from the
    terminal and relayed by torchrun (which kills the workers itself if they have not
    stopped 30 s later)."""
    flag = {"signal": 0, "writing": 0}

    def handler(signum: int, _frame: Any) -> None:
        if flag["signal"] and escalate and not flag["writing"]:  # a second: the user means it
            raise KeyboardInterrupt
        flag["signal"] = flag["signal"] or signum

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _next_stop(step: int, total: int, *everies: int) -> int:
    return min([total] + [(step // e + 1) * e for e in everies])


def _chunks(
    cfg: Config, engine: Engine, step: int, flag: dict[str, int]
) -> Iterator[tuple[int, dict[str, float], float, int]]:
    """Train from ``step`` to train.steps in chunks ending at the logging, snapshot and
    checkpoint steps; after each, (step, the chunk's mean statistics, iterations/s, the
    signal that asks to stop or 0). Under torchrun every rank runs these same chunks and
    agrees on the stop (any_rank), so no rank waits alone in a collective."""
    from gankit.engines.torch import distributed

    t = cfg.train
    while step < t.steps:
        stop = _next_stop(step, t.steps, t.log_every, t.snapshot_every, t.checkpoint_every)
        tic = time.perf_counter()
        stats = engine.train(stop - step)  # under torchrun, the global means: all see a NaN
        rate = (stop - step) / max(time.perf_counter() - tic, 1e-9)
        step = stop
        # read once (a signal may land any time) and agreed by all ranks under torchrun
        yield step, stats, rate, distributed.any_rank(flag["signal"])


def _finite(stats: dict[str, float]) -> bool:
    return all(np.isfinite(v) for v in (stats["d_loss"], stats["g_loss"]))


def _first_save(cfg: Config, start: int) -> int:
    """The step of a fresh run's first checkpoint: the end of its first chunk (the first
    logging, snapshot or checkpoint step), so a kill costs at most checkpoint_every steps
    from the start too. -1 for a resumed run, which has one."""
    t = cfg.train
    return (
        _next_stop(0, t.steps, t.log_every, t.snapshot_every, t.checkpoint_every)
        if not start
        else -1
    )


def _saves(step: int, cfg: Config, stopping: int, first: int) -> bool:
    """Whether a checkpoint is written after the chunk ending at ``step``: rank 0 writes it
    while the other ranks wait at a barrier."""
    t = cfg.train
    return step % t.checkpoint_every == 0 or step in (t.steps, first) or bool(stopping)


class _NonFinite(Exception):
    """Losses after a chunk, or weights about to be checkpointed, that are NaN/inf."""

    def __init__(self, step: int, stats: dict[str, float], what: str) -> None:
        self.step, self.stats, self.what = step, stats, what


def _rollback_state(engine: Engine, good: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The good state with the engine's random streams as they are now: replaying the very
    batches that blew up would blow up again, the same way."""
    now = engine.state()
    return {**good, **{k: v for k, v in now.items() if k.startswith("rng.")}}


def _loop(
    run: RunDir, cfg: Config, engine: Engine, data: Data, start: int, progress: bool
) -> RunDir:
    """Train from step ``start`` to train.steps in chunks between the logging, snapshot and
    checkpoint steps; on NaN/inf go back to the newest good state up to MAX_ROLLBACKS
    times."""
    from gankit.engines.torch import distributed
    from gankit.progress import TrainProgress

    t = cfg.train
    # under torchrun the other ranks only train: rank 0 logs, snapshots, measures the signals
    # and checkpoints, with the plain modules in evaluation mode (no collectives), while
    # the stop decisions are agreed by all (stats and signals reduced over the ranks)
    lead = distributed.is_lead()
    if not lead:
        _follow(run, cfg, engine, start)
        return run
    snap = make_snapshots(cfg, engine, data, run)
    if start == 0:
        snap(0, {})
    bar = TrainProgress(t.steps, start, enabled=progress)
    signals = Signals(cfg, engine, data)
    # the rows so far (a resumed run's earlier ones too): what the live doctor reads
    rows = run.metrics() if start else []
    said = {
        e["name"] for e in run.events() if e.get("event") == "doctor" and e.get("step", 0) <= start
    }
    doctor = LiveDoctor(cfg.model_dump(), said)
    # the newest good state, in memory: the checkpoint resumed from, or the initial weights
    good, good_state = start, engine.state()
    rollbacks, first = 0, _first_save(cfg, start)
    most = MAX_ROLLBACKS if distributed.world_size() == 1 else 0
    step = at = start
    with _stop_flag(escalate=distributed.world_size() == 1) as flag, bar:
        while True:
            try:
                for step, stats, rate, stopping in _chunks(cfg, engine, at, flag):
                    if not _finite(stats):
                        raise _NonFinite(step, stats, "losses")
                    saved = _saves(step, cfg, stopping, first)
                    state = engine.state() if saved else {}
                    # checked before any picture is drawn of it
                    if non_finite_key(state) is not None:
                        raise _NonFinite(step, stats, "weights")
                    if step % t.log_every == 0 or step == t.steps:
                        rows.append({"step": step, **stats, "steps_per_s": rate, **signals()})
                        run.log_metrics(rows[-1])
                    if step % t.snapshot_every == 0 or step == t.steps:
                        snap(step, stats)
                        for finding in doctor(rows):
                            run.event("doctor", step=step, **to_json([finding])[0])
                            bar.note(f"doctor: {finding.summary} (gankit doctor {run.path})")
                    if saved:
                        flag["writing"] = 1  # a second Ctrl-C now waits for the files
                        run.save_checkpoint(
                            step, state, {"engine": engine.name}, t.keep_checkpoints
                        )
                        good, good_state, flag["writing"] = step, state, 0
                    bar.update(step, stats, rate)
                    if stopping:
                        run.event("interrupted", step=step, signal=stopping)
                    if saved:  # the other ranks stop (or go on) once it is all on disk
                        distributed.barrier()
                    if stopping:
                        raise Interrupted(run, step)
                break
            except _NonFinite as e:
                rollbacks += 1
                run.event("non_finite", step=e.step, what=e.what, **e.stats)
                if rollbacks > most:
                    run.log_metrics({"step": e.step, **e.stats})  # the doctor reads the NaN row
                    run.event("diverged", step=e.step, good=good, rollbacks=rollbacks - 1)
                    raise Diverged(run, e.step, good, rollbacks - 1) from None
                engine.load_state(_rollback_state(engine, good_state))
                run.truncate_after(good)  # the logs and snapshots of one history
                rows = [r for r in rows if r.get("step", 0) <= good]
                run.event("rollback", step=e.step, to=good, attempt=rollbacks, most=most)
                bar.warn(
                    f"{e.what} became NaN/inf at step {e.step}; went back to step {good} "
                    f"(rollback {rollbacks} of {most}) with fresh batches"
                )
                at = good
            except KeyboardInterrupt:  # a second Ctrl-C, mid-chunk: the newest checkpoint
                run.event("interrupted", step=good, signal=int(signal.SIGINT), at_once=True)
                redo = "continue from step" if good else "start it again from step"
                raise Interrupted(
                    run,
                    good,
                    f"stopped at once by a second Ctrl-C; {redo} {good} with: "
                    f"gankit train --resume {run.path}",
                ) from None
    run.event("end", step=step)
    return run


def _follow(run: RunDir, cfg: Config, engine: Engine, start: int) -> None:
    """A rank other than 0 under torchrun: the same chunks, stop decisions and barriers as
    rank 0's loop, and nothing written or printed. A NaN/inf stops every rank at once."""
    from gankit.engines.torch import distributed

    first = _first_save(cfg, start)
    with _stop_flag(escalate=False) as flag:
        for step, stats, _, stopping in _chunks(cfg, engine, start, flag):
            if not _finite(stats):
                raise Diverged(run, step, start, 0)
            if _saves(step, cfg, stopping, first):
                if non_finite_key(engine.state()) is not None:  # the same weights as rank 0's
                    raise Diverged(run, step, start, 0)
                distributed.barrier()  # while rank 0 writes the checkpoint (and why it stops)
            if stopping:
                raise Interrupted(run, step)
