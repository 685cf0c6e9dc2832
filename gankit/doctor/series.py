"""The logged series as arrays, and the few statistics the rules share."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gankit.scores import Score, registry

# The training statistics each logged row carries (see gankit.engines.base.STAT_KEYS).
SERIES = ("d_loss", "g_loss", "d_real", "d_fake", "fooled", "d_grad_norm", "g_grad_norm")

# The signals measured on fixed batches (gankit.signals), where the run logged them.
SIGNALS = ("diversity", "drift", "modes", "mode_kl", "high_quality", "classes", "class_kl")

# The share of the first logged rows whose median is a norm's reference scale: G's and D's
# gradients are largest and least settled at the start, so "collapsed" and "exploded" are
# measured against this early level, not against a later one that may itself be broken.
EARLY_FRACTION = 0.1
# A rule on a window needs at least this many consecutive logged rows ...
MIN_WINDOW_ROWS = 3
# ... and at least this share of all rows, so a single bad interval is not a finding.
MIN_WINDOW_FRACTION = 0.05


def series(rows: list[dict[str, Any]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The training rows as arrays: steps, and each statistic and signal (None, a NaN
    written as JSON null, and missing keys become NaN)."""
    train = [r for r in rows if "d_loss" in r or "g_loss" in r]
    steps = np.array([r.get("step", 0) for r in train], dtype=np.int64)
    keys = SERIES + SIGNALS
    table = np.array([[r.get(k) for k in keys] for r in train], dtype=np.float64)
    table = table.reshape(len(train), len(keys))
    return steps, {k: table[:, i] for i, k in enumerate(keys)}


def early_median(x: np.ndarray) -> float:
    """The median of the finite values among the first EARLY_FRACTION of rows (at least 1)."""
    n = max(1, int(len(x) * EARLY_FRACTION))
    early = x[:n][np.isfinite(x[:n])]
    return float(np.median(early)) if len(early) else float("nan")


def longest_run(mask: np.ndarray) -> tuple[int, int]:
    """(start, end) indices, end exclusive, of the longest run of True; (0, 0) when none."""
    if not mask.any():
        return 0, 0
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    i = int(np.argmax(ends - starts))
    return int(starts[i]), int(ends[i])


def mean(x: np.ndarray) -> float:
    """Mean of the finite values; NaN (without NumPy's warning) when there are none, as for a
    statistic an older run did not log."""
    x = x[np.isfinite(x)]
    return float(np.mean(x)) if len(x) else float("nan")


def median(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if len(x) else float("nan")


def min_window(n: int) -> int:
    return max(MIN_WINDOW_ROWS, math.ceil(n * MIN_WINDOW_FRACTION))


def detrended_std(x: np.ndarray) -> float:
    """Standard deviation around the least-squares line: the swing, not the drift."""
    x = x[np.isfinite(x)]
    if len(x) < 3:
        return 0.0
    t = np.arange(len(x), dtype=np.float64)
    t -= t.mean()
    slope = float(np.dot(t, x - x.mean()) / np.dot(t, t))
    return float(np.std(x - x.mean() - slope * t))


def eval_scalars(rows: list[dict[str, Any]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per eval row, the headline number of each score the doctor follows (the registry's,
    gankit.scores: w1 and fd, lower is better; mode counts, higher is better), by score key."""
    evals = [r for r in rows if isinstance(r.get("eval"), dict)]
    steps = np.array([r.get("step", 0) for r in evals], dtype=np.int64)

    def pick(score: Score) -> np.ndarray:
        out = [score.main_value(r["eval"].get(score.key)) for r in evals]
        return np.array(out, dtype=np.float64)

    return steps, {score.key: pick(score) for score in registry.followed()}
