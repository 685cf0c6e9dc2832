"""How far the samples are from the data, by the last evaluation's scores beside the same
scores of real samples the model never saw (the real-data floor, eval.json's
``real_floor``): far_from_data, and distances blown up by orders of magnitude, which
divergence reports."""

from __future__ import annotations

from typing import Any

from gankit.doctor.finding import Finding, Remedies
from gankit.scores import Score, registry

# A distance (a lower-is-better score) this many times its floor: the samples are not in
# the data's region at all (Adam at lr 1e3 on ring8: W1 11,922 against 0.04); divergence.
EXPLODED_SCORE_RATIO = 1e3


def _judged(eval_result: dict[str, Any] | None) -> dict[str, Any]:
    """The scores that judge G: its every draw where the sampler truncated."""
    if not eval_result:
        return {}
    return eval_result.get("scores_every_draw") or eval_result.get("scores") or {}


def gaps(eval_result: dict[str, Any] | None) -> list[tuple[Score, float, float]]:
    """(score, value, floor) of each registered score in the evaluation that has both."""
    scores, floor = _judged(eval_result), (eval_result or {}).get("real_floor") or {}
    out = []
    for score in registry.scores():
        v, f = score.main_value(scores.get(score.key)), score.main_value(floor.get(score.key))
        if v is not None and f is not None:
            out.append((score, float(v), float(f)))
    return out


def _worse_by(score: Score, value: float, floor: float) -> float:
    """How many times worse than the floor ``value`` is (1: as good; below 1: better); NaN
    where the floor is not positive (no scale to measure against)."""
    if floor <= 0:
        return float("nan")
    if score.better == "lower":
        return value / floor
    return floor / value if value > 0 else float("inf")


def exploded(eval_result: dict[str, Any] | None) -> dict[str, float]:
    """Evidence of distances blown up by orders of magnitude (and non-finite samples)."""
    out: dict[str, float] = {}
    if eval_result and eval_result.get("diverged"):
        out["eval_samples_non_finite"] = 1.0
    for score, v, f in gaps(eval_result):
        # only the distances with a positive floor to measure against: KID's unbiased
        # estimate is negative on real samples, so a ratio to it means nothing
        judged = score.better == "lower" and score.far is not None and f > 0
        if judged and v >= EXPLODED_SCORE_RATIO * f:
            out[f"eval_{score.key}"], out[f"eval_{score.key}_floor"] = v, f
    return out


def far_from_data(eval_result: dict[str, Any] | None, cmd: Remedies) -> Finding | None:
    """The scores past their ``far`` factor of the floor (gankit.scores' entries)."""
    far = [
        (score, v, f)
        for score, v, f in gaps(eval_result)
        if score.far is not None and _worse_by(score, v, f) > score.far
    ]
    if not far or eval_result is None:
        return None
    evidence: dict[str, float] = {}
    said = []
    for score, v, f in far:
        evidence[f"eval_{score.key}"], evidence[f"eval_{score.key}_floor"] = v, f
        said.append(f"{score.key} {v:.4g} against {f:.4g} for real samples")
    step = int(eval_result.get("step", 0))
    remedies = [*cmd.undo()]
    if cmd.g_ema <= 0:
        remedies.append(cmd("model.g_ema=0.999"))
    remedies += [cmd.lower_lrs(), cmd(f"train.steps={2 * cmd.steps}")]
    return Finding(
        name="far_from_data",
        severity="warning",
        steps=(step, step),
        evidence=evidence,
        summary="The samples are far from the data: " + "; ".join(said) + _drawn(eval_result) + ".",
        remedies=remedies,
        series=["d_loss", "g_loss"],
    )


def _drawn(eval_result: dict[str, Any]) -> str:
    """Where the sampler truncates, the scores judged are of G's every draw: they differ
    from the headline scores of the truncated samples, so the sentence says which."""
    return " (G's every draw, before truncation)" if eval_result.get("scores_every_draw") else ""
