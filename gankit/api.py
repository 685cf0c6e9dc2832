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
from typing import Any

from gankit.config import Config, load_config, preset_names, preset_summary
from gankit.errors import UserError
from gankit.overrides import overrides, toml_value
from gankit.run_handle import Run, finished

__all__ = ["Run", "load", "presets", "runs", "sweep", "train"]


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
    try:
        run = training.start(cfg, out, progress=progress)
    except training.Diverged as e:  # scored, diagnosed and drawn all the same, as the CLI does
        finished(e.run)
        raise
    return finished(run)


def load(path: str | Path) -> Run:
    """The run in directory ``path`` (made from the CLI or from Python, by any engine)."""
    from gankit.run import RunDir

    return Run(RunDir.open(path).path)


def runs(root: str | Path = "runs") -> list[Run]:
    """Every run under ``root`` (sweeps' variants included), in name order."""
    from gankit.catalog import find_runs

    if not Path(root).is_dir():
        raise UserError(f"{root} is not a folder; give the folder that holds the runs.")
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
