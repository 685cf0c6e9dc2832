"""The rules on the training statistics: divergence, vanishing gradients, a discriminator
that wins outright, and non-convergence. Each takes the logged series as arrays and returns
a Finding or None; the thresholds are the module's constants, each with why it is set so."""

from __future__ import annotations

from typing import Any

import numpy as np

from gankit.doctor import fit
from gankit.doctor.finding import Finding, Remedies
from gankit.doctor.series import (
    MIN_WINDOW_ROWS,
    detrended_std,
    early_median,
    eval_scalars,
    longest_run,
    mean,
    median,
    min_window,
)
from gankit.losses import Loss
from gankit.scores.registry import lower_is_better

# What a loss lets the rules judge comes from the loss table (gankit/losses.py): whether
# d_real/d_fake have a fixed scale, so "D separates perfectly" has a meaning (a critic's are
# relative to its own gap and sit near 0.88/0.12 however well it separates: Loss.separates);
# whether the loss values have one, so a swing can be measured against their level (else
# oscillation is judged by D's verdict gap alone: Loss.fixed_scale); and whether G's
# gradient saturates as D wins (the minimax loss: Loss.saturating).

# D separates perfectly when its mean realness is above this on real batches ...
SEPARATED_REAL = 0.95
# ... and below this on fake ones: sigmoid(+-3), D is sure of nearly every sample.
SEPARATED_FAKE = 0.05
# G's gradient has vanished when its norm is below this multiple of its reference level (the
# higher of its early median and its best stretch): a hundredfold drop leaves Adam's
# normalised steps driven by noise, not by D's signal.
VANISHED_RATIO = 1e-2
# The saturating minimax loss log(1 - D(G(z))) passes G a gradient proportional to D(G(z)):
# with D's mean verdict on fakes below this, G gets under 2 % of what it would at balance
# (0.5), however steep D is; a run that starts in that state has no healthy level to drop from.
SATURATED_FAKE = 0.01
# D wins when at most this share of fakes fools it, on average over the last third: a
# healthy run keeps fooling D a fair share of the time (0.2 to 0.5), while a G a thousand
# times slower than D, with the preset's decaying learning rates, fools it 2 to 3 % of the time.
FOOLED_NEAR_ZERO = 0.05
# ... while its mean verdicts on real and fake batches lie at least this far apart: D is
# sure of its calls, not merely leaning one way with G close behind (healthy: 0 to 0.3).
WIN_GAP = 0.5
# A gradient norm this many times its early median has exploded: well past the growth a
# sharpening D gives (10x to 100x) and on its way to inf; a critic's loss the same.
EXPLODED_RATIO = 1e3
# A loss of fixed scale (bce, hinge, lsgan, the relativistic ones) past this has D's
# outputs a thousand logits off: healthy runs stay under 20 (points at 1e30 reached 7e27).
LOSS_EXPLODED = 1e3
# Non-convergence: the detrended standard deviation of a loss over the second half, divided
# by (|its mean| + LOSS_SCALE_FLOOR), above which the swings are as large as the loss itself;
# logged values are means over log_every steps, so a converging run's noise is far smaller.
OSCILLATION_REL_STD = 0.5
# Keeps the relative swing finite for a loss whose mean is near 0 (lsgan's G at balance).
LOSS_SCALE_FLOOR = 0.1
# ... or the detrended standard deviation of d_real - d_fake (in [-1, 1]) above this: D's
# verdict swinging between "sure" and "fooled" instead of settling near a small gap.
OSCILLATION_GAP_STD = 0.2
# G's samples for a fixed latent batch still move this much per logged row late in training
# (mean distance over the real data's mean pairwise distance; 1 = each sample replaced by an
# unrelated one) ...
DRIFT_HIGH = 0.5
# ... and at least this share of what they moved mid-run: no trend towards settling. A
# converging run's drift falls several-fold (to under 0.1 with a decaying learning rate).
DRIFT_NO_TREND = 0.8
# An eval distance (a followed score that is lower-is-better in gankit.scores: w1, fd) this
# many times its best value at the last evaluation: the run got clearly worse, beyond the
# sampling noise of the scores. A followed higher-is-better score (a mode count) is worse
# at any drop from its best.
EVAL_WORSE_RATIO = 1.5
# At least this many eval rows before a trend of the scores is judged.
MIN_EVAL_ROWS = 3


def divergence(
    steps: np.ndarray,
    s: dict[str, np.ndarray],
    loss: Loss,
    cmd: Remedies,
    eval_result: dict[str, Any] | None = None,
) -> Finding | None:
    bad = np.zeros(len(steps), dtype=bool)
    evidence: dict[str, float] = {}
    for k in ("d_loss", "g_loss"):
        x = s[k]
        nonfinite = ~np.isfinite(x)
        if nonfinite.any():
            evidence[f"{k}_non_finite_rows"] = float(nonfinite.sum())
        # finite but blown up: past any value a loss of fixed scale reaches, or (a critic's)
        # EXPLODED_RATIO times its early level
        early = abs(early_median(x))
        limit = LOSS_EXPLODED if loss.fixed_scale else max(EXPLODED_RATIO * early, LOSS_EXPLODED)
        blown = np.isfinite(x) & (np.abs(x) > limit)
        if blown.any():
            evidence[f"{k}_max_abs"] = float(np.max(np.abs(x[np.isfinite(x)])))
        bad |= nonfinite | blown
    for k in ("d_grad_norm", "g_grad_norm"):
        x = s[k]
        early = early_median(x)
        nonfinite = ~np.isfinite(x)
        # rows without a logged norm are NaN too, but then the whole column is: skip those
        if nonfinite.all():
            continue
        exploded = np.isfinite(x) & (x > EXPLODED_RATIO * early) if early > 0 else nonfinite
        if exploded.any():
            evidence[f"{k}_early_median"] = early
            evidence[f"{k}_max"] = float(np.max(x[np.isfinite(x)]))
        if nonfinite.any():
            evidence[f"{k}_non_finite_rows"] = float(nonfinite.sum())
        bad |= exploded | nonfinite
    scores = fit.exploded(eval_result)
    if not bad.any() and not scores:
        return None
    evidence.update(scores)
    if bad.any():
        idx = np.flatnonzero(bad)
        first, last = int(steps[idx[0]]), int(steps[idx[-1]])
    else:
        first = last = int((eval_result or {}).get("step", steps[-1] if len(steps) else 0))
    if any(k.endswith("non_finite_rows") for k in evidence):
        what = "losses or gradient norms became NaN/inf"
    elif bad.any():
        what = "losses or gradient norms blew up by orders of magnitude"
    else:
        what = "the samples' distance to the data blew up by orders of magnitude"
    if scores and bad.any():
        what += ", and the samples' distance to the data with them"
    return Finding(
        name="divergence",
        series=["d_loss", "g_loss", "d_grad_norm", "g_grad_norm"],
        severity="error",
        steps=(first, last),
        evidence=evidence,
        summary=f"Training diverged: {what} from step {first}.",
        remedies=[
            *cmd.undo(),
            cmd.lower_lrs(),
            cmd("loss.name=wgan-gp"),
            cmd("train.dtype=float64"),
        ],
    )


def _separated(s: dict[str, np.ndarray]) -> np.ndarray:
    return (s["d_real"] > SEPARATED_REAL) & (s["d_fake"] < SEPARATED_FAKE)


def vanishing_gradients(
    steps: np.ndarray, s: dict[str, np.ndarray], loss: Loss, cmd: Remedies
) -> Finding | None:
    g = s["g_grad_norm"]
    n, k = len(g), min_window(len(steps))
    # windows overlapping by half: a few dozen medians however long the run
    best = max(median(g[i : i + k]) for i in range(0, max(n - k + 1, 1), max(1, k // 2)))
    early = max(early_median(g), best)
    if not loss.separates or not early > 0:
        return None
    vanished = g < VANISHED_RATIO * early
    if loss.saturating:
        vanished |= s["d_fake"] < SATURATED_FAKE
    a, b = longest_run(_separated(s) & vanished)
    if b - a < k:
        return None
    w = slice(a, b)
    return Finding(
        name="vanishing_gradients",
        series=["g_grad_norm", "d_real", "d_fake"],
        severity="error",
        steps=(int(steps[a]), int(steps[b - 1])),
        evidence={
            "g_grad_norm_reference": early,
            "g_grad_norm_end": float(np.median(g[w])),
            "d_real": float(np.mean(s["d_real"][w])),
            "d_fake": float(np.mean(s["d_fake"][w])),
            "rows": float(b - a),
        },
        summary=(
            f"D separates real from fake perfectly from step {int(steps[a])} and G's gradient "
            f"has vanished (norm {float(np.median(g[w])):.2g}, from {early:.2g}): G has stopped "
            "learning" + (" (the saturating minimax loss does this)." if loss.saturating else ".")
        ),
        remedies=[
            *cmd.undo(),
            *([cmd("loss.name=bce")] if loss.saturating else []),
            cmd("loss.name=wgan-gp"),
            cmd.r1_up(),
            cmd.lower_d_lr(),
        ],
    )


def discriminator_wins(
    steps: np.ndarray, s: dict[str, np.ndarray], loss: Loss, cmd: Remedies
) -> Finding | None:
    n = len(steps)
    if not loss.separates or n < MIN_WINDOW_ROWS:
        return None
    w = slice(n - max(MIN_WINDOW_ROWS, n // 3), n)
    fooled, d_fake, d_real = mean(s["fooled"][w]), mean(s["d_fake"][w]), mean(s["d_real"][w])
    if not (fooled <= FOOLED_NEAR_ZERO and d_real - d_fake >= WIN_GAP):
        return None
    remedies = [cmd.lower_d_lr(), cmd.r1_up()]
    if cmd.g_lr < cmd.d_lr:
        remedies.insert(0, cmd(f"optim.g_lr={cmd.d_lr:g}"))
    if cmd.d_steps > 1:
        remedies.append(cmd("train.d_steps=1"))
    remedies = cmd.undo() + remedies
    return Finding(
        name="discriminator_wins",
        series=["fooled", "d_real", "d_fake"],
        severity="warning",
        steps=(int(steps[w][0]), int(steps[-1])),
        evidence={
            "fooled": fooled,
            "d_fake": d_fake,
            "d_real": d_real,
            "g_grad_norm": median(s["g_grad_norm"][w]),
        },
        summary=(
            f"D wins: over the last third of training it takes {100 * fooled:.1f} % of fakes "
            "for real; G still gets gradient but never catches up."
        ),
        remedies=remedies,
    )


def non_convergence(
    steps: np.ndarray,
    s: dict[str, np.ndarray],
    rows: list[dict[str, Any]],
    loss: Loss,
    cmd: Remedies,
) -> Finding | None:
    evidence: dict[str, float] = {}
    span: tuple[int, int] | None = None
    n = len(steps)
    if n >= 2 * MIN_WINDOW_ROWS:
        half = slice(n // 2, n)
        for k in ("d_loss", "g_loss") if loss.fixed_scale else ():
            x = s[k][half]
            sd = detrended_std(x)
            rel = sd / (abs(mean(x)) + LOSS_SCALE_FLOOR)
            if rel > OSCILLATION_REL_STD:
                evidence[f"{k}_detrended_std"] = sd
                evidence[f"{k}_relative_swing"] = rel
        if loss.separates:
            gap_sd = detrended_std(s["d_real"][half] - s["d_fake"][half])
            if gap_sd > OSCILLATION_GAP_STD:
                evidence["gap_detrended_std"] = gap_sd
        if n >= 4 * MIN_WINDOW_ROWS and np.isfinite(s["drift"]).any():
            mid, late = median(s["drift"][n // 4 : n // 2]), median(s["drift"][3 * n // 4 :])
            if late > DRIFT_HIGH and late > DRIFT_NO_TREND * mid:
                evidence.update(drift_mid=mid, drift_late=late)
        if evidence:
            dg = np.diff(s["d_real"][half] - s["d_fake"][half])
            flips = np.count_nonzero(np.sign(dg[1:]) * np.sign(dg[:-1]) < 0)
            evidence["gap_direction_changes"] = float(flips)
            span = (int(steps[n // 2]), int(steps[-1]))
    worse = ""
    e_steps, scores = eval_scalars(rows)
    if len(e_steps) >= MIN_EVAL_ROWS:
        for k, x in scores.items():
            ok = np.isfinite(x)
            if ok.sum() < MIN_EVAL_ROWS:
                continue
            xs, ss = x[ok], e_steps[ok]
            lower = lower_is_better(k)  # the registry's direction (gankit.scores)
            if lower:
                best = float(np.min(xs))
                bad = xs[-1] > EVAL_WORSE_RATIO * best and best > 0
            else:
                best = float(np.max(xs))
                bad = xs[-1] < best
            if bad:
                evidence[f"eval_{k}_best"] = best
                evidence[f"eval_{k}_last"] = float(xs[-1])
                worse = k
                first = int(ss[int(np.argmin(xs) if lower else np.argmax(xs))])
                lo, hi = span or (first, int(ss[-1]))
                span = (min(lo, first), max(hi, int(ss[-1])))
    if span is None:
        return None
    parts = []
    if any(k.endswith(("swing", "gap_detrended_std")) for k in evidence):
        parts.append("the losses swing widely without settling over the second half")
    if "drift_late" in evidence:
        parts.append(
            f"G's samples still change by {evidence['drift_late']:.2f} of the data's spread "
            f"per logged row, as much as mid-run ({evidence['drift_mid']:.2f})"
        )
    if worse:
        parts.append(f"the eval score {worse} got worse after its best")
    return Finding(
        name="non_convergence",
        series=["d_loss", "g_loss", "d_real", "d_fake"]
        + (["drift"] if "drift_late" in evidence else []),
        severity="warning",
        steps=span,
        evidence=evidence,
        summary="Training does not converge: " + " and ".join(parts) + ".",
        remedies=[
            *cmd.undo(),
            cmd.lower_lrs(),
            *([] if cmd.lr_decay != "none" else [cmd("optim.lr_decay=linear")]),
            *([] if cmd.g_ema > 0 else [cmd("model.g_ema=0.999")]),
            cmd.r1_up(),
        ],
    )
