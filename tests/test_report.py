"""report.html: one self-contained page per run, made from real tiny runs and opened in a
headless Chromium to check that it renders, that its pictures decode and that its JS runs
without console errors (and that those checks do catch a broken page)."""

import html
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gankit import training
from gankit.config import load_config
from gankit.outputs import finish
from gankit.report import write_report
from gankit.report.pictures import (
    MAX_FRAMES,
    MAX_HEIGHT,
    MAX_WIDTH,
    _slider_side,
    slider_frames,
    thin,
)
from gankit.viz.images import image_grid

POINTS = [
    "model.g_hidden=[16,16]", "model.d_hidden=[16,16]", "train.batch_size=32",
    "train.steps=40", "train.log_every=5", "train.snapshot_every=10", "viz.grid=16",
    "viz.points=100", "eval.n_samples=300", "eval.w1_points=300",
]  # fmt: skip
DIGITS = [
    "train.steps=30", "train.log_every=10", "train.snapshot_every=10", "model.g_hidden=[32]",
    "model.d_hidden=[32]", "eval.n_samples=200",
]  # fmt: skip
SECTION_IDS = ["verdict", "findings", "scores", "curves", "pictures", "snapshots", "config"]
D_BLUE = (31, 119, 180)  # D's curves (gankit.viz.curves.D_COLOR)


@pytest.fixture(scope="module")
def point_run(tmp_path_factory) -> tuple[Path, str]:
    """A finished ring8 run, and its report from before finish() (not evaluated, no GIF)."""
    run = training.start(
        load_config("ring8", POINTS), tmp_path_factory.mktemp("rep") / "ring8", progress=False
    )
    unfinished = write_report(run.path).read_text()
    finish(run)
    return run.path, unfinished


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> Path:
    run = training.start(
        load_config("digits", DIGITS), tmp_path_factory.mktemp("rep") / "digits", progress=False
    )
    finish(run)
    return run.path


@pytest.fixture(scope="module")
def reports(point_run, digits_run) -> dict[str, Path]:
    return {"points": write_report(point_run[0]), "images": write_report(digits_run)}


def test_unevaluated_unfinished_run_says_what_is_missing(point_run):
    _, page = point_run
    assert "Not evaluated yet: <code>gankit eval " in page
    assert 'type="range"' in page  # the snapshots exist already
    assert '<img class="anim"' in page  # and the animation plays them, GIF or not


@pytest.mark.parametrize("kind", ["points", "images"])
def test_report_is_self_contained_and_in_order(reports, kind):
    path = reports[kind]
    assert path.name == "report.html" and path.is_file()
    page = path.read_text()
    assert "http://" not in page and "https://" not in page
    for ref in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert ref.startswith(("data:", "#")), ref[:80]
    positions = [page.index(f'id="{sid}"') for sid in SECTION_IDS]
    assert positions == sorted(positions)
    assert '<img class="anim' in page  # the training animation, from the slider's frames
    assert "Real beside generated at the last snapshot" in page
    assert "<details" in page and "&quot;preset&quot;" in page  # the escaped config JSON
    assert "Every score with its protocol" in page and "real-data floor" in page
    assert "What to try" in page and "<code>gankit train " in page  # a tiny run has findings


NEW_STATISTICS = ("diversity", "drift", "modes", "mode_kl", "high_quality", "classes",
                  "class_kl", "layer_grads")  # fmt: skip
NEW_CAPTIONS = ("Gradient norm of each layer", "Diversity of G", "Modes or digit classes")


def test_new_statistics_are_plotted_when_present(reports, digits_run, tmp_path):
    for page in (reports["points"].read_text(), reports["images"].read_text()):
        for caption in NEW_CAPTIONS:
            assert caption in page
    # a run from before these statistics were logged: the panels are left out, not empty
    old = tmp_path / "old"
    shutil.copytree(digits_run, old)
    rows = [json.loads(line) for line in (old / "metrics.jsonl").read_text().splitlines()]
    rows = [{k: v for k, v in r.items() if k not in NEW_STATISTICS} for r in rows]
    (old / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    page = write_report(old).read_text()
    assert "Losses" in page
    for caption in NEW_CAPTIONS:
        assert caption not in page


def test_text_from_the_run_is_escaped(digits_run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(digits_run, copy)
    config = json.loads((copy / "config.json").read_text())
    config["meta"]["device"] = "<b>cuda</b>"
    (copy / "config.json").write_text(json.dumps(config))
    page = write_report(copy).read_text()
    assert "&lt;b&gt;cuda&lt;/b&gt;" in page and "<b>cuda</b>" not in page


def test_header_says_the_device_and_the_maths_it_ran_in(digits_run, reports, tmp_path):
    """train.precision = auto resolves per machine: the header says what it came to (the
    run's config.json meta), and a run from before that was recorded shows its device only."""
    assert "<dd>cpu · float32</dd>" in reports["images"].read_text()
    copy = tmp_path / "old"
    shutil.copytree(digits_run, copy)
    config = json.loads((copy / "config.json").read_text())
    del config["meta"]["precision"]
    (copy / "config.json").write_text(json.dumps(config))
    assert "<dd>cpu</dd>" in write_report(copy).read_text()


@pytest.mark.parametrize(
    "hw, n, factor",
    [((105, 80), 16, 2), ((8, 8), 64, 13), ((210, 160), 16, 1), ((64, 64), 64, 1)],
)
def test_slider_grids_are_enlarged_by_whole_pixels_within_the_page(hw, n, factor):
    fake = np.random.default_rng(0).integers(0, 256, (n, *hw, 3), dtype=np.uint8)
    grid = image_grid(fake, min_side=_slider_side(hw, n))
    cols = rows = int(np.ceil(np.sqrt(n)))
    assert grid.shape[:2] == (rows * (hw[0] * factor + 2) + 2, cols * (hw[1] * factor + 2) + 2)
    assert grid.shape[1] <= MAX_WIDTH and grid.shape[0] + 28 <= MAX_HEIGHT
    # each image pixel became a factor x factor block of the same colour
    block = grid[2 : 2 + factor, 2 : 2 + factor]
    np.testing.assert_array_equal(block, np.broadcast_to(fake[0, 0, 0], block.shape))


def test_image_slider_frames_are_the_enlarged_grids(digits_run):
    from gankit.report.runinfo import load_run

    frames, n_snaps = slider_frames(load_run(digits_run))
    assert [step for step, _ in frames] == [0, 10, 20, 30] and n_snaps == 4
    last = np.asarray(Image.open(io.BytesIO(frames[-1][1])))
    # DIGITS shows viz.images (64) 8x8 digits: 13x enlarged, the title band above
    assert last.shape[1] == 8 * (8 * 13 + 2) + 2 and last.shape[0] > 8 * (8 * 13 + 2)


def test_slider_frames_are_thinned_keeping_first_and_last():
    kept = thin(list(range(500)), MAX_FRAMES)
    assert len(kept) == MAX_FRAMES and kept[0] == 0 and kept[-1] == 499
    assert thin([1, 2, 3], MAX_FRAMES) == [1, 2, 3]


# --- size --------------------------------------------------------------------------------------

PAGE_BASE = 40_000  # bytes: a page's HTML, CSS, JS, tables and config
MEAN_PICTURE = 20_000  # bytes (base64): what a run's plots and frames take on average
PAGE_LIMIT = 1_500_000  # bytes: the most a page may weigh, however long the run
MAX_PICTURE = 30_000  # bytes (base64): the most one of them may take (the old GIF: 75-470 kB)


def _pictures(page: str) -> list[str]:
    return re.findall(r'src="data:image/[a-z]+;base64,([^"]*)"', page)


def _page_steps(page: str) -> list[int]:
    return [int(s.replace(",", "")) for s in re.findall(r'data-step="([\d,]+)"', page)]


def _snapshot_steps(run: Path) -> list[int]:
    return sorted(int(p.stem.split("_")[1]) for p in (run / "snapshots").glob("step_*.npz"))


@pytest.mark.parametrize("kind", ["points", "images"])
def test_page_weighs_what_it_shows_and_holds_each_picture_once(reports, kind):
    """The old page embedded the training GIF beside the slider's frames, the same pictures
    twice at a GIF's size; now the animation plays the slider's frames, so every picture is
    in the page once and the page weighs in proportion to the pictures it shows, while the
    slider still reaches every snapshot (up to MAX_FRAMES of them, evenly spread)."""
    page = reports[kind].read_text()
    pictures = _pictures(page)
    assert len(pictures) == len(set(pictures))
    assert max(len(p) for p in pictures) <= MAX_PICTURE
    assert len(page.encode()) <= PAGE_BASE + MEAN_PICTURE * len(pictures)
    assert _page_steps(page) == thin(_snapshot_steps(reports[kind].parent), MAX_FRAMES)


def _long_copy(run: Path, dest: Path, n: int) -> list[int]:
    """A copy of ``run`` with ``n`` snapshots (its own, repeated under new step numbers)."""
    shutil.copytree(run, dest)
    snaps = sorted((dest / "snapshots").glob("step_*.npz"))
    for p in snaps:
        p.unlink()
    steps = [10 * i for i in range(n)]
    for i, step in enumerate(steps):
        shutil.copy(run / "snapshots" / snaps[i % len(snaps)].name,
                    dest / "snapshots" / f"step_{step:07d}.npz")  # fmt: skip
    (dest / "training.gif").unlink(missing_ok=True)
    return steps


def test_a_long_run_shows_max_frames_snapshots_evenly_spread(digits_run, tmp_path):
    steps = _long_copy(digits_run, tmp_path / "long", 90)
    page = write_report(tmp_path / "long").read_text()
    shown = _page_steps(page)
    assert len(shown) == MAX_FRAMES and shown == thin(steps, MAX_FRAMES)
    assert shown[0] == 0 and shown[-1] == steps[-1]
    assert "60 of the run's 90 snapshots, evenly spread" in html.unescape(page)
    assert len(page.encode()) <= min(PAGE_LIMIT, PAGE_BASE + MEAN_PICTURE * len(_pictures(page)))


def test_frames_over_the_byte_budget_are_thinned_evenly(digits_run, tmp_path, monkeypatch):
    """Frames that together outweigh FRAMES_BUDGET: fewer of them, still evenly spread over
    the whole run, the first and the last kept."""
    from gankit.report import pictures
    from gankit.report.runinfo import load_run

    steps = _long_copy(digits_run, tmp_path / "long", 40)
    frames, _ = slider_frames(load_run(tmp_path / "long"))
    one = max(len(b) for _, b in frames)
    monkeypatch.setattr(pictures, "FRAMES_BUDGET", 8 * one)
    thinned, n_snaps = slider_frames(load_run(tmp_path / "long"))
    kept = [step for step, _ in thinned]
    assert n_snaps == 40 and 2 < len(kept) <= 8
    assert sum(len(b) for _, b in thinned) <= 8 * one
    assert kept[0] == 0 and kept[-1] == steps[-1]
    gaps = np.diff(kept)
    assert gaps.max() - gaps.min() <= 10  # evenly: gaps differ by one snapshot at most


# --- in a browser ----------------------------------------------------------------------------


def _chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium")
    if exe is None:
        pytest.skip("headless Chromium is not installed (Debian package chromium)")
    home = tmp / "chrome-home"
    home.mkdir(exist_ok=True)
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args]
    env = {**os.environ, "HOME": str(home)}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


def _load(page: Path, tmp: Path, screenshot: Path | None = None) -> tuple[str, list[str]]:
    """The DOM after the page's scripts ran, and the page's console messages (Chromium
    logs each as a line with "CONSOLE" at verbose level 1); with ``screenshot``, also a
    1200 x 3000 picture of the page, taken in the same browser run."""
    shot = [f"--screenshot={screenshot}", "--window-size=1200,3000"] if screenshot else []
    r = _chromium(tmp, "--enable-logging=stderr", "--v=1", "--virtual-time-budget=5000",
                  *shot, "--dump-dom", page.resolve().as_uri())  # fmt: skip
    assert "<body" in r.stdout, r.stderr[-2000:]
    return r.stdout, [line for line in r.stderr.splitlines() if ":CONSOLE" in line]


def _ready(dom: str) -> str | None:
    m = re.search(r'<body[^>]*data-ready="([a-z]+)"', dom)
    return m.group(1) if m else None


@pytest.mark.parametrize("kind", ["points", "images"])
def test_page_loads_cleanly_in_chromium(reports, kind, tmp_path):
    shot = tmp_path / "shot.png"
    dom, console = _load(reports[kind], tmp_path, shot)
    assert console == []
    assert _ready(dom) == "yes"  # every <img> decoded (naturalWidth > 0)
    n_images = int(re.search(r'data-images="(\d+)"', dom).group(1))
    assert n_images >= 6  # curves, GIF, real beside generated, slider frames

    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3).astype(np.int32)
    colours = np.unique(pixels[:, 0] << 16 | pixels[:, 1] << 8 | pixels[:, 2])
    assert len(colours) > 200  # text, plots and pictures, not a blank page
    near_blue = (np.abs(pixels - D_BLUE) <= 20).all(axis=1).sum()
    assert near_blue > 100  # D's curve in the training plots is drawn


def test_browser_checks_catch_a_broken_page(reports, tmp_path):
    """The two checks above must be able to fail: a JS error and an undecodable picture."""
    page = reports["points"].read_text()
    broken = re.sub(r'src="data:image/png;base64,[^"]*"', 'src="data:image/png;base64,AAAA"',
                    page, count=1)  # fmt: skip
    broken = broken.replace("</body>", "<script>noSuchFunction();</script></body>")
    path = tmp_path / "broken.html"
    path.write_text(broken)
    dom, console = _load(path, tmp_path)
    assert any("noSuchFunction" in line for line in console)
    assert _ready(dom) == "broken"
