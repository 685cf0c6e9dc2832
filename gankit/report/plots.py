"""The report's plots, drawn with matplotlib's Agg canvas (no pyplot, no global state).

Each curve panel is its own small picture so the page can lay them out two to a row and
give each an HTML caption; titles are in the page, not in the pictures, so they stay sharp
and searchable. Colours follow curves.png and the 2-D frames: D blue, G purple, and real,
fooled-D and caught in the run's viz.palette (orange, green, red by default).
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from gankit.report.encode import figure_png
from gankit.report.runinfo import Series
from gankit.viz.curves import D_COLOR, G_COLOR, plot_series
from gankit.viz.palette import SEED, Palette
from gankit.viz.points import fooled_mask

SEVERITY_COLORS = {"error": "#c62828", "warning": "#e08a00", "info": "#1565c0"}
WIDTH = 5.6  # inches at 100 dpi: half of the page's 1,120 pixel column
PANEL_HEIGHT = 2.6

# (id, caption, y label, log axis, 0..1 axis, [(key, legend label, colour)]); the colours
# "real" and "fooled" are the run's viz.palette
Panel = tuple[str, str, str, bool, bool, list[tuple[str, str, str]]]
PANELS: list[Panel] = [
    ("losses", "Losses", "loss", False, False,
     [("d_loss", "D loss", D_COLOR), ("g_loss", "G loss", G_COLOR)]),
    ("verdicts", "What D thinks: mean realness of real and generated batches", "realness",
     False, True, [("d_real", "D(real)", "real"), ("d_fake", "D(fake)", "#8c564b")]),
    ("fooled", "Share of generated samples that fool D", "share", False, True,
     [("fooled", "fooled D", "fooled")]),
    ("grads", "Gradient norms (log scale)", "norm", True, False,
     [("d_grad_norm", "D", D_COLOR), ("g_grad_norm", "G", G_COLOR)]),
    ("diversity", "Diversity of G's samples (1: as varied as the data) and their drift "
     "since the last logged row", "share of data spread", False, False,
     [("diversity", "diversity", "#17becf"), ("drift", "drift", "#bcbd22")]),
    ("modes", "Modes or digit classes G's samples reach", "count", False, False,
     [("modes", "modes", "#e377c2"), ("classes", "classes", "#e377c2")]),
    ("evenness", "How unevenly G spreads over them (reverse KL, 0: evenly)", "reverse KL",
     False, False, [("mode_kl", "modes", "#7f7f7f"), ("class_kl", "classes", "#7f7f7f")]),
    ("quality", "Share of high-quality samples (close to a mode)", "share", False, True,
     [("high_quality", "high quality", "#2ca02c")]),
]  # fmt: skip
# keys whose values are positive scales best seen on a log axis
LOG_KEYS = ("d_grad_norm", "g_grad_norm")


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _style(ax: Axes, ylabel: str = "", xlabel: str = "step") -> None:
    ax.grid(True, which="major", color="#e3e3e3", lw=0.7)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=9)
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=9)
    if xlabel or ylabel:  # steps are whole numbers: no "12.5" ticks on short runs
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))


def _positive(y: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(y > 0, y, np.nan)


def _has_values(series: Series, key: str, log: bool = False) -> bool:
    if key not in series:
        return False
    y = series[key][1]
    return bool(np.isfinite(_positive(y) if log else y).any())


def curve_panels(series: Series, palette: Palette = SEED) -> list[tuple[str, str, bytes]]:
    """(id, caption, PNG) for each panel of PANELS with at least one logged value."""
    out = []
    for pid, caption, ylabel, log, unit, lines in PANELS:
        present = [line for line in lines if _has_values(series, line[0], log)]
        if not present:
            continue
        fig = _figure(WIDTH, PANEL_HEIGHT)
        ax = fig.add_subplot()
        for key, label, color in present:
            x, y = series[key]
            plot_series(ax, x, _positive(y) if log else y, label, palette.resolve(color))
        if unit:
            ax.set_ylim(-0.03, 1.03)
        if pid in ("verdicts", "fooled"):  # 0.5: D cannot tell real from generated
            ax.axhline(0.5, color="#777777", lw=0.8, ls="--")
        if log:
            ax.set_yscale("log")
        _style(ax, ylabel)
        ax.legend(fontsize=8, frameon=False, loc="best")
        out.append((pid, caption, figure_png(fig)))
    return out


def layer_grads_plot(layer_grads: Series) -> bytes | None:
    """One line per layer on a log axis: where in G or D the gradient vanishes or explodes.
    G's layers are drawn solid and D's dashed, in colours spread over the layers."""
    names = [k for k in layer_grads if _has_values(layer_grads, k, log=True)]
    if not names:
        return None
    fig = _figure(2 * WIDTH, 3.2)
    ax = fig.add_subplot()
    colors = colormaps["tab20"] if len(names) > 10 else colormaps["tab10"]
    for i, name in enumerate(names):
        x, y = layer_grads[name]
        style = "--" if name.startswith("D") else "-"
        marker = "o" if x.size < 30 else None
        ax.plot(x, _positive(y), style, color=colors(i % colors.N), lw=1.3, marker=marker,
                ms=3, label=name)  # fmt: skip
    ax.set_yscale("log")
    _style(ax, "gradient norm")
    ax.legend(fontsize=7.5, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              ncol=1 if len(names) <= 14 else 2)  # fmt: skip
    return figure_png(fig)


def eval_plot(eval_series: Series) -> bytes | None:
    """Scores over training, one small axes per score, when the run was evaluated at two or
    more steps (one evaluation is a table row, not a curve)."""
    keys = [k for k, (x, y) in eval_series.items() if x.size >= 2 and np.isfinite(y).any()]
    if not keys:
        return None
    cols = min(3, len(keys))
    rows = math.ceil(len(keys) / cols)
    fig = _figure(2 * WIDTH, 2.1 * rows + 0.2)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, key in zip(axes.flat, keys, strict=False):
        x, y = eval_series[key]
        ax.plot(x, y, "o-", color="#3b5b92", lw=1.4, ms=3.5)
        ax.set_title(key, fontsize=9, loc="left")
        _style(ax, xlabel="step")
    for ax in axes.flat[len(keys) :]:
        ax.set_visible(False)
    return figure_png(fig)


def finding_plot(series: Series, keys: list[str], steps: tuple[int, int], severity: str) -> bytes:
    """The finding's series, one small axes each, with the steps where it shows shaded in
    the severity's colour; a finding at a single step gets a line and a narrow band."""
    cols = 1 if len(keys) == 1 else 2
    rows = math.ceil(len(keys) / cols)
    fig = _figure(WIDTH, 1.7 * rows + 0.35)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True)
    color = SEVERITY_COLORS.get(severity, "#666666")
    first, last = float(steps[0]), float(steps[-1])
    for ax, key in zip(axes.flat, keys, strict=False):
        x, y = series[key]
        log = key in LOG_KEYS
        plot_series(ax, x, _positive(y) if log else y, key, "#333333")
        if log:
            ax.set_yscale("log")
        gaps = np.diff(x)
        pad = 0.5 * float(np.median(gaps)) if gaps.size else 0.5
        if first == last:
            ax.axvline(first, color=color, lw=1.2)
        ax.axvspan(first - (pad if first == last else 0), last + (pad if first == last else 0),
                   color=color, alpha=0.16, lw=0)  # fmt: skip
        ax.set_title(key, fontsize=9, loc="left")
        _style(ax, xlabel="step" if ax in axes[-1] else "")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    for ax in axes.flat[len(keys) :]:
        ax.set_visible(False)
    return figure_png(fig)


def points_side_by_side(
    real: np.ndarray,
    extent: np.ndarray,
    fake: np.ndarray,
    scores: np.ndarray,
    step: int,
    palette: Palette = SEED,
) -> tuple[bytes, bytes]:
    """Real points, and beside them generated ones on the same axes range (first two
    coordinates; a histogram each for 1-D data), generated points in the palette's fooled
    colour where they fool D and its caught colour where not. Two pictures, so that a
    narrow page can put one under the other."""
    real = np.asarray(real, dtype=np.float64).reshape(len(real), -1)
    fake = np.asarray(fake, dtype=np.float64).reshape(len(fake), -1)
    extent = np.asarray(extent, dtype=np.float64).reshape(-1)
    mask = fooled_mask(scores) if len(scores) == len(fake) else np.zeros(len(fake), bool)
    pictures = []
    for which in ("real", "generated"):
        fig = _figure(4.8, 4.4)
        ax = fig.add_subplot()
        if real.shape[1] == 1:
            edges = np.linspace(extent[0], extent[1], 49)
            if which == "real":
                ax.hist(real[:, 0], bins=edges, color=palette.real, alpha=0.7, density=True)
            else:
                f = fake[:, 0]
                ok = np.isfinite(f)
                ax.hist([f[ok & mask], f[ok & ~mask]], bins=edges, stacked=True, density=True,
                        color=[palette.fooled, palette.caught],
                        label=["fooled D", "caught by D"])  # fmt: skip
            ax.set_xlim(extent[0], extent[1])
        else:
            if which == "real":
                ax.scatter(real[:, 0], real[:, 1], s=6, c=palette.real, alpha=0.45, linewidths=0)
            else:
                for sel, color, label in (
                    (~mask, palette.caught, "caught by D"),
                    (mask, palette.fooled, "fooled D"),
                ):
                    ax.scatter(fake[sel, 0], fake[sel, 1], s=9, c=color, alpha=0.8,
                               linewidths=0, label=label)  # fmt: skip
            if extent.size >= 4:
                ax.set_xlim(extent[0], extent[1])
                ax.set_ylim(extent[2], extent[3])
        if which == "real":
            ax.set_title(f"real ({len(real):,} points)", fontsize=10)
        else:
            ax.set_title(f"generated at step {step:,} ({len(fake):,} points)", fontsize=10)
            ax.legend(fontsize=8, frameon=False, loc="upper right", markerscale=1.6)
        _style(ax, xlabel="")
        pictures.append(figure_png(fig))
    return pictures[0], pictures[1]
