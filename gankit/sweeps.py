"""A sweep: the variants of a grid of config overrides trained one after another, then one GIF
with the runs side by side and the page that compares them (``gankit sweep``,
``gankit.sweep``).

The module is sweeps.py, not sweep.py, so that it never shadows the function ``gankit.sweep``.
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gankit.config import load_config, parse_override
from gankit.errors import Diverged, UserError
from gankit.run import next_run_dir, write_json


@dataclass
class SweepResult:
    """Where a sweep's runs and pictures are."""

    root: Path  # the sweep folder
    runs: list[Path]  # one run directory per variant, in the grid's order
    labels: list[str]  # "latent_dim=1", "latent_dim=20 name=hinge": each variant's keys
    gif: Path  # root/sweep.gif: the runs side by side over training
    compare: Path  # root/compare.html: scores, differing keys, curves and pictures


def variant_label(variant: tuple[str, ...]) -> str:
    """``("model.latent_dim=1", 'loss.name="hinge"')`` -> ``latent_dim=1 name=hinge``: the
    values as a person writes them (a string without the quotes the Python door adds)."""
    parts = []
    for text in variant:
        key, value = parse_override(text)
        shown = value if isinstance(value, str) else text.partition("=")[2].strip()
        parts.append(f"{key[-1]}={shown}")
    return " ".join(parts)


def variant_folder(label: str) -> str:
    """A variant's folder name: its label with anything a path would misread (spaces,
    slashes) as ``_``."""
    return re.sub(r"[^\w.=,+\[\]-]+", "_", label)


def run_sweep(
    preset: str,
    axes: list[list[str]],
    overrides: list[str] | None = None,
    out: Path | None = None,
    seed: int | None = None,
    progress: bool = True,
    on_variant: Callable[[str, dict[str, Any]], None] | None = None,
) -> SweepResult:
    """Train every combination of ``axes`` (each a list of overrides of one key, like
    ``["model.latent_dim=1", "model.latent_dim=20"]``) on top of ``preset`` and
    ``overrides``, each variant in ``out/<label>`` (default: the next ``runs/NNNNN-sweep-
    PRESET``), finished as ``gankit train`` finishes a run; ``on_variant(label, summary)``
    hears of each (summary as gankit.outputs.finish returns it). Then writes sweep.gif and
    compare.html into the sweep folder. Every variant's config is checked before the first
    one trains, so a typo in the last value costs no training."""
    from gankit import training
    from gankit.compare import write_compare
    from gankit.outputs import finish
    from gankit.torchrun import world_size

    if world_size() > 1:  # each variant would set up and tear down its own process group
        raise UserError(
            "a sweep trains its variants one after another in one process; under torchrun "
            "train one preset at a time."
        )
    if not axes or any(not axis for axis in axes):
        raise UserError("a sweep needs at least one key with values, like model.latent_dim=1,20.")
    variants = list(itertools.product(*axes))
    configs = [load_config(preset, [*(overrides or []), *v], None, seed) for v in variants]
    labels = [variant_label(v) for v in variants]
    if len(set(labels)) < len(labels):
        raise UserError(
            f"the sweep's variants {', '.join(labels)} repeat a value; give each value once."
        )
    root = Path(out) if out is not None else next_run_dir("runs", f"sweep-{preset}")
    root.mkdir(parents=True, exist_ok=True)
    # the sweep's own record: catalogues name its runs SWEEP/VARIANT by it
    write_json(
        root / "sweep.json",
        {"preset": preset, "axes": axes, "overrides": overrides or [], "seed": seed,
         "labels": labels},
    )  # fmt: skip
    runs = []
    for cfg, label in zip(configs, labels, strict=True):
        try:
            run = training.start(cfg, root / variant_folder(label), progress=progress)
        except Diverged as e:  # a variant that diverges is one of the sweep's results
            warnings.warn(str(e), stacklevel=2)
            run = e.run
        summary = finish(run)
        runs.append(run.path)
        if on_variant is not None:
            on_variant(label, summary)
    gif = _sweep_gif(runs, labels, root / "sweep.gif", configs[0].data.is_image, configs[0].viz.fps)
    page = write_compare(runs, root / "compare.html", labels)
    return SweepResult(root=root, runs=runs, labels=labels, gif=gif, compare=page)


def _sweep_gif(runs: list[Path], labels: list[str], out: Path, images: bool, fps: float) -> Path:
    if images:
        from gankit.viz.images import sweep_gif

        return sweep_gif(runs, labels, out, fps=fps)
    from gankit.viz.gif import side_by_side_gif

    return side_by_side_gif(runs, labels, out, fps=fps)
