"""The lab in a real browser: headless Chromium (/usr/bin/chromium, `make browser`) driven by
Playwright, against the lab's server running in this process on a free port. Skipped when
either is missing. Small networks and data, so the whole module takes seconds."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from gankit.lab.server import create_app
from gankit.lab.session import Session

SMALL = ["data.n=800", "data.holdout=300", "model.g_hidden=[16,16]", "model.d_hidden=[16,16]",
         "train.batch_size=64"]  # fmt: skip


@pytest.fixture
def lab(tmp_path: Path):
    """A lab server on a free port (started from sine, so choosing ring8 changes the data);
    yields its address."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(Session("sine", overrides=SMALL), port=port)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1300, "height": 950})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function("window.labStats && window.labStats.frames > 0", timeout=20_000)
    return page, errors


def _step_above(page, n: int, panel: int = 0) -> None:
    page.wait_for_function(
        f"window.labFrame && window.labFrame.panels[{panel}].step > {n}", timeout=30_000
    )


def _pixels(page, selector: str = ".panel .view") -> np.ndarray:
    shot = page.locator(selector).first.screenshot()
    from io import BytesIO

    from PIL import Image

    return np.asarray(Image.open(BytesIO(shot)).convert("RGB"))


def _panel(page, key: str):
    return page.evaluate(f"window.labFrame.panels[0].{key}")


def test_choose_ring8_play_and_the_canvases_are_drawn(browser, lab) -> None:
    page, errors = _open(browser, lab)
    page.click("#datasets button[data-name=ring8]")
    page.wait_for_function("window.labFrame.panels[0].data === 'ring8'")
    page.click("#play")
    _step_above(page, 150)
    view = _pixels(page)
    colours = {tuple(c) for c in view.reshape(-1, 3)[::7]}
    assert len(colours) > 200  # a heat-map, samples and arrows, not a blank canvas
    # the palette's colours are on it: real orange, and fakes green or red
    near = lambda rgb: np.any(np.abs(view.astype(int) - rgb).sum(axis=2) < 60)  # noqa: E731
    assert near((255, 140, 0)) and (near((44, 160, 44)) or near((214, 39, 40)))
    chart = _pixels(page, ".panel .chart")
    assert (chart < 200).any(axis=2).sum() > 200  # the loss curves
    # the divergence chart: KL's purple and JS's green lines across most of its width (the
    # legend's words in those colours span far less; one line may hide the other in parts)
    divergence = _pixels(page, ".panel .divergence").astype(int)
    kl_js = ((0x7B, 0x3F, 0xA0), (0x2A, 0x8A, 0x6A))
    near_line = [np.abs(divergence - rgb).sum(axis=2) < 90 for rgb in kl_js]
    assert all(near.sum() > 20 for near in near_line)
    assert (near_line[0] | near_line[1]).any(axis=0).sum() > 0.6 * divergence.shape[1]
    assert page.locator(".panel .scores tbody tr").count() >= 3  # live scores and floors
    assert page.evaluate("window.labStats.fps") > 0 and not errors


def test_d_only_moves_the_field_g_only_the_samples(browser, lab) -> None:
    page, errors = _open(browser, lab)
    page.click("#step")
    _step_above(page, 0)

    def after(button: str) -> tuple[list, list]:
        before = page.evaluate("window.labFrame.ack")
        page.click(button)
        page.wait_for_function(f"window.labFrame.ack > {before}")
        return _panel(page, "fake"), _panel(page, "field")

    fake0, field0 = _panel(page, "fake"), _panel(page, "field")
    fake1, field1 = after("#d_step")
    assert fake1 == fake0 and field1 != field0
    fake2, field2 = after("#g_step")
    assert fake2 != fake1 and field2 == field1
    assert not errors


def test_an_empty_widths_box_is_no_hidden_layer(browser, lab) -> None:
    page, errors = _open(browser, lab)
    for key in ("model.g_hidden", "model.d_hidden"):
        page.fill(f"[data-key='{key}']", "")
        page.dispatch_event(f"[data-key='{key}']", "change")
    page.wait_for_function("window.labFrame.panels[0].controls['model.d_hidden'].length === 0")
    assert _panel(page, "controls")["model.g_hidden"] == []
    page.click("#play")
    _step_above(page, 60)  # it trains
    box = page.locator("[data-key='model.g_hidden']")
    assert box.input_value() == "" and "none" in box.get_attribute("placeholder")
    assert not errors and page.evaluate("window.labStats.errors") == 0


def test_drawn_points_become_the_data(browser, lab) -> None:
    page, _ = _open(browser, lab)
    page.click("#drawmode")
    box = page.locator(".panel .view").first.bounding_box()
    for i in range(8):
        page.mouse.click(box["x"] + 80 + 40 * i, box["y"] + 120 + 25 * (i % 3))
    drawn = page.evaluate("state.drawn")
    assert len(drawn) == 8
    page.click("#usedrawn")
    page.wait_for_function("window.labFrame.panels[0].data === 'points'")
    real = _panel(page, "real")  # the training points: the drawn ones, one held out
    assert len(real) == 7
    assert all(np.abs(np.array(drawn) - p).sum(axis=1).min() < 1e-3 for p in real)


def test_too_few_drawn_points_and_a_malformed_upload_get_a_message(
    browser, lab, tmp_path: Path
) -> None:
    page, _ = _open(browser, lab)
    page.click("#play")
    _step_above(page, 20)
    page.click("#drawmode")
    box = page.locator(".panel .view").first.bounding_box()
    page.mouse.click(box["x"] + 100, box["y"] + 100)
    page.click("#usedrawn")
    page.wait_for_selector("#message:not([hidden])")
    assert "at least 2" in page.inner_text("#message")
    bad = tmp_path / "mine.csv"
    bad.write_text("x,y\n1,2\n3,oops\n")
    page.set_input_files("#upload", str(bad))
    page.wait_for_function("document.querySelector('#message').textContent.includes('mine.csv')")
    step = _panel(page, "step")
    _step_above(page, step + 20)  # training carries on, with its data
    assert _panel(page, "data") == "sine"


def test_side_by_side_trains_both(browser, lab) -> None:
    page, _ = _open(browser, lab)
    page.select_option("#compare", "loss")
    page.wait_for_function("window.labFrame.panels.length === 2")
    page.click("#play")
    _step_above(page, 40, panel=1)
    steps = page.evaluate("window.labFrame.panels.map(p => p.step)")
    assert steps[0] == steps[1] > 40  # in lockstep
    labels = page.locator(".panel .label").all_inner_texts()
    assert "minimax" in labels[0] and "bce" in labels[1]
    assert page.locator(".panel .view").count() == 2


def test_save_as_run_from_the_page(browser, lab, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the run goes to ./runs/
    page, _ = _open(browser, lab)
    page.fill("[data-key='train.d_steps']", "2")
    page.dispatch_event("[data-key='train.d_steps']", "change")
    page.click("#step")
    page.click("#save")
    page.wait_for_function(
        "document.querySelector('#message').textContent.includes('saved the run') || "
        "window.labStats.errors > 0",
        timeout=60_000,
    )
    assert "saved the run" in page.inner_text("#message")
    from gankit.evaluate import evaluate
    from gankit.run import RunDir

    (run,) = (tmp_path / "runs").iterdir()
    assert RunDir.open(run).config().train.d_steps == 2
    assert (run / "training.gif").is_file() and (run / "report.html").is_file()
    assert "w1" in evaluate(RunDir.open(run))["scores"]


def test_at_phone_width_the_page_fits_and_the_gan_comes_first(browser, lab) -> None:
    """390 x 844, a phone held upright: nothing wider than the screen (no sideways
    scrolling), the view on the first screen and drawn, Play in reach of a thumb; three
    panels side by side still fit, one above the other."""
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(lab)
    page.wait_for_function("window.labStats && window.labStats.frames > 0", timeout=20_000)
    fits = "document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate("window.innerWidth") == 390 and page.evaluate(fits)
    play = page.locator("#play").bounding_box()
    assert play["y"] >= 0 and play["y"] + play["height"] <= 844 and play["height"] >= 24
    page.tap("#play")
    _step_above(page, 60)
    view = page.locator(".panel .view").first.bounding_box()
    assert view["x"] >= 0 and view["x"] + view["width"] <= 390 and view["width"] > 300
    assert view["y"] + view["height"] / 2 < 844  # on the first screen, not below the controls
    assert len({tuple(c) for c in _pixels(page).reshape(-1, 3)[::7]}) > 200  # drawn
    page.select_option("#compare", "latent")
    page.wait_for_function("window.labFrame.panels.length === 3")
    page.wait_for_function(
        "window.labStats.frames > 0 && document.querySelectorAll('.panel').length === 3"
    )
    assert page.evaluate(fits)
    boxes = [page.locator(".panel").nth(i).bounding_box() for i in range(3)]
    assert all(b["x"] >= 0 and b["x"] + b["width"] <= 390 for b in boxes)
    page.close()
