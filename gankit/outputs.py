"""What a finished run leaves for a person: scores, the training GIF, the last frame, curves."""

from __future__ import annotations

from typing import Any

from gankit.evaluate import evaluate, headline
from gankit.run import RunDir


def finish(run: RunDir) -> dict[str, Any]:
    """Score the run and draw its pictures; returns the headline scores and the file paths."""
    from gankit.viz.curves import plot_curves

    cfg = run.config()
    result = evaluate(run)
    files: dict[str, str] = {}
    if cfg.data.is_image:
        from gankit.viz.images import training_gif

        gif = training_gif(run.path, fps=cfg.viz.fps)
        last = run.snapshot_steps()[-1]
        files["real | generated"] = str(run.snapshots / f"step_{last:07d}.png")
    else:
        from gankit.viz.gif import training_gif

        gif = training_gif(run.path, fps=cfg.viz.fps)
    files["GIF"] = str(gif)
    files["last frame"] = str(run.snapshots / "last.png")
    files["curves"] = str(plot_curves(run.path))
    files["scores"] = str(run.path / "eval.json")
    return {"run": str(run.path), "headline": headline(result), "files": files}
