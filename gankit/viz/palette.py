"""The three colours of every picture of points (``viz.palette``): the real data, generated
points that fool D, and generated points D catches.

"seed" keeps the seed notebook's orange, green and red. Green against red is the one pair
most colour-blind viewers cannot tell apart, so "colorblind" takes its colours from the
Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), which was chosen to survive
the common colour-vision deficiencies: real orange, fooled blue, caught vermillion. Blue
against vermillion differs in hue and in lightness for every kind of dichromat; simulated
with Machado et al. (2009) at full severity, fooled and caught stay at least 90 CIELAB ΔE
apart for protanopes, deuteranopes and tritanopes, where the seed's green and red drop to
7 for deuteranopes (tests/test_viz_palette.py measures it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from gankit.errors import UserError

ROLES = ("real", "fooled", "caught")


@dataclass(frozen=True)
class Palette:
    name: str
    real: str  # the real points, drawn faint under the generated ones
    real_edge: str  # a darker shade of ``real``: the outline of the real histogram (1-D)
    fooled: str  # generated points D rates as real (D(x) > 0.5)
    caught: str  # generated points D rates as fake
    words: tuple[str, str, str]  # the colours of real, fooled, caught in words, for captions

    def resolve(self, colour: str) -> str:
        """A colour of a plot's table: the roles "real", "fooled" and "caught" become this
        palette's colours, any other colour is returned as it is."""
        return getattr(self, colour) if colour in ROLES else colour

    def describe(self) -> str:
        """The colours in words, for a caption: "real points orange, generated green ..."."""
        real, fooled, caught = self.words
        return f"real points {real}, generated {fooled} where they fool D and {caught} where not"


SEED = Palette("seed", "#ff8c00", "#d97700", "#2ca02c", "#d62728", ("orange", "green", "red"))
COLORBLIND = Palette(
    "colorblind", "#e69f00", "#b37b00", "#0072b2", "#d55e00", ("orange", "blue", "vermillion")
)
PALETTES = {p.name: p for p in (SEED, COLORBLIND)}


def palette_named(name: str) -> Palette:
    """The palette of a ``viz.palette`` value; UserError naming the accepted ones."""
    if name not in PALETTES:
        accepted = ", ".join(PALETTES)
        raise UserError(f"unknown viz.palette {name!r}; accepted: {accepted}.")
    return PALETTES[name]


def run_palette(run_dir: str | Path) -> Palette:
    """The palette a run was configured with (its config.json's ``viz.palette``); the seed's
    for runs from before the key existed or without a readable config."""
    try:
        config = json.loads((Path(run_dir) / "config.json").read_text())
    except (OSError, ValueError):
        return SEED
    viz = config.get("viz") if isinstance(config, dict) else None
    name = viz.get("palette", SEED.name) if isinstance(viz, dict) else SEED.name
    return palette_named(str(name))
