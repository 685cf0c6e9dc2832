"""The ``gankit`` commands that work on finished runs: runs, compare, export, tensorboard.
They add themselves to gankit.cli's ``app`` when gankit.cli imports this module."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from gankit.cli import app, out
from gankit.errors import UserError


@app.command()
def export(
    run: Annotated[Path, typer.Argument(help="Run directory.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write (new, or this export).")],
) -> None:
    """Write the generator alone (its EMA weights when the run keeps them) as
    generator.safetensors, with config.json and a model card README.md (data, scores with
    their protocols and real-data floors, sample.png); `gankit sample DIR` reads it."""
    from gankit.export import export_run

    out.print(f"exported {run} to {export_run(run, out_dir)} (model card: README.md)")


@app.command()
def tensorboard(
    runs: Annotated[list[Path], typer.Argument(help="Run directories.")],
    logdir: Annotated[
        Path | None, typer.Option(help="Write to LOGDIR/<run name> instead of RUN/tensorboard.")
    ] = None,
) -> None:
    """Write TensorBoard event files from run directories: every metric as a scalar, the
    snapshot pictures as images, the config as text (a rerun replaces them)."""
    from gankit.tensorboard_export import write_tensorboard

    folders = write_tensorboard(runs, logdir)
    for folder in folders:
        out.print(f"TensorBoard events in {folder}")
    if logdir is None and len(folders) > 1:
        spec = ",".join(f"{f.parent.name}:{f}" for f in folders)
        view = f"--logdir_spec {spec}"
    else:
        view = f"--logdir {logdir or folders[0]}"
    out.print(f"view them with: tensorboard {view}", highlight=False, soft_wrap=True)


@app.command("runs")
def runs_(
    root: Annotated[Path, typer.Argument(help="Folder of runs (sweeps included).")] = Path("runs"),
) -> None:
    """List the runs under ROOT, one line each: name, preset, engine, steps done / planned,
    the headline score beside its real-data floor, the doctor's verdict and the date."""
    from gankit.catalog import catalog_lines, find_runs, summarize

    if not root.is_dir():
        raise UserError(f"{root} is not a folder; give the folder that holds the runs.")
    found = find_runs(root)
    if not found:
        out.print(f"no runs under {root} (a run is a folder with a config.json).")
        return
    header, *lines = catalog_lines([summarize(p) for p in found])
    out.print(f"[bold]{escape(header)}[/]", soft_wrap=True, highlight=False)
    for line in lines:
        out.print(escape(line), soft_wrap=True, highlight=False)


@app.command("compare")
def compare_(
    runs: Annotated[list[Path], typer.Argument(help="Two or more run directories.")],
    out_file: Annotated[Path, typer.Option("--out", help="The page to write.")] = Path(
        "compare.html"
    ),
) -> None:
    """Write one self-contained page comparing runs: the config keys that differ, the scores
    side by side with their floors, the last pictures side by side and the curves overlaid."""
    from gankit.compare import load_runs, score_table, write_compare

    page = write_compare(runs, out_file)
    out.print(score_table(load_runs(runs)))
    out.print(f"comparison {page}")
