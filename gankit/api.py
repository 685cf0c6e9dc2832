"""gankit's Python door: ``gankit.train``, ``gankit.load``, ``gankit.runs``, ``gankit.sweep``
and the :class:`Run` they return.

It holds no GAN logic of its own: every call goes through the same functions the CLI uses
(config layering, the training loop, evaluation, the doctor, the report), so a run made here
is an ordinary run directory and the CLI reads it, and the other way round. Keyword sections
use the config's own names (``model={"latent_dim": 20}``) and are turned into the ``--set``
overrides the CLI would take, so a bad key or value raises :class:`gankit.UserError` with the
very sentence ``gankit train`` prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gankit.config import Config, load_config, preset_names, preset_summary
from gankit.errors import UserError

if TYPE_CHECKING:
    from gankit.data import Data
    from gankit.doctor.finding import Finding
    from gankit.engines.base import Engine
    from gankit.run import RunDir

__all__ = ["Run", "load", "presets", "runs", "sweep", "train"]


def toml_value(value: Any) -> str:
    """A Python value as ``--set section.key=VALUE`` reads it back (TOML; floats exactly)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return repr(float(value))  # 'inf', 'nan' and '1e-05' are TOML floats too
    if isinstance(value, list | tuple):
        return "[" + ",".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise UserError(
        f"config value {value!r} is a {type(value).__name__}; give a number, a bool, a string "
        "or a list of those."
    )


def overrides(
    sections: Mapping[str, Any] | None = None, dotted: Mapping[str, Any] | None = None
) -> list[str]:
    """``{"model": {"latent_dim": 20}}`` and ``{"train.steps": 500}`` as the CLI's
    ``--set`` strings, in the order given (later ones win, as on the command line)."""
    out: list[str] = []
    for section, keys in (sections or {}).items():
        if not isinstance(keys, Mapping):
            raise UserError(
                f"{section}={keys!r} is not a mapping of the section's keys; write it like "
                f'{section}={{"key": value}}, for instance train={{"steps": 2000}}.'
            )
        out += [f"{section}.{key}={toml_value(v)}" for key, v in keys.items()]
    out += [f"{key}={toml_value(v)}" for key, v in (dotted or {}).items()]
    return out


def _config(
    preset: str,
    seed: int | None,
    engine: str | None,
    config: str | Path | Mapping[str, Any] | None,
    set: Mapping[str, Any] | None,
    sections: Mapping[str, Any],
) -> Config:
    """Defaults <- preset <- config (a TOML file, or sections as a mapping) <- keyword sections
    <- ``set`` (dotted keys) <- engine <- seed: the CLI's layers in the CLI's order."""
    if not isinstance(preset, str):
        raise UserError(f"preset {preset!r} is not a name; available: {', '.join(preset_names())}.")
    file = None
    layered: list[str] = []
    if isinstance(config, Mapping):
        layered += overrides(config)
    elif config is not None:
        file = Path(config)
    layered += overrides(sections, set)
    if engine is not None:
        layered.append(f"train.engine={toml_value(engine)}")
    return load_config(preset, layered, file, seed)


def train(
    preset: str,
    *,
    seed: int | None = None,
    out: str | Path | None = None,
    engine: str | None = None,
    config: str | Path | Mapping[str, Any] | None = None,
    progress: bool = True,
    set: Mapping[str, Any] | None = None,  # the CLI's --set, by name
    **sections: Mapping[str, Any],
) -> Run:
    """Train ``preset`` as ``gankit train`` does and return the finished :class:`Run`.

    ``gankit.train("sine", model={"latent_dim": 20}, train={"steps": 2000})`` is
    ``gankit train sine --set model.latent_dim=20 --set train.steps=2000``; ``set`` takes
    dotted keys (``set={"loss.r1": 0.01}``), ``config`` a TOML file or a mapping of sections,
    ``engine`` torch, keras or numpy. The run lands in ``out`` or the next free
    ``runs/NNNNN-PRESET-ENGINE``, then is scored, diagnosed and drawn (eval.json, doctor.json,
    training.gif, report.html). In Jupyter the progress shows as a live HTML bar, and the
    returned Run displays itself as a card."""
    from gankit import training

    cfg = _config(preset, seed, engine, config, set, sections)
    run = training.start(cfg, out, progress=progress)
    return _finished(run)


def _command_config(command: str) -> Config:
    """The config of a ``gankit train PRESET [--seed N] [--set key=value ...]`` line, the form
    of the doctor's remedies, read as the CLI reads it."""
    import shlex

    words = shlex.split(command)
    if words[:2] != ["gankit", "train"] or len(words) < 3 or words[2].startswith("-"):
        raise UserError(
            f"{command!r} is not a gankit train PRESET [--seed N] [--set key=value] command."
        )
    sets, seed, rest = [], None, words[3:]
    while rest:
        flag, value, rest = rest[0], rest[1:2], rest[2:]
        if flag not in ("--set", "--seed") or not value:
            raise UserError(
                f"{command!r}: only --set key=value and --seed N can follow the preset."
            )
        if flag == "--set":
            sets.append(value[0])
        elif value[0].lstrip("-").isdigit():
            seed = int(value[0])
        else:
            raise UserError(f"{command!r}: --seed takes a whole number, not {value[0]!r}.")
    return load_config(words[2], sets, None, seed)


def _finished(run: RunDir) -> Run:
    from gankit.outputs import finish
    from gankit.torchrun import is_lead

    if is_lead():  # under torchrun rank 0 alone scores, draws and reports the run
        finish(run)
    return Run(run.path)


def load(path: str | Path) -> Run:
    """The run in directory ``path`` (made by any door: CLI, Python, lab, any engine)."""
    from gankit.run import RunDir

    return Run(RunDir.open(path).path)


def runs(root: str | Path = "runs") -> list[Run]:
    """Every run under ``root`` (sweeps' variants included), in name order."""
    from gankit.catalog import find_runs

    return [Run(p) for p in find_runs(Path(root))]


def presets() -> dict[str, str]:
    """Preset name -> its one-line summary (what ``gankit presets`` prints)."""
    return {name: preset_summary(name) for name in preset_names()}


def sweep(
    preset: str,
    grid: Mapping[str, Iterable[Any]],
    *,
    seed: int | None = None,
    out: str | Path | None = None,
    progress: bool = True,
    set: Mapping[str, Any] | None = None,  # the CLI's --set, by name
    **sections: Mapping[str, Any],
) -> list[Run]:
    """Train every combination of ``grid`` (``{"model.latent_dim": [1, 20, 100]}``; several
    keys make the full product) as ``gankit sweep`` does: one run per variant, then one GIF
    of them side by side (``sweep.gif``) and a comparison page (``compare.html``) in the
    sweep's folder. Every variant's config is checked before the first one trains."""
    if not isinstance(grid, Mapping) or not grid:
        raise UserError(
            "grid takes a mapping of dotted keys to lists of values, like "
            '{"model.latent_dim": [1, 20, 100]}.'
        )
    axes = []
    for key, values in grid.items():
        values = (
            list(values) if isinstance(values, Iterable) and not isinstance(values, str) else []
        )
        if not values:
            raise UserError(
                f"grid key {key!r} has no list of values; write it like {{{key!r}: [1, 20]}}."
            )
        axes.append([f"{key}={toml_value(v)}" for v in values])
    from gankit.sweeps import run_sweep

    result = run_sweep(
        preset,
        axes,
        overrides(sections, set),
        Path(out) if out is not None else None,
        seed,
        progress=progress,
    )
    return [Run(p) for p in result.runs]


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

    def resume(self, steps: int | None = None, progress: bool = True, **train: Any) -> Run:
        """Continue training from the newest checkpoint, to ``steps`` in all (``gankit train
        --resume RUN --set train.steps=N``; other ``train.*`` keys by keyword), then score,
        diagnose and draw it again. Returns this Run."""
        from gankit import training

        if steps is not None:
            train = {"steps": steps, **train}
        training.resume(self.path, overrides({"train": train}), progress=progress)
        self._loaded = None
        _finished(self._dir)
        return self

    def try_remedy(
        self,
        finding: Finding | str | None = None,
        which: int = 0,
        out: str | Path | None = None,
        progress: bool = True,
    ) -> Run:
        """Train what the doctor suggests for ``finding`` (one of ``findings``, or its name;
        the first one by default): its remedy number ``which`` (0, the first, is the one the
        doctor rates most likely to help), as a new run. Returns that run."""
        from gankit import training

        findings = self.findings
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
        cfg = _command_config(chosen.remedies[which])
        return _finished(training.start(cfg, out, progress=progress))

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
    import json

    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
