"""Keeping what the lab made: "save as run" writes an ordinary gankit run directory with
gankit's own run code (so ``gankit eval / doctor / report / train --resume`` and
``gankit.load`` read it like any other), and a scenario (data, controls, seed) is a small
JSON object that reopens the same GAN from a file or a URL."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from gankit.config import config_from_dict
from gankit.data.toy import load_points
from gankit.errors import UserError
from gankit.lab import controls
from gankit.lab.session import Session
from gankit.run import RunDir, next_run_dir
from gankit.snapshots import PointSnapshots, save_real_reference

SCENARIO_VERSION = 1
MAX_SCENARIO_POINTS = 5000  # a scenario stays a small file, and fits in a URL for a few

# The ways a GAN fails (docs/problems.md, seeds/004), each the config docs/problems.md trains
# to show it, as a scenario: one click opens it, the next plays it.
PROBLEMS: dict[str, dict[str, Any]] = {
    "vanishing_gradients": {"preset": "ring8", "controls": {
        "loss.name": "minimax", "loss.r1": 0.0, "optim.d_lr": 0.01, "train.d_steps": 5}},
    "non_convergence": {"preset": "ring8", "controls": {"optim.d_lr": 0.02, "optim.g_lr": 0.02}},
    "mode_collapse": {"preset": "grid25", "controls": {"train.batch_size": 16, "loss.r1": 0.0}},
    "discriminator_wins": {"preset": "ring8", "controls": {
        "optim.d_lr": 0.01, "optim.g_lr": 1e-5, "train.d_steps": 5}},
    "divergence": {"preset": "ring8", "controls": {
        "optim.name": "sgd", "optim.d_lr": 2.0, "optim.g_lr": 2.0}},
}  # fmt: skip


def problem(name: str) -> Session:
    """A new session showing the problem ``name`` (a key of PROBLEMS)."""
    if name not in PROBLEMS:
        raise UserError(f"unknown problem {name!r}; the lab shows: {', '.join(PROBLEMS)}.")
    return open_scenario({"gankit_lab": SCENARIO_VERSION, "seed": 0, **PROBLEMS[name]})


def save_run(session: Session, out: str | Path | None = None, pictures: bool = True) -> Path:
    """Write the session as a run directory at ``out`` (or the next ``runs/NNNNN-lab-...``):
    config.json, metrics.jsonl (the rows the lab logged), events.jsonl (the doctor's
    findings), snapshots and a checkpoint of the engine as it stands. ``pictures``: then
    score it and draw the GIF, curves and report.html, as ``gankit train`` does at its end.
    Its train.steps is the steps done plus the preset's own, so ``gankit train --resume``
    carries on training it."""
    from gankit.training import _meta

    cfg, engine, step = session.cfg, session.engine, session.step
    path = Path(out) if out else next_run_dir("runs", f"lab-{session.preset}-{engine.name}")
    if (path / "config.json").exists():
        raise UserError(f"{path} already holds a run; give another folder to save to.")
    data = cfg.model_dump()
    data["train"]["steps"] = step + cfg.train.steps
    if cfg.data.name == "points":  # the run keeps its own copy of the user's points
        path.mkdir(parents=True, exist_ok=True)
        own = (path / "points").with_suffix(Path(str(cfg.data.path)).suffix)
        shutil.copyfile(str(cfg.data.path), own)
        data["data"]["path"] = str(own.resolve())
    saved = config_from_dict(data, "the lab's config")
    run = RunDir.create(path, saved, {**_meta(saved, engine), "made_by": "gankit lab"})
    save_real_reference(run, saved, session.data)
    run.event("start", preset=saved.preset, seed=saved.seed, steps=saved.train.steps)
    rows = list(session.rows)
    if step and (not rows or rows[-1]["step"] != step):
        rows.append(session.pending_row())  # as gankit's loop logs its last step
    for row in rows:
        run.log_metrics(row)
    for finding in session.findings:
        run.event("doctor", step=finding["steps"][1], **finding)
    snaps = list(session.memory.snaps)
    for s, arrays in snaps:
        run.save_snapshot(s, arrays)
    if not snaps or snaps[-1][0] != step:
        PointSnapshots(saved, engine, session.data, run)(step, session.last)
    run.save_checkpoint(step, engine.state(), {"engine": engine.name}, 1)
    run.event("end", step=step)
    if pictures and rows:  # before the first step there is nothing to draw curves of
        from gankit.outputs import finish

        finish(run)
    return run.path


def panel_name(panel: int, variant: dict[str, Any]) -> str:
    """What a side-by-side panel's run is called: its place and what it changes, e.g.
    ``1-loss-minimax`` or ``3-latent_dim-100`` (a key's section where its last part is just
    ``name``), in characters every file system takes."""
    words = [str(panel)]
    for key, value in variant.items():
        section, _, last = key.rpartition(".")
        words += [section if last == "name" and section else last, str(value)]
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(words))


def save_runs(
    sessions: list[Session],
    variants: list[dict[str, Any]],
    out: str | Path | None = None,
    pictures: bool = True,
) -> list[Path]:
    """Every panel as a run of its own (:func:`save_run`): one session as before; side by
    side, each under a name saying which panel and configuration it is
    (``runs/NNNNN-lab-ring8-torch-2-loss-bce``, or ``OUT/2-loss-bce`` where ``out`` is
    given). All are checked to be free before any is written, so a clash writes none."""
    if len(sessions) == 1:
        return [save_run(sessions[0], out, pictures)]
    names = [panel_name(i + 1, v) for i, v in enumerate(variants)]
    if out is not None:
        taken = [Path(out) / n for n in names if (Path(out) / n / "config.json").exists()]
        if taken:
            raise UserError(f"{taken[0]} already holds a run; give another folder to save to.")
    paths = []
    for session, name in zip(sessions, names, strict=True):
        if out is not None:
            target: Path | None = Path(out) / name
        else:  # numbered afresh for each: the previous panel's directory exists by now
            target = next_run_dir("runs", f"lab-{session.preset}-{session.engine.name}-{name}")
        paths.append(save_run(session, target, pictures))
    return paths


def scenario(session: Session) -> dict[str, Any]:
    """The session's data, controls (those that differ from its preset's lab config) and
    seed, as a small JSON-ready object."""
    cfg = session.cfg
    base = controls.lab_config(session.preset, cfg.seed)
    changes = {
        k: controls.get(cfg, k)
        for k in sorted(controls.CONTROL_KEYS)
        if k != "seed" and controls.get(cfg, k) != controls.get(base, k)
    }
    out: dict[str, Any] = {
        "gankit_lab": SCENARIO_VERSION,
        "preset": session.preset,
        "seed": cfg.seed,
        "controls": changes,
    }
    if cfg.data.name == "points":
        pts = load_points(str(cfg.data.path))
        if len(pts) > MAX_SCENARIO_POINTS:
            raise UserError(
                f"a scenario holds at most {MAX_SCENARIO_POINTS:,} points, these data have "
                f"{len(pts):,}; save as run instead."
            )
        out["points"] = np.round(pts.astype(np.float64), 5).tolist()
    return out


def open_scenario(obj: Any) -> Session:
    """A new session from :func:`scenario`'s object; a UserError naming what is wrong with
    one that is not."""
    if not isinstance(obj, dict) or obj.get("gankit_lab") != SCENARIO_VERSION:
        raise UserError(
            f'not a gankit lab scenario: expected a JSON object with "gankit_lab": '
            f"{SCENARIO_VERSION}."
        )
    preset, seed, changes = obj.get("preset"), obj.get("seed", 0), obj.get("controls", {})
    if not isinstance(changes, dict):
        raise UserError('a scenario\'s "controls" must be an object of config keys.')
    if type(seed) is not int:
        raise UserError('a scenario\'s "seed" must be a whole number.')
    session = Session(str(preset), seed)
    try:
        session.set(changes)
        if "points" in obj:
            session.draw(obj["points"])
    except BaseException:
        session.close()
        raise
    return session
