"""The headline scores of an eval.json as (score, value, real-data floor) rows of text: what
the CLI, the report, a notebook's run card, ``gankit runs`` and ``gankit compare`` print. It
reads only the JSON, so listing runs needs none of the scoring code (POT, torch)."""

from __future__ import annotations

import math
from typing import Any


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
    back from eval.json."""
    result = nulls_as_nan(result)
    s, f = result["scores"], result["real_floor"]
    if result.get("diverged"):
        return [("diverged", "G produced NaN/inf", "")]
    rows = []
    if "modes" in s:
        m, fm = s["modes"], f["modes"]
        rows += [
            ("modes captured", f"{m['modes']} / {m['n_modes']}", f"{fm['modes']}"),
            (
                "high quality",
                f"{100 * m['high_quality']:.1f} %",
                f"{100 * fm['high_quality']:.1f} %",
            ),
            ("reverse KL", f"{m['reverse_kl']:.4f}", f"{fm['reverse_kl']:.4f}"),
        ]
        every = (result.get("scores_every_draw") or {}).get("modes")
        if every:  # the scores above are of a truncated sampler: G's every draw beside
            keep = result.get("sampler", {}).get("jacobian_keep", 1.0)
            rows += [
                (
                    f"  every draw (above: {100 * keep:.0f} %)",
                    f"{every['modes']} modes, {100 * every['high_quality']:.1f} %, "
                    f"KL {every['reverse_kl']:.4f}",
                    "",
                )
            ]
    if "sine" in s:
        rows += [
            (
                "distance to curve",
                f"{s['sine']['curve_distance']:.4f}",
                f"{f['sine']['curve_distance']:.4f}",
            ),
            (
                "x coverage",
                f"{100 * s['sine']['x_coverage']:.0f} %",
                f"{100 * f['sine']['x_coverage']:.0f} %",
            ),
        ]
    if "gaussian" in s:
        g, fg = s["gaussian"], f["gaussian"]
        rows += [
            (
                "mean / std",
                f"{g['mean']:.3f} / {g['std']:.3f}",
                f"{fg['mean']:.3f} / {fg['std']:.3f}",
            )
        ]
    if "w1" in s:
        rows.append(("Wasserstein-1", f"{s['w1']['value']:.4f}", f"{f['w1']['value']:.4f}"))
    if "fd" in s:
        rows += _image_rows(s, f)
    return rows


def _image_rows(s: dict[str, Any], f: dict[str, Any]) -> list[tuple[str, str, str]]:
    space = s["fd"]["protocol"]["features"]["name"]
    pr, fpr = s["precision_recall"], f["precision_recall"]
    dc, fdc = s["density_coverage"], f["density_coverage"]
    rows = [
        (f"Fréchet distance ({space})", f"{s['fd']['value']:.4g}", f"{f['fd']['value']:.4g}"),
        ("KID x 1000", f"{1000 * s['kid']['value']:.3g}", f"{1000 * f['kid']['value']:.3g}"),
        (
            "precision / recall",
            f"{pr['precision']:.2f} / {pr['recall']:.2f}",
            f"{fpr['precision']:.2f} / {fpr['recall']:.2f}",
        ),
        (
            "density / coverage",
            f"{dc['density']:.2f} / {dc['coverage']:.2f}",
            f"{fdc['density']:.2f} / {fdc['coverage']:.2f}",
        ),
    ]
    if "classes" in s:
        c, fc = s["classes"], f["classes"]
        rows.append(
            (
                "digit classes",
                f"{c['coverage']} / 10, {100 * min(c['shares']):.0f}-"
                f"{100 * max(c['shares']):.0f} % each",
                f"{fc['coverage']} / 10",
            )
        )
    if "stacked_modes" in s:
        m, fm = s["stacked_modes"], f["stacked_modes"]
        rows += [
            ("modes (of 1,000)", f"{m['modes']}", f"{fm['modes']}"),
            ("reverse KL", f"{m['reverse_kl']:.3f}", f"{fm['reverse_kl']:.3f}"),
        ]
    return rows


def headline_or_none(result: Any) -> list[tuple[str, str, str]] | None:
    """:func:`headline` of an eval.json as read from disk, or None when it is not one this
    version can read (another version's, edited by hand, torn): every reader shows what it
    can instead of failing."""
    try:
        return headline(result)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None
