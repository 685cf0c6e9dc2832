"""report.html in a real browser at a phone's width (390 px) and a laptop's (1280 px): nothing
scrolls sideways, no table, picture or code block is wider than the screen, tables stay
readable, and the training animation plays the slider's frames. Headless Chromium
(/usr/bin/chromium, `make browser`) driven by Playwright; skipped when either is missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# the tiny runs and their reports, built once for this module too
from test_report import digits_run, point_run, reports  # noqa: F401

VIEWPORTS = {390: 844, 1280: 900}  # width: height (an iPhone 14, a laptop)
MIN_CELL = 60  # px: a table cell narrower than this must hold its text on one line
MIN_FONT = 11  # px: the smallest text a table may use

# Every element that reaches past the viewport's edges, unless an ancestor clips or scrolls
# it inside its own box (a code block's long lines); and every table, picture and code
# block wider than the viewport, whatever holds it.
LAYOUT_JS = """(limits) => {
  const MIN_CELL = limits.minCell, MIN_FONT = limits.minFont;
  const W = window.innerWidth, out = [], wide = [];
  function clipped(el) {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (["auto", "scroll", "hidden"].includes(getComputedStyle(a).overflowX)) return true;
    }
    return false;
  }
  function name(el) { return el.tagName.toLowerCase() + (el.className ? "." + el.className : ""); }
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if ((r.left < -0.5 || r.right > W + 0.5) && !clipped(el)) out.push(name(el));
    if (el.matches("table, img, svg, canvas, pre") && r.width > W + 0.5) wide.push(name(el));
  }
  // a readable cell: its content stays inside it, its text is not tiny, and a narrow one
  // is not a column of broken words
  const unreadable = [];
  for (const td of document.querySelectorAll("td")) {
    const r = td.getBoundingClientRect();
    if (r.width === 0) continue;
    const text = document.createRange();
    text.selectNodeContents(td);
    const lines = new Set(Array.from(text.getClientRects()).map((q) => Math.round(q.top)));
    if (td.scrollWidth > td.clientWidth + 1 || parseFloat(getComputedStyle(td).fontSize) < MIN_FONT
        || (r.width < MIN_CELL && lines.size > 1)) unreadable.push(td.textContent.slice(0, 40));
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: W,
          outside: out.slice(0, 20), wide: wide, unreadable: unreadable};
}"""
LIMITS = {"minCell": MIN_CELL, "minFont": MIN_FONT}


def _open(browser, page_path: Path, width: int):
    page = browser.new_page(viewport={"width": width, "height": VIEWPORTS[width]})
    page.goto(page_path.resolve().as_uri())
    page.wait_for_function("document.body.dataset.ready")
    return page


@pytest.mark.parametrize("width", sorted(VIEWPORTS))
@pytest.mark.parametrize("kind", ["points", "images"])
def test_page_fits_the_screen(browser, reports, kind, width, tmp_path):  # noqa: F811
    page = _open(browser, reports[kind], width)
    try:
        assert page.evaluate("document.body.dataset.ready") == "yes"
        # open every <details> (the config's code block, the protocols' sub-tables) so that
        # they are measured too
        page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
        layout = page.evaluate(LAYOUT_JS, LIMITS)
        shot = tmp_path / f"{kind}-{width}.png"
        page.screenshot(path=str(shot), full_page=True)
    finally:
        page.close()
    assert layout["scrollWidth"] <= layout["innerWidth"] == width
    assert layout["outside"] == [] and layout["wide"] == []
    assert layout["unreadable"] == []  # at 390 px the protocol table's rows become cards
    picture = Image.open(shot)
    assert picture.width == width  # the full-page screenshot holds nothing to the right
    pixels = np.asarray(picture.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 200  # text and pictures, not blank


def test_layout_check_catches_a_page_wider_than_a_phone(browser, reports, tmp_path):  # noqa: F811
    """The check above must be able to fail: a picture with a fixed width over 390 px."""
    broken = (
        reports["points"]
        .read_text()
        .replace("</style>", "</style><style>img { max-width:none !important; }</style>", 1)
    )
    path = tmp_path / "wide.html"
    path.write_text(broken)
    page = _open(browser, path, 390)
    try:
        layout = page.evaluate(LAYOUT_JS, LIMITS)
    finally:
        page.close()
    assert layout["scrollWidth"] > 390
    assert any(name.startswith("img") for name in layout["wide"])


ANIM_STATE = """() => {
  const img = document.querySelector("img.anim");
  const i = Array.from(document.querySelectorAll("#snapshots .frames img"))
    .findIndex((f) => f.src === img.src);
  return i;
}"""


@pytest.mark.parametrize("kind", ["points", "images"])
def test_animation_plays_the_slider_frames_and_pauses_on_a_click(browser, reports, kind):  # noqa: F811
    """The animation shows the slider's own frames (an index into them, never -1: no other
    picture), moves through them, and a click stops it."""
    page = _open(browser, reports[kind], 1280)
    try:
        n_frames = page.evaluate("document.querySelectorAll('#snapshots .frames img').length")
        ms = int(page.get_attribute("img.anim", "data-ms"))
        seen = set()
        loop = n_frames * ms + 1500  # ms: once through, with the hold on the last frame
        for _ in range(3 * loop // (ms // 2)):  # three loops' time, however slow the machine
            seen.add(page.evaluate(ANIM_STATE))
            if len(seen) >= 3:
                break
            page.wait_for_timeout(ms // 2)
        page.click("img.anim")
        paused = page.evaluate(ANIM_STATE)
        page.wait_for_timeout(3 * ms + 1600)  # past the longer hold on the last frame too
        still = page.evaluate(ANIM_STATE)
    finally:
        page.close()
    assert n_frames >= 4 and -1 not in seen and len(seen) >= 3
    assert paused == still
