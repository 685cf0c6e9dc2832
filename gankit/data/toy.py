"""Toy distributions and user point files: NumPy in, ``float32 (N, d)`` out, nothing of engines.

Each generator takes a NumPy ``Generator`` so that the same seed gives the same data.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gankit import streams
from gankit.config import DataConfig
from gankit.errors import UserError
from gankit.metrics.toy import GRID25_SIGMA, RING8_SIGMA, grid25_centres, ring8_centres

GAUSSIAN1D_MEAN, GAUSSIAN1D_STD = 4.0, 1.25  # the 1-D GAN the sine seed grew from


@dataclass
class PointData:
    """Training points, held-out points and what an evaluation needs to know about them."""

    train: np.ndarray  # float32 (N, d)
    holdout: np.ndarray  # float32 (M, d), never trained on
    kind: str  # the data name: picks the evaluation protocol
    info: dict[str, Any] = field(default_factory=dict)  # e.g. centres and sigma, noise mean

    @property
    def dim(self) -> int:
        return int(self.train.shape[1])


def _noise(cfg: DataConfig, rng: np.random.Generator, n: int) -> np.ndarray:
    if cfg.noise == "uniform":
        return rng.uniform(0.0, cfg.noise_level, n)
    return rng.normal(0.0, cfg.noise_level, n)


def noise_mean(cfg: DataConfig) -> float:
    return cfg.noise_level / 2 if cfg.noise == "uniform" else 0.0


def sine(cfg: DataConfig, rng: np.random.Generator, n: int, evenly: bool) -> np.ndarray:
    """x in [-1, 1], y = sin(5x) + noise; the seed spaced the training x evenly."""
    x = np.linspace(-1.0, 1.0, n) if evenly else rng.uniform(-1.0, 1.0, n)
    return np.stack([x, np.sin(5 * x) + _noise(cfg, rng, n)], axis=1)


def mixture(centres: np.ndarray, sigma: float, rng: np.random.Generator, n: int) -> np.ndarray:
    pick = rng.integers(0, len(centres), n)
    return centres[pick] + rng.normal(0.0, sigma, (n, 2))


def spiral(cfg: DataConfig, rng: np.random.Generator, n: int) -> np.ndarray:
    """One arm of an Archimedean spiral, 1.5 turns, uniform in arc parameter."""
    t = np.sqrt(rng.uniform(0.0, 1.0, n)) * 3 * np.pi
    pts = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * np.pi)
    return pts + rng.normal(0.0, cfg.noise_level / 4, (n, 2))


def moons(cfg: DataConfig, rng: np.random.Generator, n: int) -> np.ndarray:
    """Two interleaved half circles (as scikit-learn's make_moons), centred on 0."""
    t = rng.uniform(0.0, np.pi, n)
    upper = rng.random(n) < 0.5
    x = np.where(upper, np.cos(t), 1 - np.cos(t)) - 0.5
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t)) - 0.25
    return np.stack([x, y], axis=1) + rng.normal(0.0, cfg.noise_level / 2, (n, 2))


def load_points(path: str | Path) -> np.ndarray:
    """A user's points: ``.npy`` (N, d) or (N,), or ``.csv`` with one point per line and an
    optional header. Any dimension d >= 1."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"points file {p} does not exist; give a .csv or .npy file of points.")
    if p.suffix.lower() == ".npy":
        try:
            arr = np.load(p, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:  # EOFError: an empty file
            raise UserError(f"points file {p} is not a readable .npy array ({e}).") from None
    elif p.suffix.lower() == ".csv":
        arr = _read_csv(p)
    else:
        raise UserError(f"points file {p} has suffix {p.suffix!r}; accepted: .csv, .npy.")
    if arr.ndim == 1:
        arr = arr[:, None]
    # complex numbers are no points (a cast would keep the real part and drop the rest)
    real = np.issubdtype(arr.dtype, np.number) and not np.issubdtype(arr.dtype, np.complexfloating)
    if arr.ndim != 2 or arr.shape[0] < 2 or not real:
        raise UserError(
            f"points file {p} holds an array of shape {arr.shape} and type {arr.dtype}; "
            "accepted: numbers of shape (N, d) with N >= 2."
        )
    with np.errstate(over="ignore"):
        pts = arr.astype(np.float32)  # past float32's range (3.4e38) a value becomes inf
    if not np.isfinite(pts).all():
        row = int(np.argwhere(~np.isfinite(pts))[0][0])
        raise UserError(
            f"points file {p} has a NaN or infinite value (or one beyond float32's 3.4e38) in "
            f"point {row}."
        )
    return pts


def _csv_text(p: Path) -> str:
    """A CSV's text: UTF-16 or UTF-8 by its byte-order mark, UTF-8 without one (what
    spreadsheets write); anything else is one sentence."""
    raw = p.read_bytes()
    encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as e:
        raise UserError(
            f"points file {p} is not UTF-8 or UTF-16 text ({e.reason} at byte {e.start}); "
            "save it as CSV in UTF-8."
        ) from None
    if "\0" in text:
        raise UserError(f"points file {p} holds NUL characters; it is not a CSV text file.")
    return text


def _read_csv(p: Path) -> np.ndarray:
    rows: list[list[float]] = []
    width = None
    with io.StringIO(_csv_text(p), newline="") as f:
        for lineno, row in enumerate(csv.reader(f), start=1):
            cells = [c.strip() for c in row]
            if not any(cells):
                continue
            try:
                values = [float(c) for c in cells]
            except ValueError:
                if not rows and lineno == 1:
                    continue  # a header line
                raise UserError(
                    f"points file {p}, line {lineno}: {','.join(cells)!r} is not a row of numbers."
                ) from None
            if width is None:
                width = len(values)
            elif len(values) != width:
                raise UserError(
                    f"points file {p}, line {lineno}: {len(values)} values where earlier lines "
                    f"have {width}."
                )
            rows.append(values)
    if not rows:
        raise UserError(f"points file {p} has no rows of numbers.")
    return np.asarray(rows, dtype=np.float64)


def make_points(cfg: DataConfig, seed: int) -> PointData:
    """The training and held-out points for ``cfg``; the same seed gives the same points."""
    rng = streams.rng(seed, streams.DATA)  # weights and batches use other streams
    n, m = cfg.n, cfg.holdout
    info: dict[str, Any] = {}
    if cfg.name == "sine":
        train = sine(cfg, rng, n, evenly=True)
        holdout = sine(cfg, rng, m, evenly=False)
        info["noise_mean"] = noise_mean(cfg)
    elif cfg.name in ("ring8", "grid25"):
        centres = ring8_centres() if cfg.name == "ring8" else grid25_centres()
        sigma = RING8_SIGMA if cfg.name == "ring8" else GRID25_SIGMA
        train, holdout = mixture(centres, sigma, rng, n), mixture(centres, sigma, rng, m)
        info.update(centres=centres.tolist(), sigma=sigma)
    elif cfg.name == "gaussian1d":
        train = rng.normal(GAUSSIAN1D_MEAN, GAUSSIAN1D_STD, (n, 1))
        holdout = rng.normal(GAUSSIAN1D_MEAN, GAUSSIAN1D_STD, (m, 1))
        info.update(mean=GAUSSIAN1D_MEAN, std=GAUSSIAN1D_STD)
    elif cfg.name in ("spiral", "moons"):
        make = spiral if cfg.name == "spiral" else moons
        train, holdout = make(cfg, rng, n), make(cfg, rng, m)
    else:  # points
        if cfg.path is None:
            raise UserError("data.name = points needs data.path, a .csv or .npy file of points.")
        pts = load_points(cfg.path)
        rng.shuffle(pts)
        k = min(m, len(pts) // 5)  # keep a fifth at most aside for evaluation
        train, holdout = pts[k:], pts[:k] if k > 0 else pts[:1]
        info["path"] = str(Path(cfg.path).resolve())
    return PointData(train.astype(np.float32), holdout.astype(np.float32), cfg.name, info)


def plot_extent(data: PointData) -> np.ndarray:
    """A fixed plot range that holds the real data with a margin (same for every frame)."""
    lo, hi = np.percentile(data.train, 0.5, axis=0), np.percentile(data.train, 99.5, axis=0)
    span = np.maximum(hi - lo, 1e-3)
    lo, hi = lo - 0.25 * span, hi + 0.25 * span
    if data.dim == 1:
        return np.array([lo[0], hi[0]], dtype=np.float32)
    return np.array([lo[0], hi[0], lo[1], hi[1]], dtype=np.float32)
