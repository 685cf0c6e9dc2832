"""One live GAN of the lab, in plain Python (no server): a config, its data and engine, and
everything a person does to them: play and pause, one iteration, D only, G only, reset,
changing any control while it trains, drawing or uploading the data, applying a doctor's
remedy. Its :meth:`Session.frame` is what the page draws.

A control change rebuilds the engine from the new config and, where the networks keep their
shapes (a learning rate, a loss, a penalty, d_steps, the engine itself), loads the weights,
optimiser state, random streams and iteration count back into it: so the GAN carries on
from where it was. A change of shape (widths, latent size, packing, spectral norm) starts
fresh networks, as it must.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from gankit.config import Config
from gankit.data import load_data
from gankit.data.toy import PointData
from gankit.doctor import LiveDoctor, to_json
from gankit.engines import check_engine, make_engine
from gankit.engines.base import STAT_KEYS, Engine
from gankit.errors import UserError
from gankit.lab import controls, points
from gankit.lab.divergence import RealFakeDivergence
from gankit.lab.views import Views
from gankit.losses import LOSSES
from gankit.signals import Signals
from gankit.snapshots import PointSnapshots

MAX_ROWS_SENT = 300  # loss- and divergence-chart points per frame
MAX_SNAPSHOTS = 120  # kept for a saved run's GIF; thinned to every other one when full
SCORE_EVERY_S = 1.0  # live scores are recomputed at most this often
CHUNK_S = 0.02  # play trains chunks of about this long between looks at the controls


class _Memory:
    """Where PointSnapshots saves when no run directory exists yet: in memory, thinned as
    it fills, for the GIF of a run saved later."""

    def __init__(self) -> None:
        self.snaps: list[tuple[int, dict[str, Any]]] = []

    def save_snapshot(self, step: int, arrays: dict[str, Any]) -> None:
        self.snaps.append((step, arrays))
        if len(self.snaps) > MAX_SNAPSHOTS:
            self.snaps = self.snaps[::2]


def _nets(state: dict[str, np.ndarray]) -> dict[str, tuple[int, ...]]:
    return {k: v.shape for k, v in state.items() if k.split(".", 1)[0] in ("G", "D", "G_ema")}


def carried(old: dict[str, np.ndarray], new: Engine, same_optimiser: bool) -> bool:
    """Load ``old`` (another engine's state) into ``new`` where the networks have the same
    shapes; False (and ``new`` left fresh) where they do not. A new EMA copy starts at G."""
    old = dict(old)
    if not same_optimiser:  # another optimiser's moments mean nothing to this one
        old = {k: v for k, v in old.items() if not k.startswith("optim.")}
    want = _nets(new.state())
    for k in want:
        if k.startswith("G_ema.") and k not in old and "G." + k[6:] in old:
            old[k] = old["G." + k[6:]]
    have = _nets(old)
    if any(have.get(k) != shape for k, shape in want.items()):
        return False
    new.load_state(old)
    return True


class Session:
    def __init__(
        self,
        preset: str = "ring8",
        seed: int = 0,
        overrides: list[str] | None = None,
        folder: str | Path | None = None,
        config: Config | None = None,
    ) -> None:
        """A session of ``preset`` as the lab trains it (controls.lab_config), or of
        ``config`` where given; ``folder`` holds the user's points (a temporary one, removed
        by :meth:`close`, when None)."""
        self._own_folder = folder is None
        self.folder = Path(folder or tempfile.mkdtemp(prefix="gankit-lab-"))
        self.preset = preset
        self.playing = False
        self.message = ""  # the last thing the page should tell the user
        self.slice_dims = (0, 1)
        self.data_version = 0
        self._build(config or controls.lab_config(preset, seed, overrides), keep=False)

    # --- building ------------------------------------------------------------------------

    def _build(self, cfg: Config, keep: bool) -> None:
        """Make ``cfg`` the session's config; everything is built before anything is
        replaced, so a config that fails leaves the session as it was."""
        check_engine(cfg)
        data = load_data(cfg.data, cfg.seed, False)
        if not isinstance(data, PointData) or data.dim > 2:
            raise UserError("the lab draws 1-D and 2-D points; this data is neither.")
        engine = make_engine(cfg, data.train)
        old = getattr(self, "engine", None)
        same_data = keep and old is not None and cfg.data == self.cfg.data
        kept = (
            keep
            and old is not None
            and carried(old.state(), engine, cfg.optim.name == self.cfg.optim.name)
        )
        views = Views(cfg, engine, data, self.slice_dims)
        memory = self.memory if kept else _Memory()
        self.cfg, self.data, self.engine, self.views = cfg, data, engine, views
        self.signals = Signals(cfg, engine, data)
        self.divergence = RealFakeDivergence(data, views.extent, len(self.signals.z))
        self._snap = PointSnapshots(cfg, engine, data, memory)  # type: ignore[arg-type]
        if not kept:
            self.rows: list[dict[str, Any]] = []
            self.findings: list[dict[str, Any]] = []
            self.memory = memory
            self._acc, self._acc_n, self._acc_s = np.zeros(len(STAT_KEYS)), 0, 0.0
            self.last: dict[str, float] = {}
            self._snap(0, {})
        reported = {f["name"] for f in self.findings}
        self.doctor = LiveDoctor(cfg.model_dump(), reported)
        if not same_data:
            self.data_version += 1
            self._floor = None
        self._scores: tuple[int, float, list] = (-1, 0.0, [])
        self._remedy_cache: dict[tuple[str, str], dict[str, Any]] = {}
        self.rate = 0.0

    @property
    def step(self) -> int:
        return self.engine.iteration

    def close(self) -> None:
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    # --- what a person does --------------------------------------------------------------

    def play(self) -> None:
        self.playing = True

    def pause(self) -> None:
        self.playing = False

    def iterate(self, n: int = 1) -> dict[str, float]:
        """``n`` iterations (d_steps D updates then g_steps G updates each), logged as
        gankit's training loop logs them: a row every train.log_every iterations (with
        the doctor's signals), the doctor every train.snapshot_every."""
        t = self.cfg.train
        while n > 0:
            k = min(n, t.log_every - self.step % t.log_every)
            tic = time.perf_counter()
            stats = self.engine.train(k)
            dt = max(time.perf_counter() - tic, 1e-9)
            n -= k
            self.rate = k / dt
            self.last = stats
            if not all(math.isfinite(stats[s]) for s in ("d_loss", "g_loss")):
                self.playing = False
                self.message = (
                    f"the losses became NaN or infinite at step {self.step}; reset, or lower "
                    "the learning rates."
                )
                return stats
            self._acc += np.array([stats[s] for s in STAT_KEYS]) * k
            self._acc_n += k
            self._acc_s += dt
            if self.step % t.log_every == 0:
                self._log_row()
            if self.step % t.snapshot_every == 0:
                self._snap(self.step, stats)
                self.findings += to_json(self.doctor(self.rows))
        return self.last

    def _log_row(self) -> None:
        self.rows.append(self.pending_row())
        self._acc, self._acc_n, self._acc_s = np.zeros(len(STAT_KEYS)), 0, 0.0

    def pending_row(self) -> dict[str, Any]:
        """The row gankit's loop would log now: the means since the last row (the latest
        statistics where no iteration ran since), with the doctor's signals."""
        if self._acc_n:
            means = dict(zip(STAT_KEYS, (self._acc / self._acc_n).tolist(), strict=True))
        else:
            means = {k: self.last.get(k, math.nan) for k in STAT_KEYS}
        rate = self._acc_n / max(self._acc_s, 1e-9) if self._acc_n else self.rate
        signals = self.signals()
        # signals.previous: the samples the signals just drew (their fixed latent batch)
        divergence = self.divergence(self.signals.previous)
        return {"step": self.step, **means, "steps_per_s": rate, **signals, **divergence}

    def advance(self, budget_s: float = CHUNK_S) -> int:
        """While playing: train for about ``budget_s`` seconds, in whole iterations (how
        many from the latest rate); the number trained."""
        if not self.playing:
            return 0
        n = max(1, min(int(self.rate * budget_s), self.cfg.train.log_every))
        self.iterate(n)
        return n

    def d_only(self) -> dict[str, float]:
        """One D update; G stays as it is."""
        self.last = {**self.last, **self.engine.d_step()}
        return self.last

    def g_only(self) -> dict[str, float]:
        """One G update; D stays as it is."""
        if LOSSES[self.cfg.loss.name].relativistic and self._no_real_yet():
            raise UserError(
                f"loss {self.cfg.loss.name} compares G's samples with the last real batch D "
                "saw; take a D step first."
            )
        self.last = {**self.last, **self.engine.g_step()}
        return self.last

    def _no_real_yet(self) -> bool:
        return getattr(self.engine, "last_real", None) is None

    def reset(self) -> None:
        """Fresh networks of the same config, back to step 0."""
        self._build(self.cfg, keep=False)
        self.message = ""

    def set(self, changes: dict[str, Any]) -> None:
        """Change controls (config key -> value) live; a bad value is a UserError and the
        session carries on as it was."""
        cfg = controls.changed(self.cfg, changes)
        if cfg == self.cfg:
            return
        self._build(cfg, keep=cfg.seed == self.cfg.seed)

    def set_slice(self, dims: list[int]) -> None:
        """The two latent components the manifold view varies (latent_dim > 2)."""
        self.slice_dims = (int(dims[0]), int(dims[1]))
        self.views = Views(self.cfg, self.engine, self.data, self.slice_dims)

    def choose_data(self, name: str) -> None:
        """One of gankit's point data sets, with its preset's networks and rates (the engine,
        seed and palette carry over); fresh networks."""
        keep = {k: controls.get(self.cfg, k) for k in ("train.engine", "viz.palette")}
        base = controls.lab_config(name, self.cfg.seed)
        self._build(controls.changed(base, keep), keep=False)
        self.preset = name

    def use_points(self, path: Path) -> None:
        data = self.cfg.model_dump()
        data["data"].update(name="points", path=str(path))
        from gankit.config import config_from_dict

        self._build(config_from_dict(data, "the lab's points"), keep=False)

    def draw(self, pts: Any) -> None:
        """Points drawn on the page become the training data (fresh networks)."""
        self.use_points(points.drawn(pts, self.folder))

    def upload(self, name: str, content: bytes) -> None:
        """An uploaded CSV/NPY of points becomes the training data (fresh networks)."""
        self.use_points(points.uploaded(name, content, self.folder))

    def remedy_changes(self, command: str) -> dict[str, Any]:
        """What a doctor's remedy (``gankit train PRESET [--seed S] --set ...``) changes in
        this GAN: the command names the whole config it would train (its preset, as the lab
        trains it, with those ``--set`` changes), so a key it leaves out goes back to the
        preset's value (the doctor's first remedy undoes the run's blamed changes that way)."""
        key = (command, self.cfg.model_dump_json())
        if key not in self._remedy_cache:
            sets = controls.sets_of_command(command)
            target = controls.changed(controls.lab_config(self.preset, self.cfg.seed), sets)
            self._remedy_cache[key] = {
                k: controls.get(target, k)
                for k in sorted(controls.CONTROL_KEYS)
                if controls.get(target, k) != controls.get(self.cfg, k)
            }
        return self._remedy_cache[key]

    def remedy(self, command: str) -> None:
        """Apply a doctor's remedy (:meth:`remedy_changes`) and carry on."""
        changes = self.remedy_changes(command)
        if not changes:
            raise UserError(f"the remedy {command!r} changes nothing in this GAN.")
        self.set(changes)
        self.message = "applied: " + ", ".join(f"{k} = {v}" for k, v in changes.items())

    def _actions(self, finding: dict[str, Any]) -> list[list[Any]]:
        """A finding's remedies as the page's buttons: (changes, command) for each that
        changes something here, each set of changes once (the doctor's remedies are whole
        runs: once it undoes the blamed changes, two of them can come to the same)."""
        out: list[list[Any]] = []
        for command in finding.get("remedies", []):
            try:
                changes = self.remedy_changes(command)
            except UserError:  # a remedy the lab cannot train (another engine's limits)
                continue
            if changes and all(changes != c for c, _ in out):
                out.append([changes, command])
        return out

    # --- what the page draws -------------------------------------------------------------

    def scores(self, force: bool = False) -> list:
        """The live scores beside their real-data floor (gankit's score registry on a small
        sample), recomputed at most every SCORE_EVERY_S seconds."""
        from gankit.evaluate import floor_sample, score_samples
        from gankit.headline import headline

        step, when, rows = self._scores
        if not force and (step == self.step or time.monotonic() - when < SCORE_EVERY_S):
            return rows
        if self._floor is None:
            real = floor_sample(self.data, self.cfg.eval.n_samples, self.cfg.seed)
            self._floor = score_samples(real, self.data, self.cfg)
        x = self.engine.sample(self.engine.latent(self.cfg.eval.n_samples, _eval_rng(self)))
        result: dict[str, Any] = {"real_floor": self._floor}
        if np.isfinite(x).all():
            result["scores"] = score_samples(x, self.data, self.cfg)
        else:
            result.update(diverged=True, scores={})
        rows = [list(r) for r in headline(result)]
        self._scores = (self.step, time.monotonic(), rows)
        return rows

    def frame(self, scores: bool = True) -> dict[str, Any]:
        """Everything the page draws of this GAN now (JSON-ready)."""
        rows = self.rows[-MAX_ROWS_SENT:]
        return {
            "step": self.step,
            "playing": self.playing,
            "rate": round(self.rate, 1),
            "stats": {k: (round(v, 5) if math.isfinite(v) else None) for k, v in self.last.items()},
            # step, D loss, G loss, share fooled, KL(real || fake), JS
            "curve": [
                [r["step"], *(_num(r.get(k)) for k in ("d_loss", "g_loss", "fooled", "kl", "js"))]
                for r in rows
            ],
            "divergence_floor": self.divergence.floor,
            "scores": self.scores() if scores else self._scores[2],
            "findings": [{**f, "actions": self._actions(f)} for f in self.findings],
            "message": self.message,
            "data_version": self.data_version,
            "controls": {k: controls.get(self.cfg, k) for k in sorted(controls.CONTROL_KEYS)},
            "data": self.cfg.data.name if self.cfg.data.name != "points" else "points",
            "preset": self.preset,
            **self.views.frame(),
        }


def _num(v: Any) -> float | None:
    return round(float(v), 5) if v is not None and math.isfinite(v) else None


def _eval_rng(session: Session) -> np.random.Generator:
    from gankit import streams

    return streams.rng(session.cfg.seed, streams.EVAL_LATENT)
