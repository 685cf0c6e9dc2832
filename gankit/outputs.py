"""What a finished run leaves for a person: scores, the doctor's findings, the training GIF,
the last frame, curves, and report.html with all of them. Each is written whole or not at
all (a temporary file, then a rename), so an interrupted finish leaves what it had not
written yet missing, and ``gankit train --resume`` writes just that."""

from __future__ import annotations

from typing import Any

from gankit.doctor import diagnose_run, to_json
from gankit.evaluate import evaluate
from gankit.headline import headline
from gankit.run import RunDir, read_json_object, write_json

# what finishing writes into the run directory, in the order it writes them
FINISHED = ("eval.json", "training.gif", "snapshots/last.png", "curves.png", "doctor.json")
REPORT = "report.html"  # last: it shows all of the above


def missing(run: RunDir) -> list[str]:
    """The finishing files the run directory lacks (eval.json only where there are weights
    to score)."""
    names = [*FINISHED, REPORT]
    if not run.checkpoint_steps():
        names.remove("eval.json")
    return [n for n in names if not (run.path / n).is_file()]


def _scores(run: RunDir, redo: bool) -> dict[str, Any]:
    if not run.checkpoint_steps():
        # stopped (losses NaN) before its first checkpoint: no weights to score, but the
        # pictures so far and the doctor's findings still say what happened
        return {"diverged": True, "scores": {}, "real_floor": {}}
    if not redo:
        try:
            return read_json_object(run.path / "eval.json")
        except Exception:  # damaged: scored again below, as if missing
            pass
    return evaluate(run)


def _real_reference(run: RunDir, cfg: Any) -> None:
    """snapshots/real.npz, which every picture shows, drawn again where it is missing or
    torn (from its own random stream: the very same file)."""
    from gankit.errors import UserError
    from gankit.viz.points import load_npz

    try:
        load_npz(run.snapshots / "real.npz")
    except UserError:
        from gankit.data import load_data
        from gankit.snapshots import save_real_reference

        save_real_reference(run, cfg, load_data(cfg.data, cfg.seed, progress=False))


def finish(run: RunDir, only_missing: bool = False) -> dict[str, Any]:
    """Score the run, diagnose it and draw its pictures; returns the headline scores, the
    findings and the file paths. ``only_missing``: keep what is there, write what is not
    (a finish an interrupt or a kill cut short)."""
    from gankit.viz.curves import plot_curves

    cfg = run.config()
    _real_reference(run, cfg)
    todo = set(missing(run)) if only_missing else {*FINISHED, REPORT}
    result = _scores(run, "eval.json" in todo)
    files: dict[str, str] = {}
    if cfg.data.is_image:
        from gankit.viz.images import training_gif

        last = run.snapshot_steps()[-1]
        files["real | generated"] = str(run.snapshots / f"step_{last:07d}.png")
    else:
        from gankit.viz.gif import training_gif
    gif = run.path / "training.gif"
    if {"training.gif", "snapshots/last.png"} & todo:
        gif = training_gif(run.path, fps=cfg.viz.fps)
    files["GIF"] = str(gif)
    files["last frame"] = str(run.snapshots / "last.png")
    curves = run.path / "curves.png"
    files["curves"] = str(plot_curves(run.path) if "curves.png" in todo else curves)
    if (run.path / "eval.json").is_file():
        files["scores"] = str(run.path / "eval.json")
    findings = diagnose_run(run.path)  # after evaluate: the scores are part of the evidence
    if "doctor.json" in todo:
        write_json(run.path / "doctor.json", to_json(findings))
        run.event("doctor_final", findings=[f.name for f in findings])
    files["doctor"] = str(run.path / "doctor.json")
    from gankit.report import write_report

    report = run.path / REPORT
    files["report"] = str(write_report(run.path) if todo else report)
    return {
        "run": str(run.path),
        "headline": headline(result),
        "findings": findings,
        "files": files,
    }
