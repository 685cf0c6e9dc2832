"""``gankit eval RUN``: score the newest checkpoint of a run against held-out real points.

Reads only the run directory (config.json + checkpoint); the data are rebuilt from the saved
config and seed. Each score carries its protocol, and the same protocol applied to real
held-out points gives what a perfect generator scores up to sampling noise (a generator
tighter or more even than a random sample can do a little better).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from gankit.data.toy import PointData, make_points
from gankit.engines import make_engine
from gankit.engines.base import Engine
from gankit.errors import UserError
from gankit.metrics import toy
from gankit.run import RunDir, write_json


def load_trained(run: RunDir) -> tuple[Engine, PointData, int]:
    """The run's engine with its newest checkpoint loaded, its data, and that step."""
    cfg = run.config()
    latest = run.latest_checkpoint()
    if latest is None:
        raise UserError(f"{run.path} has no complete checkpoint yet; train it first.")
    step, state, _ = latest
    data = make_points(cfg.data, cfg.seed)
    engine = make_engine(cfg, data.train)
    engine.load_state(state)
    return engine, data, step


def score_points(x: np.ndarray, data: PointData, w1_points: int, seed: int) -> dict[str, Any]:
    """All scores that apply to this kind of data, for samples ``x``."""
    out: dict[str, Any] = {}
    if data.kind in ("ring8", "grid25"):
        out["modes"] = toy.mode_scores(x, np.asarray(data.info["centres"]), data.info["sigma"])
    if data.kind == "sine":
        out["sine"] = toy.sine_scores(x, data.info["noise_mean"])
    if data.kind == "gaussian1d":
        out["gaussian"] = toy.gaussian_scores(x, data.info["mean"], data.info["std"])
    out["w1"] = toy.wasserstein1(x, data.holdout, max_points=w1_points, seed=seed)
    return out


def evaluate(run: RunDir, log: bool = True) -> dict[str, Any]:
    """Score the run, write ``eval.json`` and (when ``log``) an ``eval`` line in metrics.jsonl."""
    engine, data, step = load_trained(run)
    cfg = engine.cfg
    n = cfg.eval.n_samples
    x = engine.sample(engine.latent(n, np.random.default_rng([cfg.seed, 5])))
    result: dict[str, Any] = {
        "step": step,
        "n_samples": n,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if not np.isfinite(x).all():
        result["diverged"] = True
        result["scores"] = {}
    else:
        result["scores"] = score_points(x, data, cfg.eval.w1_points, cfg.seed)
    # the floor: the same protocol on real points the model never saw (train vs holdout)
    real = data.train[np.random.default_rng([cfg.seed, 8]).permutation(len(data.train))[:n]]
    result["real_floor"] = score_points(real, data, cfg.eval.w1_points, cfg.seed)
    write_json(run.path / "eval.json", result)
    if log:
        run.log_metrics({"step": step, "eval": result["scores"]})
    return result


def headline(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(score, value, real-data floor) rows for printing."""
    s, f = result["scores"], result["real_floor"]
    if result.get("diverged"):
        return [("diverged", "G produced NaN/inf", "")]
    rows = []
    if "modes" in s:
        m, fm = s["modes"], f["modes"]
        rows += [
            ("modes captured", f"{m['modes']} / {m['n_modes']}", f"{fm['modes']}"),
            (
                "high quality",
                f"{100 * m['high_quality']:.1f} %",
                f"{100 * fm['high_quality']:.1f} %",
            ),
            ("reverse KL", f"{m['reverse_kl']:.4f}", f"{fm['reverse_kl']:.4f}"),
        ]
    if "sine" in s:
        rows += [
            (
                "distance to curve",
                f"{s['sine']['curve_distance']:.4f}",
                f"{f['sine']['curve_distance']:.4f}",
            ),
            (
                "x coverage",
                f"{100 * s['sine']['x_coverage']:.0f} %",
                f"{100 * f['sine']['x_coverage']:.0f} %",
            ),
        ]
    if "gaussian" in s:
        g, fg = s["gaussian"], f["gaussian"]
        rows += [
            (
                "mean / std",
                f"{g['mean']:.3f} / {g['std']:.3f}",
                f"{fg['mean']:.3f} / {fg['std']:.3f}",
            )
        ]
    rows.append(("Wasserstein-1", f"{s['w1']['value']:.4f}", f"{f['w1']['value']:.4f}"))
    return rows
