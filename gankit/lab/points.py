"""The user's own points in the lab, drawn with the mouse or uploaded as CSV/NPY, made into
a gankit points file (``data.name = points``, ``data.path``): the same loader as
``gankit train points --set data.path=...`` reads them, so its checks and messages are the
lab's, and a saved run reads its points the same way."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from gankit.config import MIN_DATA
from gankit.data.toy import load_points
from gankit.errors import UserError

MAX_POINTS = 200_000  # an upload larger than this is not one a live page can draw
MAX_UPLOAD_BYTES = 20 * 2**20  # 20 MiB: the largest file the lab reads


def _fresh(folder: Path, stem: str, suffix: str) -> Path:
    """A new file name in ``folder``: the points the session trains on now stay where its
    config says they are, whatever the next upload holds."""
    n = 0
    while (folder / f"{stem}-{n}{suffix}").exists():
        n += 1
    return folder / f"{stem}-{n}{suffix}"


def drawn(points: Any, folder: Path) -> Path:
    """Points drawn on the page (a list of [x, y], or of [x] for 1-D data) written as
    ``folder/drawn-N.npy``."""
    width = (
        len(points[0]) if isinstance(points, list) and points and isinstance(points[0], list) else 2
    )
    if (
        not isinstance(points, list)
        or not all(
            isinstance(p, list)
            and len(p) == width
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)
            for p in points
        )
        or width not in (1, 2)
    ):
        raise UserError("drawn points must be a list of [x, y] pairs of numbers.")
    if len(points) < MIN_DATA:
        raise UserError(
            f"draw at least {MIN_DATA} points (got {len(points)}): a GAN learns a distribution "
            "from several samples."
        )
    if len(points) > MAX_POINTS:
        raise UserError(f"draw at most {MAX_POINTS:,} points (got {len(points):,}).")
    if not all(math.isfinite(v) for p in points for v in p):
        raise UserError("drawn points must be finite numbers.")
    path = _fresh(folder, "drawn", ".npy")
    np.save(path, np.asarray(points, dtype=np.float32))
    return path


def uploaded(name: str, content: bytes, folder: Path) -> Path:
    """An uploaded .csv or .npy of points, checked by gankit's points loader and the lab's
    own limits (1-D or 2-D points, at most MAX_POINTS), kept as ``folder/uploaded-N.<suffix>``."""
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".npy"):
        raise UserError(f"upload {name!r} has suffix {suffix!r}; accepted: .csv, .npy.")
    if len(content) > MAX_UPLOAD_BYTES:
        raise UserError(f"upload {name!r} is over {MAX_UPLOAD_BYTES // 2**20} MiB.")
    path = _fresh(folder, "uploaded", suffix)
    path.write_bytes(content)
    try:
        pts = load_points(path)
    except UserError as e:
        path.unlink(missing_ok=True)
        # the loader names the lab's temporary file: name the user's instead
        raise UserError(str(e).replace(str(path), repr(name))) from None
    if pts.shape[1] not in (1, 2) or len(pts) > MAX_POINTS:
        path.unlink(missing_ok=True)
        raise UserError(
            f"upload {name!r} holds {len(pts):,} points of {pts.shape[1]} dimensions; the lab "
            f"draws 1-D or 2-D points, at most {MAX_POINTS:,} of them."
        )
    return path
