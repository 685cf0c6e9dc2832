"""Findings from a run's metric stream: what went wrong, the numbers that show it, and the
exact commands that would likely fix it.

The doctor reads only what the run directory holds (config.json, metrics.jsonl, eval.json),
so it works for any engine and for runs trained elsewhere. Each rule is a few vectorised
NumPy operations over the logged series: diagnose() takes about 0.3 s on 100,000 logged rows
(most of it turning the rows into arrays), diagnose_run about 1 s with reading the file.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gankit.config import IMAGE_DATA
from gankit.run import RunDir

# The training statistics each logged row carries (see gankit.engines.base.STAT_KEYS).
SERIES = ("d_loss", "g_loss", "d_real", "d_fake", "fooled", "d_grad_norm", "g_grad_norm")

# Losses whose d_real/d_fake are D's probability-like "realness" with a fixed scale, so
# "D separates perfectly" has a meaning; for wgan/wgan-gp they are relative to the critic's
# own gap and sit near 0.88/0.12 however well the critic separates.
SEPARATING_LOSSES = ("bce", "minimax", "hinge", "lsgan")
# Losses whose value has a fixed scale (cross-entropies near log 2 to log 4 at balance, lsgan
# near 0.25 to 0.5), so a swing can be measured against the loss's level; a critic's loss
# (wgan, wgan-gp) and hinge's G loss (minus the critic's mean) drift and swing freely in
# healthy runs, so for those the doctor judges oscillation by D's verdict gap instead.
FIXED_SCALE_LOSSES = ("bce", "minimax", "lsgan")

# The share of the first logged rows whose median is a norm's reference scale: G's and D's
# gradients are largest and least settled at the start, so "collapsed" and "exploded" are
# measured against this early level, not against a later one that may itself be broken.
EARLY_FRACTION = 0.1
# D separates perfectly when its mean realness is above this on real batches ...
SEPARATED_REAL = 0.95
# ... and below this on fake ones: sigmoid(+-3), D is sure of nearly every sample.
SEPARATED_FAKE = 0.05
# G's gradient has vanished when its norm is below this multiple of its early median: a
# hundredfold drop leaves Adam's normalised steps driven by noise, not by D's signal.
VANISHED_RATIO = 1e-2
# A rule on a window needs at least this many consecutive logged rows ...
MIN_WINDOW_ROWS = 3
# ... and at least this share of all rows, so a single bad interval is not a finding.
MIN_WINDOW_FRACTION = 0.05
# D wins when at most this share of fakes fools it, on average over the last third: a
# healthy run keeps fooling D a fair share of the time (0.2 to 0.5).
FOOLED_NEAR_ZERO = 0.01
# A gradient norm this many times its early median has exploded: well past the growth a
# sharpening D gives (10x to 100x) and on its way to inf.
EXPLODED_RATIO = 1e3
# Non-convergence: the detrended standard deviation of a loss over the second half, divided
# by (|its mean| + LOSS_SCALE_FLOOR), above which the swings are as large as the loss itself;
# logged values are means over log_every steps, so a converging run's noise is far smaller.
OSCILLATION_REL_STD = 0.5
# Keeps the relative swing finite for a loss whose mean is near 0 (lsgan's G at balance).
LOSS_SCALE_FLOOR = 0.1
# ... or the detrended standard deviation of d_real - d_fake (in [-1, 1]) above this: D's
# verdict swinging between "sure" and "fooled" instead of settling near a small gap.
OSCILLATION_GAP_STD = 0.2
# An eval distance (w1, fd) this many times its best value at the last evaluation: the run
# got clearly worse, beyond the sampling noise of the scores.
EVAL_WORSE_RATIO = 1.5
# At least this many eval rows before a trend of the scores is judged.
MIN_EVAL_ROWS = 3
# Stacked digits: fewer than this many of the 1,000 modes is a partial collapse (a good GAN
# reaches 990 or more, e.g. PacGAN's protocol).
STACKED_MODES_MIN = 990
# Reverse KL (generated mode shares vs uniform) above this: the modes are badly uneven.
REVERSE_KL_MAX = 0.1
# Digit classes: a class share above this multiple of the uniform 1/10 is over-produced.
CLASS_SHARE_RATIO = 2.0


@dataclass
class Finding:
    """One problem of a run, with the numbers that show it and commands that may fix it."""

    # vanishing_gradients | mode_collapse | non_convergence | discriminator_wins | divergence
    name: str
    severity: str  # "warning" | "error"
    steps: tuple[int, int]  # first and last step where it shows
    evidence: dict[str, float] = field(default_factory=dict)
    summary: str = ""
    remedies: list[str] = field(default_factory=list)
    # the metrics.jsonl keys whose curves show it (what a report plots beside the finding)
    series: list[str] = field(default_factory=list)


# --- parsing -------------------------------------------------------------------------------


def _series(rows: list[dict[str, Any]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The training rows as arrays: steps, and each statistic (None, a NaN written as JSON
    null, and missing keys become NaN)."""
    train = [r for r in rows if "d_loss" in r or "g_loss" in r]
    steps = np.array([r.get("step", 0) for r in train], dtype=np.int64)
    table = np.array([[r.get(k) for k in SERIES] for r in train], dtype=np.float64)
    table = table.reshape(len(train), len(SERIES))
    return steps, {k: table[:, i] for i, k in enumerate(SERIES)}


def _early_median(x: np.ndarray) -> float:
    """The median of the finite values among the first EARLY_FRACTION of rows (at least 1)."""
    n = max(1, int(len(x) * EARLY_FRACTION))
    early = x[:n][np.isfinite(x[:n])]
    return float(np.median(early)) if len(early) else float("nan")


def _longest_run(mask: np.ndarray) -> tuple[int, int]:
    """(start, end) indices, end exclusive, of the longest run of True; (0, 0) when none."""
    if not mask.any():
        return 0, 0
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    i = int(np.argmax(ends - starts))
    return int(starts[i]), int(ends[i])


def _mean(x: np.ndarray) -> float:
    """Mean of the finite values; NaN (without NumPy's warning) when there are none, as for a
    statistic an older run did not log."""
    x = x[np.isfinite(x)]
    return float(np.mean(x)) if len(x) else float("nan")


def _median(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if len(x) else float("nan")


def _min_window(n: int) -> int:
    return max(MIN_WINDOW_ROWS, math.ceil(n * MIN_WINDOW_FRACTION))


def _detrended_std(x: np.ndarray) -> float:
    """Standard deviation around the least-squares line: the swing, not the drift."""
    x = x[np.isfinite(x)]
    if len(x) < 3:
        return 0.0
    t = np.arange(len(x), dtype=np.float64)
    t -= t.mean()
    slope = float(np.dot(t, x - x.mean()) / np.dot(t, t))
    return float(np.std(x - x.mean() - slope * t))


# --- remedies ------------------------------------------------------------------------------


class _Cmd:
    """Builds `gankit train PRESET --set ...` commands with the run's own values."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.preset = str(config.get("preset", "PRESET"))
        optim, loss = config.get("optim", {}), config.get("loss", {})
        self.d_lr = float(optim.get("d_lr", 2e-3))
        self.g_lr = float(optim.get("g_lr", 2e-3))
        self.r1 = float(loss.get("r1", 0.0) or 0.0)
        self.d_steps = int(config.get("train", {}).get("d_steps", 1))
        self.batch = int(config.get("train", {}).get("batch_size", 256))
        # defaults as in config.py; a remedy the run already uses is not suggested
        self.lr_decay = str(optim.get("lr_decay", "linear"))
        self.g_ema = float(config.get("model", {}).get("g_ema", 0.999))

    def __call__(self, *sets: str) -> str:
        return " ".join([f"gankit train {self.preset}"] + [f"--set {s}" for s in sets])

    def r1_up(self) -> str:
        """Ten times the run's R1 weight (0.01 when it had none): enough to change D."""
        return self(f"loss.r1={max(10 * self.r1, 0.01):g}")

    def lower_d_lr(self) -> str:
        return self(f"optim.d_lr={self.d_lr / 4:g}")

    def lower_lrs(self) -> str:
        return self(f"optim.d_lr={self.d_lr / 4:g}", f"optim.g_lr={self.g_lr / 4:g}")


# --- the rules -----------------------------------------------------------------------------


def _divergence(steps: np.ndarray, s: dict[str, np.ndarray], cmd: _Cmd) -> Finding | None:
    keys = ("d_loss", "g_loss", "d_grad_norm", "g_grad_norm")
    bad = np.zeros(len(steps), dtype=bool)
    evidence: dict[str, float] = {}
    for k in ("d_loss", "g_loss"):
        nonfinite = ~np.isfinite(s[k])
        if nonfinite.any():
            evidence[f"{k}_non_finite_rows"] = float(nonfinite.sum())
        bad |= nonfinite
    for k in keys[2:]:
        x = s[k]
        early = _early_median(x)
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
    if not bad.any():
        return None
    idx = np.flatnonzero(bad)
    first, last = int(steps[idx[0]]), int(steps[idx[-1]])
    nonfinite = any(k.endswith("non_finite_rows") for k in evidence)
    what = "became NaN/inf" if nonfinite else f"grew over {EXPLODED_RATIO:g}x their early level"
    return Finding(
        name="divergence",
        series=["d_loss", "g_loss", "d_grad_norm", "g_grad_norm"],
        severity="error",
        steps=(first, last),
        evidence=evidence,
        summary=f"Training diverged: losses or gradient norms {what} from step {first}.",
        remedies=[
            cmd.lower_lrs(),
            cmd("loss.name=wgan-gp"),
            cmd("train.dtype=float64"),
        ],
    )


def _separated(s: dict[str, np.ndarray]) -> np.ndarray:
    return (s["d_real"] > SEPARATED_REAL) & (s["d_fake"] < SEPARATED_FAKE)


def _vanishing(steps: np.ndarray, s: dict[str, np.ndarray], loss: str, cmd: _Cmd) -> Finding | None:
    g = s["g_grad_norm"]
    early = _early_median(g)
    if loss not in SEPARATING_LOSSES or not early > 0:
        return None
    mask = _separated(s) & (g < VANISHED_RATIO * early)
    a, b = _longest_run(mask)
    if b - a < _min_window(len(steps)):
        return None
    w = slice(a, b)
    return Finding(
        name="vanishing_gradients",
        series=["g_grad_norm", "d_real", "d_fake"],
        severity="error",
        steps=(int(steps[a]), int(steps[b - 1])),
        evidence={
            "g_grad_norm_start": early,
            "g_grad_norm_end": float(np.median(g[w])),
            "d_real": float(np.mean(s["d_real"][w])),
            "d_fake": float(np.mean(s["d_fake"][w])),
            "rows": float(b - a),
        },
        summary=(
            f"D separates real from fake perfectly from step {int(steps[a])} and G's gradient "
            f"has vanished (norm {float(np.median(g[w])):.2g}, from {early:.2g}): G has stopped "
            "learning" + (" (the saturating minimax loss does this)." if loss == "minimax" else ".")
        ),
        remedies=[
            cmd("loss.name=bce"),
            cmd("loss.name=wgan-gp"),
            cmd.r1_up(),
            cmd.lower_d_lr(),
        ],
    )


def _discriminator_wins(
    steps: np.ndarray, s: dict[str, np.ndarray], loss: str, cmd: _Cmd
) -> Finding | None:
    n = len(steps)
    if loss not in SEPARATING_LOSSES or n < MIN_WINDOW_ROWS:
        return None
    w = slice(n - max(MIN_WINDOW_ROWS, n // 3), n)
    fooled, d_fake = _mean(s["fooled"][w]), _mean(s["d_fake"][w])
    if not (fooled <= FOOLED_NEAR_ZERO and d_fake < SEPARATED_FAKE):
        return None
    remedies = [cmd.lower_d_lr(), cmd.r1_up()]
    if cmd.d_steps > 1:
        remedies.append(cmd("train.d_steps=1"))
    return Finding(
        name="discriminator_wins",
        series=["fooled", "d_real", "d_fake"],
        severity="warning",
        steps=(int(steps[w][0]), int(steps[-1])),
        evidence={
            "fooled": fooled,
            "d_fake": d_fake,
            "d_real": _mean(s["d_real"][w]),
            "g_grad_norm": _median(s["g_grad_norm"][w]),
        },
        summary=(
            f"D wins: over the last third of training it takes {100 * fooled:.1f} % of fakes "
            "for real; G still gets gradient but never catches up."
        ),
        remedies=remedies,
    )


def _eval_scalars(rows: list[dict[str, Any]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per eval row: w1 / fd (lower is better) and mode counts (higher is better)."""
    evals = [r for r in rows if isinstance(r.get("eval"), dict)]
    steps = np.array([r.get("step", 0) for r in evals], dtype=np.int64)

    def pick(path: tuple[str, str]) -> np.ndarray:
        out = []
        for r in evals:
            v = r["eval"].get(path[0])
            v = v.get(path[1]) if isinstance(v, dict) else None
            out.append(v if isinstance(v, int | float) else None)
        return np.array(out, dtype=np.float64)

    paths = {
        "w1": ("w1", "value"),
        "fd": ("fd", "value"),
        "modes": ("modes", "modes"),
        "stacked_modes": ("stacked_modes", "modes"),
    }
    return steps, {k: pick(p) for k, p in paths.items()}


def _non_convergence(
    steps: np.ndarray, s: dict[str, np.ndarray], rows: list[dict[str, Any]], loss: str, cmd: _Cmd
) -> Finding | None:
    evidence: dict[str, float] = {}
    span: tuple[int, int] | None = None
    n = len(steps)
    if n >= 2 * MIN_WINDOW_ROWS:
        half = slice(n // 2, n)
        for k in ("d_loss", "g_loss") if loss in FIXED_SCALE_LOSSES else ():
            x = s[k][half]
            sd = _detrended_std(x)
            rel = sd / (abs(_mean(x)) + LOSS_SCALE_FLOOR)
            if rel > OSCILLATION_REL_STD:
                evidence[f"{k}_detrended_std"] = sd
                evidence[f"{k}_relative_swing"] = rel
        if loss in SEPARATING_LOSSES:
            gap_sd = _detrended_std(s["d_real"][half] - s["d_fake"][half])
            if gap_sd > OSCILLATION_GAP_STD:
                evidence["gap_detrended_std"] = gap_sd
        if evidence:
            dg = np.diff(s["d_real"][half] - s["d_fake"][half])
            flips = np.count_nonzero(np.sign(dg[1:]) * np.sign(dg[:-1]) < 0)
            evidence["gap_direction_changes"] = float(flips)
            span = (int(steps[n // 2]), int(steps[-1]))
    worse = ""
    e_steps, scores = _eval_scalars(rows)
    if len(e_steps) >= MIN_EVAL_ROWS:
        for k, x in scores.items():
            ok = np.isfinite(x)
            if ok.sum() < MIN_EVAL_ROWS:
                continue
            xs, ss = x[ok], e_steps[ok]
            if k in ("w1", "fd"):
                best = float(np.min(xs))
                bad = xs[-1] > EVAL_WORSE_RATIO * best and best > 0
            else:
                best = float(np.max(xs))
                bad = xs[-1] < best
            if bad:
                evidence[f"eval_{k}_best"] = best
                evidence[f"eval_{k}_last"] = float(xs[-1])
                worse = k
                first = int(ss[int(np.argmin(xs) if k in ("w1", "fd") else np.argmax(xs))])
                lo, hi = span or (first, int(ss[-1]))
                span = (min(lo, first), max(hi, int(ss[-1])))
    if span is None:
        return None
    parts = []
    if any(k.endswith(("swing", "gap_detrended_std")) for k in evidence):
        parts.append("the losses swing widely without settling over the second half")
    if worse:
        parts.append(f"the eval score {worse} got worse after its best")
    return Finding(
        name="non_convergence",
        series=["d_loss", "g_loss", "d_real", "d_fake"],
        severity="warning",
        steps=span,
        evidence=evidence,
        summary="Training does not converge: " + " and ".join(parts) + ".",
        remedies=[
            cmd.lower_lrs(),
            *([] if cmd.lr_decay != "none" else [cmd("optim.lr_decay=linear")]),
            *([] if cmd.g_ema > 0 else [cmd("model.g_ema=0.999")]),
            cmd.r1_up(),
        ],
    )


def _latest_scores(
    rows: list[dict[str, Any]], eval_result: dict[str, Any] | None
) -> tuple[int, dict[str, Any]] | None:
    if eval_result and isinstance(eval_result.get("scores"), dict) and eval_result["scores"]:
        return int(eval_result.get("step", 0)), eval_result["scores"]
    for r in reversed(rows):
        if isinstance(r.get("eval"), dict) and r["eval"]:
            return int(r.get("step", 0)), r["eval"]
    return None


def _mode_collapse(
    rows: list[dict[str, Any]], eval_result: dict[str, Any] | None, cmd: _Cmd, images: bool
) -> Finding | None:
    latest = _latest_scores(rows, eval_result)
    if latest is None:
        return None
    step, sc = latest
    evidence: dict[str, float] = {}
    said: list[str] = []
    m = sc.get("modes")
    if isinstance(m, dict) and "modes" in m and "n_modes" in m:
        if m["modes"] < m["n_modes"]:
            said.append(f"captured {m['modes']} of {m['n_modes']} modes")
            evidence.update(modes=float(m["modes"]), n_modes=float(m["n_modes"]))
        if float(m.get("reverse_kl", 0.0) or 0.0) > REVERSE_KL_MAX:
            said.append(f"mode shares uneven (reverse KL {m['reverse_kl']:.3f})")
            evidence["reverse_kl"] = float(m["reverse_kl"])
    c = sc.get("classes")
    if isinstance(c, dict) and "coverage" in c:
        shares = [float(v) for v in c.get("shares", [])]
        top = max(shares, default=0.0)
        if c["coverage"] < 10:
            said.append(f"generated {c['coverage']} of 10 digit classes")
            evidence["class_coverage"] = float(c["coverage"])
        if top > CLASS_SHARE_RATIO / 10:
            said.append(f"one class makes {100 * top:.0f} % of samples")
            evidence["max_class_share"] = top
    st = sc.get("stacked_modes")
    if isinstance(st, dict) and "modes" in st:
        if st["modes"] < STACKED_MODES_MIN:
            said.append(f"captured {st['modes']} of {st.get('n_modes', 1000)} stacked modes")
            evidence["stacked_modes"] = float(st["modes"])
        if float(st.get("reverse_kl", 0.0) or 0.0) > REVERSE_KL_MAX:
            said.append(f"stacked mode shares uneven (reverse KL {st['reverse_kl']:.3f})")
            evidence["stacked_reverse_kl"] = float(st["reverse_kl"])
    if not said:
        return None
    remedies = [cmd.r1_up(), cmd("model.pack=2")]
    if images:
        remedies.append(cmd("model.d_mbstd=true"))
    remedies.append(cmd(f"train.batch_size={2 * cmd.batch}"))
    return Finding(
        name="mode_collapse",
        series=["diversity"],
        severity="warning",
        steps=(step, step),
        evidence=evidence,
        summary="Mode collapse at step " + f"{step}: " + "; ".join(said) + ".",
        remedies=remedies,
    )


# --- the API -------------------------------------------------------------------------------


def diagnose(
    rows: list[dict[str, Any]], config: dict[str, Any], eval_result: dict[str, Any] | None = None
) -> list[Finding]:
    """The findings of a run: ``rows`` of metrics.jsonl, ``config`` as in config.json and
    optionally eval.json. A healthy run gives an empty list. Divergence comes first, since it
    explains the rest; vanishing gradients and "D wins" exclude each other (both have D
    winning; the first also has G's gradient gone, which changes the remedy)."""
    loss = str(config.get("loss", {}).get("name", "bce"))
    images = str(config.get("data", {}).get("name", "")) in IMAGE_DATA
    cmd = _Cmd(config)
    steps, s = _series(rows)
    out: list[Finding | None] = []
    if len(steps):
        out.append(_divergence(steps, s, cmd))
        # the rules below judge a run by its finite rows; a NaN stop is divergence's
        ok = np.isfinite(s["d_loss"]) & np.isfinite(s["g_loss"])
        if not ok.all():
            steps, s = steps[ok], {k: v[ok] for k, v in s.items()}
    if len(steps):
        vanishing = _vanishing(steps, s, loss, cmd)
        out.append(vanishing)
        if vanishing is None:
            out.append(_discriminator_wins(steps, s, loss, cmd))
    out.append(_non_convergence(steps, s, rows, loss, cmd))
    out.append(_mode_collapse(rows, eval_result, cmd, images))
    return [f for f in out if f is not None]


def diagnose_run(run_dir: str | Path) -> list[Finding]:
    """Diagnose a run directory from its config.json, metrics.jsonl and eval.json."""
    run = RunDir.open(run_dir)
    eval_path = run.path / "eval.json"
    eval_result = None
    if eval_path.is_file():
        try:
            eval_result = json.loads(eval_path.read_text())
        except json.JSONDecodeError:
            eval_result = None  # a torn eval.json: judge the run by its metrics alone
    return diagnose(run.metrics(), run.raw_config(), eval_result)


def _finite(v: Any) -> Any:
    """Strict JSON has no NaN/inf: write them as null, as the run directory does."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_finite(x) for x in v]
    return v


def to_json(findings: list[Finding]) -> list[dict[str, Any]]:
    """Plain JSON-ready dicts (steps as a list, non-finite numbers as null)."""
    return [_finite(asdict(f)) for f in findings]
