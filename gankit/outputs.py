"""What a finished run leaves for a person: scores, the training GIF, the last frame, curves."""

from __future__ import annotations

from typing import Any

from gankit.evaluate import evaluate, headline
from gankit.run import RunDir


def finish(run: RunDir) -> dict[str, Any]:
    """Score the run and draw its pictures; returns the headline scores and the file paths."""
    from gankit.viz.curves import plot_curves
    from gankit.viz.gif import training_gif

    result = evaluate(run)
    gif = training_gif(run.path, fps=run.config().viz.fps)
    curves = plot_curves(run.path)
    return {
        "run": str(run.path),
        "headline": headline(result),
        "files": {
            "GIF": str(gif),
            "last frame": str(run.snapshots / "last.png"),
            "curves": str(curves),
            "scores": str(run.path / "eval.json"),
        },
    }
