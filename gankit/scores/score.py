"""What one score of ``gankit eval`` declares: the data it applies to, how it is computed,
which way it is better, how the doctor follows it and how its headline rows print.

The module imports nothing heavy: the catalogue (``gankit runs``) prints headline rows
through it, and a score's computing code (POT, SciPy, torch) is imported only when
``compute`` runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Better = Literal["lower", "higher"]
Fields = dict[str, Any]  # a score's entry in eval.json: its numbers and its "protocol"
HeadlineRow = tuple[str, str, str]  # (score, value, real-data floor), as printed


@dataclass
class ScoreInput:
    """What a score is computed from: samples ``x`` (generated, or real for the floor) of
    the run's ``data`` under its config ``cfg``; for image scores also the feature network
    and its features of the held-out images, with the samples' own features computed once
    for all the scores that read them."""

    x: Any  # np.ndarray
    data: Any  # gankit.data.Data
    cfg: Any  # gankit.config.Config
    features: Any = None
    real_features: Any = None
    _fake_features: Any = field(default=None, repr=False)

    def fake_features(self) -> Any:
        if self._fake_features is None:
            self._fake_features = self.features(self.x)
        return self._fake_features


@dataclass(frozen=True)
class Row:
    """One headline row of a score. ``label``, ``value`` and ``floor`` read the score's
    fields in eval.json: ``value`` those of the run, ``floor`` those of the real-data floor
    (the same protocol on real samples the model never saw), printed as ``value`` prints
    them unless the floor needs less (a class count without its per-class shares)."""

    label: str | Callable[[Fields], str]
    value: Callable[[Fields], str]
    floor: Callable[[Fields], str] | None = None

    def render(self, fields: Fields, floor: Fields) -> HeadlineRow:
        label = self.label if isinstance(self.label, str) else self.label(fields)
        return label, self.value(fields), (self.floor or self.value)(floor)


@dataclass(frozen=True)
class Score:
    """One entry of the registry (gankit.scores.entries)."""

    key: str  # its name in eval.json's "scores", "real_floor", "scores_every_draw" and eval rows
    applies: Callable[[Any], bool]  # to this gankit.data.Data: computed for it by gankit eval
    compute: Callable[[ScoreInput], Fields]  # its fields, "protocol" among them
    main: str  # the field that is its headline number: "value", "modes", "coverage"
    better: Better  # which way ``main`` is better, for the doctor and anyone comparing runs
    rows: tuple[Row, ...]  # its headline rows, in order
    # G's every draw beside a truncated sampler's scores: that row's value (None: no row)
    every_draw: Callable[[Fields], str] | None = None
    # the doctor judges ``main`` over the run's evaluations: a score that got worse after its
    # best is a sign of non-convergence (gankit.doctor.rules.non_convergence)
    followed: bool = False
    # computed on image features: gankit eval adds the feature space to its protocol
    feature_space: bool = False
    # the doctor's far_from_data: ``main`` this many times worse than the real-data floor's
    # (lower is better: above far x the floor; higher: below the floor / far); None: not judged
    far: float | None = None

    def headline(self, fields: Fields, floor: Fields) -> list[HeadlineRow]:
        """Its headline rows, of the run's ``fields`` beside the ``floor``'s."""
        return [row.render(fields, floor) for row in self.rows]

    def main_value(self, fields: Any) -> float | None:
        """Its headline number in ``fields``, None where there is none (an older eval row, a
        null written for NaN)."""
        v = fields.get(self.main) if isinstance(fields, dict) else None
        return v if isinstance(v, int | float) and not isinstance(v, bool) else None
