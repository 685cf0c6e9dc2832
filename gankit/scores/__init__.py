"""The scores of ``gankit eval``: each one's data, direction, floor and headline rows
(score.py), the entries themselves (entries.py) and the lookups every reader uses
(registry.py)."""

from gankit.scores.registry import followed, for_data, get, lower_is_better, scores
from gankit.scores.score import Row, Score, ScoreInput

__all__ = ["Row", "Score", "ScoreInput", "followed", "for_data", "get", "lower_is_better", "scores"]
