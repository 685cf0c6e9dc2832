"""The registry of scores: what ``gankit eval``, the headline (CLI, report, catalogue,
compare, run card) and the doctor iterate instead of naming scores themselves.

Read it through these functions, never by copying ``SCORES``: a test (or a plug-in) may
put another tuple in its place, and every reader sees the same one.
"""

from __future__ import annotations

from typing import Any

from gankit.scores.entries import ENTRIES
from gankit.scores.score import Score

SCORES: tuple[Score, ...] = ENTRIES


def scores() -> tuple[Score, ...]:
    """Every score, in the order eval.json and the headline show them."""
    return SCORES


def for_data(data: Any) -> list[Score]:
    """The scores gankit eval computes for this gankit.data.Data."""
    return [s for s in SCORES if s.applies(data)]


def get(key: str) -> Score | None:
    """The score named ``key`` in eval.json, None for one this version does not know."""
    return next((s for s in SCORES if s.key == key), None)


def followed() -> list[Score]:
    """The scores whose headline number the doctor judges over a run's evaluations."""
    return [s for s in SCORES if s.followed]


def lower_is_better(key: str) -> bool:
    """Whether the score named ``key`` is better lower (a distance); unknown keys are not."""
    score = get(key)
    return score is not None and score.better == "lower"
