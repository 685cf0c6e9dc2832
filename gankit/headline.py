"""The headline scores of an eval.json as (score, value, real-data floor) rows of text: what
the CLI, the report, a notebook's run card, ``gankit runs`` and ``gankit compare`` print. It
reads only the JSON and the registry's rows (gankit.scores), so listing runs needs none of
the scoring code (POT, torch)."""

from __future__ import annotations

import math
from typing import Any

from gankit.scores import registry


def nulls_as_nan(obj: Any) -> Any:
    """A result read back from eval.json, where NaN and inf were written as null (strict
    JSON), with those numbers as NaN again, so its rows format as "nan" instead of failing."""
    if obj is None:
        return math.nan
    if isinstance(obj, dict):
        return {k: nulls_as_nan(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [nulls_as_nan(v) for v in obj]
    return obj


def headline(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(score, value, real-data floor) rows for printing, of a fresh result or one read
    back from eval.json: each score of the registry the result holds, in the registry's
    order, as its entry prints it (gankit.scores.entries)."""
    result = nulls_as_nan(result)
    s, f = result["scores"], result["real_floor"]
    if result.get("diverged"):
        return [("diverged", "G produced NaN/inf", "")]
    every = result.get("scores_every_draw") or {}
    rows = []
    for score in registry.scores():
        if score.key not in s:
            continue
        rows += score.headline(s[score.key], f[score.key])
        if score.every_draw and every.get(score.key):
            # the rows above are of a truncated sampler: G's every draw beside them
            keep = result.get("sampler", {}).get("jacobian_keep", 1.0)
            label = f"  every draw (above: {100 * keep:.0f} %)"
            rows.append((label, score.every_draw(every[score.key]), ""))
    return rows


def headline_or_none(result: Any) -> list[tuple[str, str, str]] | None:
    """:func:`headline` of an eval.json as read from disk, or None when it is not one this
    version can read (another version's, edited by hand, torn): every reader shows what it
    can instead of failing."""
    try:
        return headline(result)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None
