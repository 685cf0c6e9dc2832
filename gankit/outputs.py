"""What a finished run leaves for a person: scores, the doctor's findings, the training GIF,
the last frame, curves, and report.html with all of them."""

from __future__ import annotations

from typing import Any

from gankit.doctor import diagnose_run, to_json
from gankit.evaluate import evaluate
from gankit.headline import headline
from gankit.run import RunDir, write_json


def finish(run: RunDir) -> dict[str, Any]:
    """Score the run, diagnose it and draw its pictures; returns the headline scores, the
    findings and the file paths."""
    from gankit.viz.curves import plot_curves

    cfg = run.config()
    if run.latest_checkpoint() is None:
        # stopped (losses NaN) before its first checkpoint: no weights to score, but the
        # pictures so far and the doctor's findings still say what happened
        result: dict[str, Any] = {"diverged": True, "scores": {}, "real_floor": {}}
    else:
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
    if (run.path / "eval.json").is_file():
        files["scores"] = str(run.path / "eval.json")
    findings = diagnose_run(run.path)  # after evaluate: the scores are part of the evidence
    write_json(run.path / "doctor.json", to_json(findings))
    run.event("doctor_final", findings=[f.name for f in findings])
    files["doctor"] = str(run.path / "doctor.json")
    from gankit.report import write_report

    files["report"] = str(write_report(run.path))  # last: it shows all of the above
    return {
        "run": str(run.path),
        "headline": headline(result),
        "findings": findings,
        "files": files,
    }
