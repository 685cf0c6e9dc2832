"""viz.palette: the colours of real, fooled-D and caught points in every picture of a run
(training GIF, last frame, curves, sweep GIF, report), the seed's by default, and a
colour-blind-safe set whose fooled/caught pair dichromats can tell apart."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageSequence

from gankit import training
from gankit.config import load_config
from gankit.errors import UserError
from gankit.outputs import finish
from gankit.report.plots import points_side_by_side
from gankit.viz.gif import side_by_side_gif
from gankit.viz.palette import COLORBLIND, SEED, palette_named, run_palette
from gankit.viz.points import render_frame

TINY = [
    "model.g_hidden=[16,16]", "model.d_hidden=[16,16]", "train.batch_size=32",
    "train.steps=30", "train.log_every=5", "train.snapshot_every=10", "viz.grid=16",
    "viz.points=300", "eval.n_samples=300", "eval.w1_points=300",
]  # fmt: skip
NEAR = 40  # per channel: a marker drawn at alpha 0.85 over the grey field stays this close


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])


def _count(picture: np.ndarray | Image.Image, colour: str) -> int:
    """Pixels within NEAR of ``colour`` in every channel."""
    image = picture if isinstance(picture, Image.Image) else Image.fromarray(picture)
    pixels = np.asarray(image.convert("RGB"), dtype=np.int32)  # palette PNGs and GIFs too
    return int((np.abs(pixels - _rgb(colour)) <= NEAR).all(axis=-1).sum())


def _assert_colourblind(picture: np.ndarray | Image.Image, where: str, caught: bool = True) -> None:
    assert _count(picture, COLORBLIND.fooled) > 20, where
    if caught:
        assert _count(picture, COLORBLIND.caught) > 20, where
    assert _count(picture, SEED.fooled) == 0, where
    assert _count(picture, SEED.caught) == 0, where


@pytest.fixture(scope="module")
def colourblind_run(tmp_path_factory) -> Path:
    cfg = load_config("sine", [*TINY, "viz.palette=colorblind"])
    run = training.start(cfg, tmp_path_factory.mktemp("pal") / "cb", progress=False)
    finish(run)
    return run.path


def test_the_default_is_the_seeds_orange_green_red():
    assert load_config("sine").viz.palette == "seed"
    assert (SEED.real, SEED.fooled, SEED.caught) == ("#ff8c00", "#2ca02c", "#d62728")
    rng = np.random.default_rng(0)
    real = np.c_[np.linspace(-1, 1, 400), np.sin(5 * np.linspace(-1, 1, 400))]
    snap = {"step": np.int64(0), "fake": rng.normal(0, 0.5, (200, 2)),
            "fake_score": np.r_[np.full(100, 0.9), np.full(100, 0.1)]}  # fmt: skip
    frame = render_frame(real, np.array([-1.5, 1.5, -1.5, 1.5]), snap)
    assert _count(frame, SEED.fooled) > 20 and _count(frame, SEED.caught) > 20
    assert _count(frame, COLORBLIND.fooled) == 0


def test_a_colourblind_run_draws_no_red_or_green(colourblind_run):
    assert run_palette(colourblind_run) is COLORBLIND
    with Image.open(colourblind_run / "training.gif") as gif:
        frames = [f.convert("RGB") for f in ImageSequence.Iterator(gif)]
    assert len(frames) == 4
    _assert_colourblind(frames[-1], "training.gif")
    for f in frames:
        assert _count(f, SEED.fooled) == 0 and _count(f, SEED.caught) == 0
    _assert_colourblind(Image.open(colourblind_run / "snapshots" / "last.png"), "last.png")
    # curves.png: D(real) in the palette's orange and the share fooled in its blue
    curves = Image.open(colourblind_run / "curves.png")
    assert _count(curves, COLORBLIND.fooled) > 20 and _count(curves, SEED.fooled) == 0


def test_a_colourblind_report_says_and_shows_its_colours(colourblind_run):
    page = (colourblind_run / "report.html").read_text()
    assert "real points orange, generated blue where they fool D and vermillion where not" in page
    assert "green where" not in page
    section = page[page.index('id="pictures"') : page.index('id="snapshots"')]
    pngs = re.findall(r'src="data:image/png;base64,([^"]*)"', section)
    assert len(pngs) == 2  # real, and generated beside it
    generated = Image.open(io.BytesIO(base64.b64decode(pngs[1])))
    _assert_colourblind(generated, "real beside generated", caught=False)  # D fooled: all
    # the panels of D's verdicts: D(real) in the palette's orange, the share fooled in blue
    # (the per-layer plot's own ten colours mean layers, not verdicts)
    panels = dict(re.findall(r'<figcaption>([^<]*)</figcaption><img src="data:image/png;base64,'
                             r'([^"]*)"', page))  # fmt: skip
    fooled = Image.open(
        io.BytesIO(base64.b64decode(panels["Share of generated samples that fool D"]))
    )
    verdicts = next(v for k, v in panels.items() if k.startswith("What D thinks"))
    verdicts = Image.open(io.BytesIO(base64.b64decode(verdicts)))
    assert _count(fooled, COLORBLIND.fooled) > 20 and _count(verdicts, COLORBLIND.real) > 20
    for panel in (fooled, verdicts):
        assert _count(panel, SEED.fooled) == 0 and _count(panel, SEED.caught) == 0


def test_real_beside_generated_draws_both_verdicts_in_the_palette():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(0, 0.5, (300, 2)), rng.normal(0, 0.5, (200, 2))
    scores = np.r_[np.full(100, 0.9), np.full(100, 0.1)]
    extent = np.array([-2.0, 2.0, -2.0, 2.0])
    _, generated = points_side_by_side(real, extent, fake, scores, 7, COLORBLIND)
    _assert_colourblind(Image.open(io.BytesIO(generated)), "generated")
    _, seed = points_side_by_side(real, extent, fake, scores, 7)
    assert _count(Image.open(io.BytesIO(seed)), SEED.caught) > 20


def test_the_sweep_gif_takes_the_runs_palette(colourblind_run, tmp_path):
    out = side_by_side_gif([colourblind_run, colourblind_run], ["a", "b"], tmp_path / "s.gif")
    with Image.open(out) as gif:
        gif.seek(gif.n_frames - 1)
        _assert_colourblind(gif.convert("RGB"), "sweep.gif")


def test_a_bad_palette_is_refused_with_the_accepted_ones(tmp_path):
    with pytest.raises(UserError, match=r"viz\.palette.*'seed' or 'colorblind'"):
        load_config("sine", ["viz.palette=rainbow"])
    with pytest.raises(UserError, match="accepted: seed, colorblind"):
        palette_named("rainbow")
    r = subprocess.run([sys.executable, "-m", "gankit", "train", "sine", "--set",
                        "viz.palette=rainbow"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120)  # fmt: skip
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "colorblind" in r.stderr


# --- why these colours: dichromat vision simulated -------------------------------------------

# Machado, Oliveira & Fernandes (2009), severity 1, on linear RGB
DICHROMATS = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}  # fmt: skip


def _lab(colour: str, vision: str | None) -> np.ndarray:
    """CIELAB (D65) of a colour as seen with ``vision`` (None: normal colour vision)."""
    c = _rgb(colour) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    if vision is not None:
        linear = np.clip(np.array(DICHROMATS[vision]) @ linear, 0.0, 1.0)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ linear  # fmt: skip
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _delta_e(a: str, b: str, vision: str | None) -> float:
    return float(np.linalg.norm(_lab(a, vision) - _lab(b, vision)))


@pytest.mark.parametrize("vision", [None, *DICHROMATS])
def test_fooled_and_caught_stay_apart_for_dichromats(vision):
    # fooled vs caught is what a frame is about: far apart for every kind of vision
    assert _delta_e(COLORBLIND.fooled, COLORBLIND.caught, vision) > 90
    # real points (faint, under the others) still differ from both
    assert _delta_e(COLORBLIND.real, COLORBLIND.fooled, vision) > 70
    assert _delta_e(COLORBLIND.real, COLORBLIND.caught, vision) > 15


def test_the_seeds_green_and_red_merge_for_deuteranopes():
    """Why the palette exists: the check above fails for the seed's colours."""
    assert _delta_e(SEED.fooled, SEED.caught, "deuteranopia") < 10
    assert _delta_e(SEED.real, SEED.fooled, "protanopia") < 10
