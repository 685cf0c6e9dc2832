"""One picture per training snapshot: real points, generated points, and what D thinks.

Frames are drawn with ``matplotlib.figure.Figure`` + ``FigureCanvasAgg`` rather than pyplot so
that rendering keeps no global state and is safe to call from worker threads. Every frame has
the same pixel size and fixed axis limits, so a sequence of frames makes a steady GIF.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from PIL import Image

from gankit.errors import UserError
from gankit.viz.palette import SEED, Palette

FIGSIZE = (6.4, 5.6)  # inches; at DPI 100 every frame is 640 x 560 pixels
DPI = 100

D_CURVE = "#333333"

# Light greys only, so that the coloured points (viz.palette) stay the loudest thing on the slide.
FIELD_CMAP = LinearSegmentedColormap.from_list("gankit_field", ["#ffffff", "#8c8c8c"])


def _new_figure() -> Figure:
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _to_rgb(fig: Figure) -> np.ndarray:
    """Rasterise the figure; copy so the array outlives the canvas buffer."""
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _scalar(snap: Mapping[str, Any], key: str) -> float | None:
    if key not in snap:
        return None
    try:
        return float(np.asarray(snap[key]).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        return None


def fooled_mask(scores: np.ndarray) -> np.ndarray:
    """True where D rated a fake point as real (> 0.5); NaN scores count as caught."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    with np.errstate(invalid="ignore"):
        return scores > 0.5


def frame_title(snap: Mapping[str, Any], title_prefix: str = "") -> str:
    """The one-line summary shown above every frame (prefix on its own line when given)."""
    parts = []
    step = _scalar(snap, "step")
    if step is not None and np.isfinite(step):
        parts.append(f"step {int(step):,}")
    for key, name in (("d_loss", "D loss"), ("g_loss", "G loss")):
        value = _scalar(snap, key)
        if value is not None:
            parts.append(f"{name} {value:.2f}")
    if "fake_score" in snap and np.asarray(snap["fake_score"]).size:
        share = float(np.mean(fooled_mask(snap["fake_score"])))
        parts.append(f"{share:.0%} fooled D")
    line = " · ".join(parts)
    return f"{title_prefix}\n{line}" if title_prefix else line


def _legend(
    fig: Figure, palette: Palette, patches: bool = False, extra: list[Any] | None = None
) -> None:
    """One legend below the axes, where it can never cover data."""
    real, fooled, caught = palette.real, palette.fooled, palette.caught
    handles: list[Any]
    if patches:  # histograms
        handles = [
            Patch(facecolor=real, edgecolor=real, alpha=0.45, label="real"),
            Patch(facecolor=fooled, alpha=0.75, label="fooled D"),
            Patch(facecolor=caught, alpha=0.75, label="caught by D"),
        ]
    else:  # proxies: the real points are drawn nearly transparent, the legend must not be
        handles = [
            Line2D([], [], ls="", marker="o", ms=6, color=real, alpha=0.6, label="real"),
            Line2D([], [], ls="", marker="o", ms=6, color=fooled, label="fooled D"),
            Line2D([], [], ls="", marker="o", ms=6, color=caught, label="caught by D"),
        ]
    handles += extra or []
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False)


def _set_limits(ax: Axes, extent: np.ndarray) -> None:
    xmin, xmax, ymin, ymax = (float(v) for v in extent[:4])
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ratio = (xmax - xmin) / max(ymax - ymin, 1e-12)
    # Equal aspect keeps circles round, but for unlike ranges it wastes half the frame.
    if 0.8 <= ratio <= 1.25:
        ax.set_aspect("equal")


def _note_offplot(ax: Axes, coords: np.ndarray, extent: np.ndarray) -> None:
    """Say how many generated points the fixed axes hide; a diverged G otherwise looks empty."""
    inside = np.isfinite(coords).all(axis=1)
    for j in range(coords.shape[1]):
        lo, hi = float(extent[2 * j]), float(extent[2 * j + 1])
        with np.errstate(invalid="ignore"):
            inside &= (coords[:, j] >= lo) & (coords[:, j] <= hi)
    hidden = int(coords.shape[0] - inside.sum())
    if hidden:
        ax.text(
            0.99,
            0.01,
            f"{hidden} of {coords.shape[0]} generated points off the plot",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=8,
            color="#444444",
            bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 2},
            zorder=5,
        )


def _scatter_points(
    ax: Axes, real: np.ndarray, fake: np.ndarray, scores: np.ndarray, palette: Palette
) -> None:
    ax.scatter(real[:, 0], real[:, 1], s=7, c=palette.real, alpha=0.15, linewidths=0, zorder=2)
    mask = fooled_mask(scores)
    if mask.shape[0] != fake.shape[0]:
        mask = np.zeros(fake.shape[0], dtype=bool)
    for sel, color in ((~mask, palette.caught), (mask, palette.fooled)):
        ax.scatter(
            fake[sel, 0],
            fake[sel, 1],
            s=14,
            c=color,
            alpha=0.85,
            edgecolors="white",
            linewidths=0.3,
            zorder=3,
        )


def _draw_2d(
    fig: Figure, real: np.ndarray, extent: np.ndarray, snap: Mapping[str, Any], palette: Palette
) -> Axes:
    ax = fig.add_subplot()
    fake = np.asarray(snap["fake"], dtype=np.float64)
    field = snap.get("field")
    if field is not None and np.asarray(field).ndim == 2 and len(extent) >= 4:
        im = ax.imshow(
            np.asarray(field, dtype=np.float64),
            origin="lower",
            extent=tuple(float(v) for v in extent[:4]),
            cmap=FIELD_CMAP,
            vmin=0.0,
            vmax=1.0,
            interpolation="bilinear",
            aspect="auto",
            zorder=1,
        )
        cbar = fig.colorbar(im, ax=ax, shrink=0.7, aspect=25, pad=0.02)
        cbar.set_label("D(x): realness")
        cbar.set_ticks([0.0, 0.5, 1.0])
    scores = np.asarray(snap.get("fake_score", np.zeros(len(fake))))
    _scatter_points(ax, real, fake, scores, palette)
    if len(extent) >= 4:
        _set_limits(ax, extent)
        _note_offplot(ax, fake[:, :2], extent)
    if real.shape[1] > 2:
        ax.set_xlabel("x0")
        ax.set_ylabel("x1")
    return ax


def _draw_1d(
    fig: Figure, real: np.ndarray, extent: np.ndarray, snap: Mapping[str, Any], palette: Palette
) -> Axes:
    ax = fig.add_subplot()
    xmin, xmax = float(extent[0]), float(extent[1])
    edges = np.linspace(xmin, xmax, 49)
    width = edges[1] - edges[0]

    real_x = real[:, 0][np.isfinite(real[:, 0])]
    real_counts, _ = np.histogram(real_x, bins=edges)
    real_density = real_counts / max(real_x.size, 1) / width

    fake = np.asarray(snap["fake"], dtype=np.float64)[:, 0]
    mask = fooled_mask(snap.get("fake_score", np.zeros(len(fake))))
    if mask.shape[0] != fake.shape[0]:
        mask = np.zeros(fake.shape[0], dtype=bool)
    n_fake = max(int(np.isfinite(fake).sum()), 1)
    fooled, _ = np.histogram(fake[mask & np.isfinite(fake)], bins=edges)
    caught, _ = np.histogram(fake[~mask & np.isfinite(fake)], bins=edges)
    fooled_d = fooled / n_fake / width
    total_d = (fooled + caught) / n_fake / width

    # The y range depends on the real data only, so it stays put across frames; a collapsed
    # generator's spike is clipped and marked with an up-triangle instead of rescaling the plot.
    ymax = 1.6 * float(real_density.max()) if real_density.max() > 0 else 1.0
    ax.stairs(real_density, edges, fill=True, color=palette.real, alpha=0.3, zorder=1)
    # The real outline goes on top again, so the target shape shows through the generated bars.
    ax.stairs(np.minimum(real_density, ymax), edges, color=palette.real_edge, lw=1.4, zorder=4)
    ax.stairs(
        np.minimum(fooled_d, ymax), edges, fill=True, color=palette.fooled, alpha=0.75, zorder=2
    )
    ax.stairs(
        np.minimum(total_d, ymax),
        edges,
        baseline=np.minimum(fooled_d, ymax),
        fill=True,
        color=palette.caught,
        alpha=0.75,
        zorder=2,
    )
    clipped = total_d > ymax
    if clipped.any():
        centers = 0.5 * (edges[:-1] + edges[1:])
        ax.plot(centers[clipped], np.full(clipped.sum(), ymax * 0.97), "^", color="black", ms=5)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(0.0, ymax)
    _note_offplot(ax, fake[:, None], extent)
    ax.set_xlabel("x")
    ax.set_ylabel("density")

    extra: list[Any] = []
    field = snap.get("field")
    if field is not None and np.asarray(field).ndim == 1 and np.asarray(field).size > 1:
        twin = ax.twinx()
        values = np.asarray(field, dtype=np.float64)
        twin.plot(np.linspace(xmin, xmax, values.size), values, color=D_CURVE, lw=1.8, zorder=3)
        twin.axhline(0.5, color=D_CURVE, lw=0.8, ls="--", alpha=0.6)
        twin.set_ylim(0.0, 1.0)
        twin.set_ylabel("D(x): realness")
        extra.append(Line2D([], [], color=D_CURVE, lw=1.8, label="D(x)"))
    _legend(fig, palette, patches=True, extra=extra)
    return ax


def render_frame(
    real: np.ndarray,
    extent: np.ndarray,
    snap: Mapping[str, Any],
    title_prefix: str = "",
    palette: Palette = SEED,
) -> np.ndarray:
    """Draw one snapshot and return it as an RGB uint8 array of shape (560, 640, 3), its
    points in ``palette``'s colours.

    ``real`` is the (m, d) real subset and ``extent`` the fixed plot range from ``real.npz``;
    ``snap`` is the dict loaded from one ``step_XXXXXXX.npz``. The dimension d picks the kind of
    picture: histogram plus D curve for d == 1, heat-map plus scatter for d == 2, scatter of the
    first two coordinates for d > 2.
    """
    real = np.asarray(real, dtype=np.float64)
    if real.ndim == 1:
        real = real[:, None]
    extent = np.asarray(extent, dtype=np.float64).reshape(-1)
    fake = np.asarray(snap["fake"])
    snap = dict(snap)
    snap["fake"] = fake[:, None] if fake.ndim == 1 else fake

    # Font sizes are passed explicitly: rc_context would mutate matplotlib's global rcParams.
    fig = _new_figure()
    if real.shape[1] == 1:
        ax = _draw_1d(fig, real, extent, snap, palette)
    else:
        if real.shape[1] > 2:
            snap.pop("field", None)  # the contract has none; ignore one if present
        ax = _draw_2d(fig, real, extent, snap, palette)
        _legend(fig, palette)
    ax.set_title(frame_title(snap, title_prefix), fontsize=11)
    return _to_rgb(fig)


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Read a whole .npz into a plain dict so the file handle is closed at once; a file a
    crash or a disk left torn is one sentence naming it."""
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
        raise UserError(f"the snapshot file {path} could not be read ({e}).") from None


def save_png(img: np.ndarray, path: str | Path) -> Path:
    """Write an RGB uint8 array as a PNG; returns the path written."""
    from gankit.run import replacing

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:  # whole or not at all
        Image.fromarray(np.asarray(img, dtype=np.uint8)).save(tmp, format="PNG")
    return path
