"""Text on the page: escaped, and numbers as a person reads them."""

from __future__ import annotations

import html
import math
from typing import Any


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(value: Any) -> str:
    """A number as a person reads it; JSON null (a NaN or inf in the run) as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—" if math.isnan(value) else str(value)
        return f"{value:.4g}"
    if isinstance(value, list):
        if len(value) <= 16 and all(isinstance(v, int | float | None) for v in value):
            return " ".join(f"{v:.3g}" if isinstance(v, float) else fmt(v) for v in value)
        return f"{len(value)} values"
    return str(value)
