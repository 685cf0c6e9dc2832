"""``gankit.Run``: a run directory seen from Python, what it holds and what can be done with it
(sample, critic, evaluate, doctor, report, resume, try a remedy), and its card in Jupyter."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gankit.config import Config
from gankit.errors import UserError
from gankit.overrides import command_config, overrides, resume_command

if TYPE_CHECKING:
    from gankit.data import Data
    from gankit.doctor.finding import Finding
    from gankit.engines.base import Engine
    from gankit.run import RunDir


def finished(run: RunDir) -> Run:
    from gankit.outputs import finish
    from gankit.torchrun import is_lead

    if is_lead():  # under torchrun rank 0 alone scores, draws and reports the run
        finish(run)
    return Run(run.path)


class Run:
    """A run directory, seen from Python: what it holds, and what can be done with it.

    Reading properties (``config``, ``metrics``, ``scores``, ``findings``) reads the files each
    time, so a Run follows a run that goes on training elsewhere. The trained networks are
    loaded once, on the first ``sample`` or ``critic``, and again when a newer checkpoint
    appears."""

    def __init__(self, path: str | Path) -> None:
        from gankit.run import RunDir

        self._dir = RunDir.open(path)
        self._loaded: tuple[int, Engine, Data] | None = None

    def __repr__(self) -> str:
        return f"gankit.Run({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and self.path.resolve() == other.path.resolve()

    def __hash__(self) -> int:
        return hash(self.path.resolve())

    # --- what the run directory holds ---------------------------------------------------

    @property
    def path(self) -> Path:
        return self._dir.path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> Config:
        """The resolved, typed config the run trained with (config.json without its meta)."""
        return self._dir.config()

    @property
    def meta(self) -> dict[str, Any]:
        """Versions, engine, device, precision, host and start time (config.json's meta)."""
        return dict(self._dir.raw_config().get("meta", {}))

    @property
    def step(self) -> int:
        """The step of the newest complete checkpoint (0 before the first one)."""
        return max(self._dir.checkpoint_steps(), default=0)

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """metrics.jsonl's rows, one dict a logged step (``metrics_frame()`` for pandas)."""
        return self._dir.metrics()

    def metrics_frame(self) -> Any:
        """The training rows as a pandas DataFrame indexed by step, nested values flattened
        (``signals.diversity``); pandas is not a gankit dependency."""
        try:
            import pandas as pd
        except ImportError:
            raise UserError(
                "metrics_frame() needs pandas (pip install pandas); run.metrics gives the same "
                "rows as a list of dicts."
            ) from None
        rows = [r for r in self.metrics if "eval" not in r]
        return pd.json_normalize(rows).set_index("step") if rows else pd.DataFrame()

    @property
    def events(self) -> list[dict[str, Any]]:
        """events.jsonl: start, resumes, interruptions, NaN stops, the live doctor's words."""
        return self._dir.events()

    @property
    def scores(self) -> dict[str, Any] | None:
        """eval.json: every score with its protocol and its real-data floor, or None before
        the run was scored (``evaluate()`` scores it)."""
        return _read_json(self.path / "eval.json")

    @property
    def findings(self) -> list[Finding]:
        """The doctor's findings at the end of training (doctor.json); ``doctor()`` reads the
        run afresh."""
        from gankit.doctor.finding import from_json

        saved = _read_json(self.path / "doctor.json")
        return from_json(saved) if isinstance(saved, list) else []

    # --- what can be done with it -------------------------------------------------------

    def _engine(self) -> Engine:
        return self._trained()[1]

    def _trained(self) -> tuple[int, Engine, Data]:
        """The engine at the newest checkpoint and the run's data, loaded once a checkpoint."""
        from gankit.evaluate import load_trained

        if self._loaded is None or self._loaded[0] != self.step:
            engine, data, step = load_trained(self._dir)
            self._loaded = (step, engine, data)
        return self._loaded

    def real(self, n: int = 64, seed: int = 0) -> np.ndarray:
        """``n`` real training samples, drawn at random (the run's data rebuilt from its
        config: game frames come from the cache), in the form ``sample`` returns."""
        data = self._trained()[2]
        n = min(_count(n, "n"), len(data.train))
        return data.train[np.random.default_rng(seed).choice(len(data.train), n, replace=False)]

    def sample(self, n: int = 64, seed: int = 0) -> np.ndarray:
        """``n`` samples of the newest checkpoint: float32 points ``(n, d)`` or uint8 images
        ``(n, H, W, C)``; the same as ``gankit sample RUN -n N --seed SEED``."""
        from gankit.sampling import draw

        n = _count(n, "n")
        x, _ = draw(self._engine(), n, np.random.default_rng(seed))
        return x

    def critic(self, x: Any) -> np.ndarray:
        """D's raw output for each sample of ``x`` (points ``(n, d)`` or uint8 images
        ``(n, H, W, C)`` of the run's shape), shape ``(n,)``."""
        engine = self._engine()
        x = np.asarray(x)
        if x.ndim == 0 or len(x) == 0:
            raise UserError("critic() was given no samples; give an array of one or more.")
        want = engine.sample_shape
        if engine.images:
            if x.dtype != np.uint8 or x.shape[1:] != want:
                raise UserError(
                    f"critic() takes uint8 images of shape (n, {', '.join(map(str, want))}) "
                    f"for this run; got {x.dtype} of shape {x.shape}."
                )
        else:
            if x.ndim != 2 or x.shape[1:] != want or not np.issubdtype(x.dtype, np.number):
                raise UserError(
                    f"critic() takes points of shape (n, {want[0]}) for this run; got "
                    f"{x.dtype} of shape {x.shape}."
                )
            x = x.astype(np.float32)
        return np.asarray(engine.critic(x))

    def evaluate(self) -> dict[str, Any]:
        """Score the newest checkpoint again (``gankit eval``); writes and returns eval.json."""
        from gankit.evaluate import evaluate

        return evaluate(self._dir)

    def doctor(self) -> list[Finding]:
        """The doctor's findings on the run as it is now (``gankit doctor``)."""
        from gankit.doctor import diagnose_run

        return diagnose_run(self.path)

    def report(self) -> Path:
        """Write report.html (``gankit report``) and return its path."""
        from gankit.report import write_report

        return write_report(self.path)

    def export(self, out: str | Path) -> Path:
        """Write the generator alone to folder ``out`` (``gankit export RUN --out DIR``):
        safetensors weights (EMA when kept), config.json and a model card; read it back
        with ``gankit.load_generator(out)``."""
        from gankit.export import export_run

        return export_run(self.path, out)

    def resume(self, steps: int | None = None, progress: bool = True, **train: Any) -> Run:
        """Continue training from the newest checkpoint, to ``steps`` in all (``gankit train
        --resume RUN --set train.steps=N``; other ``train.*`` keys by keyword), then score,
        diagnose and draw it again. Returns this Run."""
        from gankit import training
        from gankit.outputs import missing

        if steps is not None:
            train = {"steps": steps, **train}
        try:
            training.resume(self.path, overrides({"train": train}), progress=progress)
        except training.AlreadyTrained:
            if not missing(self._dir):  # trained and finished: nothing left to do
                raise
        self._loaded = None
        finished(self._dir)
        return self

    def try_remedy(
        self,
        finding: Finding | str | None = None,
        which: int = 0,
        out: str | Path | None = None,
        progress: bool = True,
        set: Mapping[str, Any] | None = None,  # the CLI's --set, as in train()
    ) -> Run:
        """Train what the doctor suggests for ``finding`` (one of ``findings``, or its name;
        the first one by default): its remedy number ``which`` (0, the first, is the one the
        doctor rates most likely to help), as a new run, or, for a remedy that resumes this
        run (``gankit train --resume``), this run trained on. Returns that run. ``set`` adds
        overrides after the remedy's (dotted keys, as ``gankit.train``'s): a quick look at a
        remedy with fewer steps, say."""
        from gankit import training

        findings = self.findings
        if finding is not None and not isinstance(finding, str):
            findings = [finding]  # a Finding in hand (from doctor(), say): its own remedies
        if not findings:
            raise UserError(f"{self.path}: the doctor found no problem, so it has no remedy.")
        if finding is None:
            chosen = findings[0]
        else:
            name = finding if isinstance(finding, str) else finding.name
            match = [f for f in findings if f.name == name]
            if not match:
                known = ", ".join(f.name for f in findings)
                raise UserError(f"{self.path} has no finding {name!r}; its findings: {known}.")
            chosen = match[0]
        if not 0 <= which < len(chosen.remedies):
            raise UserError(
                f"{chosen.name} has {len(chosen.remedies)} remedies; which takes 0 to "
                f"{len(chosen.remedies) - 1}."
            )
        remedy = chosen.remedies[which]
        extra = overrides(None, set)
        resume = resume_command(remedy)
        if resume is not None:  # this run, trained on from its last checkpoint (not into out)
            return finished(training.resume(resume[0], [*resume[1], *extra], progress=progress))
        return finished(training.start(command_config(remedy, extra), out, progress=progress))

    # --- in a notebook ------------------------------------------------------------------

    def _repr_html_(self) -> str:
        from gankit.notebook import run_card

        return run_card(self)


def _count(n: Any, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise UserError(f"{what} = {n!r} asks for no samples; give a positive whole number.")
    return int(n)


def _read_json(path: Path) -> Any:
    """A small JSON file of the run, or None when it is missing or torn."""
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
