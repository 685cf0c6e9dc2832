"""Training curves from ``RUN/metrics.jsonl``: losses, D's opinions, gradient norms.

The metrics file is written while training runs, so it may end in a half-written line, and its
lines need not all carry the same keys. Non-finite values arrive as JSON ``null`` (or as
``NaN``/``Infinity`` tokens); they become gaps in the lines, so a divergence shows as a break
rather than being quietly bridged.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gankit.errors import UserError
from gankit.run import read_jsonl
from gankit.viz.palette import Palette, run_palette

D_COLOR = "#1f77b4"
G_COLOR = "#9467bd"

# (title, y label, log scale, [(key, legend label, colour)]); the colours "real" and "fooled"
# are the run's viz.palette, as in the frames
PANELS: list[tuple[str, str, bool, list[tuple[str, str, str]]]] = [
    (
        "losses",
        "loss",
        False,
        [("d_loss", "D loss", D_COLOR), ("g_loss", "G loss", G_COLOR)],
    ),
    (
        "what D thinks",
        "realness / share",
        False,
        [
            ("d_real", "mean D(real)", "real"),
            ("d_fake", "mean D(fake)", "#8c564b"),
            ("fooled", "share fooled D", "fooled"),
        ],
    ),
    (
        "gradient norms",
        "norm (log)",
        True,
        [("d_grad_norm", "D grad norm", D_COLOR), ("g_grad_norm", "G grad norm", G_COLOR)],
    ),
]
_SMOOTH_ABOVE = 200  # points; beyond this a raw line is noise, so add a moving average


def _number(value: object) -> float | None:
    """A float for numbers, NaN for null, None for anything else (strings, dicts, bools)."""
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else math.nan


def read_metrics(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per key, (steps, values) over the lines where the key holds a number or null."""
    series: dict[str, tuple[list[float], list[float]]] = {}
    for row in read_jsonl(Path(path)):  # skips blank and half-written lines
        if not isinstance(row, dict):
            continue
        step = _number(row.get("step", "missing"))
        if step is None or math.isnan(step):
            continue
        for key, raw in row.items():
            if key == "step":
                continue
            value = _number(raw)
            if value is not None:
                xs, ys = series.setdefault(key, ([], []))
                xs.append(step)
                ys.append(value)
    out = {}
    for key, (xs, ys) in series.items():
        order = np.argsort(np.asarray(xs), kind="stable")
        out[key] = (np.asarray(xs)[order], np.asarray(ys)[order])
    return out


def _moving_average(y: np.ndarray, window: int) -> np.ndarray:
    """Centred mean ignoring NaNs; NaN where the window held no numbers."""
    ok = np.isfinite(y)
    kernel = np.ones(window)
    total = np.convolve(np.where(ok, y, 0.0), kernel, mode="same")
    count = np.convolve(ok.astype(float), kernel, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def plot_series(ax: Axes, x: np.ndarray, y: np.ndarray, label: str, color: str) -> None:
    """One series; long ones drawn faint with a moving average on top, so trends show."""
    if x.size > _SMOOTH_ABOVE:
        ax.plot(x, y, color=color, lw=0.8, alpha=0.25)
        ax.plot(x, _moving_average(y, max(x.size // 50, 3)), color=color, lw=1.8, label=label)
    else:
        marker = "o" if x.size < 30 else None
        ax.plot(x, y, color=color, lw=1.6, marker=marker, ms=3, label=label)


def _is_share_panel(lines: list[tuple[str, str, str]]) -> bool:
    """True for the panel of values in [0, 1], which gets the dashed 0.5 reference line."""
    return any(key in ("d_real", "d_fake", "fooled") for key, _, _ in lines)


def plot_curves(run_dir: str | Path, palette: Palette | None = None) -> Path:
    """Write ``RUN/curves.png``: up to three stacked panels sharing the step axis.

    Panels and lines whose keys never appear are left out; long series get a light raw line
    under a moving average so trends stay readable. D(real) and the share fooled take
    ``palette``'s colours, by default those of the run's ``viz.palette``.
    """
    run_dir = Path(run_dir)
    colours = palette or run_palette(run_dir)
    metrics_path = run_dir / "metrics.jsonl"
    if not metrics_path.is_file():
        raise UserError(f"The run {run_dir} has no metrics.jsonl to plot.")
    series = read_metrics(metrics_path)

    panels = []
    for title, ylabel, log, lines in PANELS:
        present = [(k, lab, c) for k, lab, c in lines if k in series]
        if log:  # a log axis cannot show zero or negative norms
            for key, _, _ in present:
                x, y = series[key]
                series[key] = (x, np.where(y > 0, y, np.nan))
        if any(np.isfinite(series[k][1]).any() for k, _, _ in present):
            panels.append((title, ylabel, log, present))
    if not panels:
        raise UserError(f"The file {metrics_path} holds no loss, D or gradient-norm values.")

    fig = Figure(figsize=(8.0, 2.4 * len(panels) + 0.8), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (title, ylabel, log, present) in zip(axes, panels, strict=True):
        for key, label, color in present:
            plot_series(ax, *series[key], label, colours.resolve(color))
        if _is_share_panel(present):
            ax.axhline(0.5, color="#555555", lw=0.9, ls="--", label="0.5")
            ax.set_ylim(-0.03, 1.03)
        if log:
            ax.set_yscale("log")
        ax.set_title(title, loc="left", fontsize=11)
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", color="#dddddd", lw=0.7)
        ax.set_axisbelow(True)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    axes[-1].set_xlabel("step")
    fig.suptitle(f"training curves · {run_dir.name}", fontsize=12)

    from gankit.run import replacing

    out = run_dir / "curves.png"
    with replacing(out) as tmp:  # whole or not at all
        fig.savefig(tmp, format="png")
    return out
