"""gankit compare: the page's contents (names, differing keys, scores with their floors,
one picture per run, curves), that it names no outside resource, that it loads in Chromium
and fits a phone's width, and its one-sentence errors. Runs are written by hand."""

import base64
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
from rich.console import Console
from test_catalog import fake_run

from gankit.compare import (
    MISSING,
    differing_keys,
    flatten,
    load_runs,
    score_grid,
    score_table,
    write_compare,
)
from gankit.compare_page import last_picture
from gankit.errors import UserError


def _with_curves_and_picture(run: Path, colour: tuple[int, int, int], d_loss: float) -> Path:
    rows = [
        {"step": s, "d_loss": d_loss + 0.01 * s, "g_loss": 0.7, "d_real": 0.6, "d_fake": 0.4,
         "fooled": 0.3, "diversity": 0.9, "d_grad_norm": 0.1, "g_grad_norm": 0.2}
        for s in (5, 10, 15, 20)
    ]  # fmt: skip
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    Image.new("RGB", (64, 48), colour).save(run / "snapshots" / "last.png")
    return run


@pytest.fixture
def two_runs(tmp_path) -> list[Path]:
    a = fake_run(tmp_path / "00000-sine-torch", w1=(0.5123, 0.0711), findings=[],
                 overrides=["model.latent_dim=2"])  # fmt: skip
    b = fake_run(tmp_path / "00001-sine-numpy", engine="numpy", w1=(0.3456, 0.0689),
                 findings=["mode_collapse"], overrides=["model.latent_dim=20"])  # fmt: skip
    return [_with_curves_and_picture(a, (200, 30, 30), 0.6),
            _with_curves_and_picture(b, (30, 30, 200), 0.9)]  # fmt: skip


def _images(page: str) -> list[np.ndarray]:
    found = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(b))).convert("RGB")) for b in found]


def test_the_page_holds_what_differs_the_scores_and_a_picture_each(two_runs, tmp_path):
    out = write_compare(two_runs, tmp_path / "compare.html")
    page = out.read_text()
    for name in ("00000-sine-torch", "00001-sine-numpy"):
        assert name in page
    plain = re.sub(r"<wbr>", "", page)
    # the differing keys, with both runs' values, and not the keys they share
    row = re.search(r"<tr><th><code>model\.latent_dim</code></th>(.*?)</tr>", plain)
    assert row and re.findall(r'<td class="num">([^<]*)</td>', row.group(1)) == ["2", "20"]
    assert "<code>train.engine</code>" in plain and "<code>loss.name</code>" not in plain
    # each score beside its own floor
    for value, floor in (("0.5123", "0.0711"), ("0.3456", "0.0689")):
        assert f'<b>{value}</b><span class="floor">real data {floor}</span>' in page
    assert "mode_collapse" in page and "healthy" in page
    # one last picture per run, in the runs' order: the red run's, then the blue run's
    pictures = [im for im in _images(page) if im.shape[:2] == (48, 64)]
    assert [tuple(im[0, 0]) for im in pictures] == [(200, 30, 30), (30, 30, 200)]
    assert len(_images(page)) >= len(pictures) + 5  # the curves, one figure per quantity
    assert "D loss" in page and "Share of generated samples that fool D" in page
    # self-contained: no resource from outside the file (the runs' reports are relative)
    assert not re.search(r"https?:", page)
    assert re.findall(r'(?:src|href)="(?!data:|#)([^"]*)"', page) == []
    # a run's report, where there is one, is linked relative to the page
    (two_runs[0] / "report.html").write_text("<html></html>")
    page = write_compare(two_runs, tmp_path / "compare.html").read_text()
    assert re.findall(r'(?:src|href)="(?!data:|#)([^"]*)"', page) == [
        "00000-sine-torch/report.html"
    ]


def test_score_table_one_column_per_run_with_floors(two_runs):
    runs = load_runs(two_runs, ["latent 2", "latent 20"])
    assert score_grid(runs) == [("Wasserstein-1", [("0.5123", "0.0711"), ("0.3456", "0.0689")])]
    console = Console(width=100, record=True)
    console.print(score_table(runs))
    text = console.export_text()
    assert "latent 2" in text and "latent 20" in text
    assert re.search(r"Wasserstein-1\s*│\s*0\.5123 \(0\.0711\)\s*│\s*0\.3456 \(0\.0689\)", text)


def test_a_run_without_scores_shows_why(two_runs, tmp_path):
    (two_runs[1] / "eval.json").write_text("{torn")
    runs = load_runs(two_runs)
    assert score_grid(runs) == [("Wasserstein-1", [("0.5123", "0.0711"), None])]
    assert runs[1].scores_note == "eval.json unreadable"
    page = write_compare(two_runs, tmp_path / "c.html").read_text()
    assert "eval.json unreadable" in page and MISSING in page


def test_flatten_and_differing_keys():
    assert flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": {}}) == {
        "a.b": 1, "a.c.d": [1, 2], "e": {}}  # fmt: skip

    class R:  # what differing_keys reads of a run
        def __init__(self, config):
            self.config = config

    runs = [R({"m.x": 1, "m.y": [16, 16], "s": "a"}), R({"m.x": 1, "m.y": [32], "t": "b"})]
    assert differing_keys(runs) == [("m.y", ["[16, 16]", "[32]"]), ("s", ["a", MISSING]),
                                    ("t", [MISSING, "b"])]  # fmt: skip


def test_image_runs_show_their_latest_grid(tmp_path):
    run = fake_run(tmp_path / "d", "digits")
    for step in (10, 30, 20):
        Image.new("RGB", (8, 8)).save(run / "snapshots" / f"grid_{step:07d}.png")
    Image.new("RGB", (8, 8)).save(run / "snapshots" / "last.png")
    assert last_picture(run).name == "grid_0000030.png"
    points = fake_run(tmp_path / "p")
    assert last_picture(points) is None
    Image.new("RGB", (8, 8)).save(points / "snapshots" / "last.png")
    assert last_picture(points).name == "last.png"


@pytest.mark.parametrize(
    ("paths", "fragment"),
    [
        (["a"], "two or more run directories and got 1"),
        ([], "got 0"),
        (["a", "nowhere"], "nowhere is not a gankit run directory"),
    ],
)
def test_errors_are_one_sentence(two_runs, tmp_path, paths, fragment):
    resolved = [str(two_runs[0]) if p == "a" else str(tmp_path / p) for p in paths]
    with pytest.raises(UserError, match=fragment) as e:
        write_compare(resolved, tmp_path / "c.html")
    assert str(e.value).count(". ") == 0 and "\n" not in str(e.value)
    with pytest.raises(UserError, match="should end in .html"):
        write_compare(two_runs, tmp_path / "c.png")


def _chromium(*args: str, home: Path) -> str:
    exe = shutil.which("chromium")
    if exe is None:
        pytest.skip("headless Chromium is not installed (Debian package chromium)")
    home.mkdir(exist_ok=True)
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           f"--user-data-dir={home / 'profile'}", "--virtual-time-budget=5000", *args]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "HOME": str(home)})  # fmt: skip
    assert "<body" in r.stdout, r.stderr[-2000:]
    return r.stdout


def test_the_page_loads_and_fits_a_phone(two_runs, tmp_path):
    """Every picture decodes, and in a 390 pixel wide frame nothing sticks out sideways but
    inside the tables' own scroll boxes (headless Chromium's window is at least 500 wide,
    hence the frame)."""
    write_compare(two_runs, tmp_path / "compare.html")
    host = tmp_path / "phone.html"
    host.write_text(
        '<html><body><iframe id="f" src="compare.html" style="width:390px;height:700px;'
        'border:0"></iframe><script>document.getElementById("f").addEventListener("load",'
        "function(){var d=this.contentDocument,w=d.documentElement.clientWidth,out=[];"
        'd.querySelectorAll("body *").forEach(function(e){if(!e.closest(".scroll")&&'
        "e.getBoundingClientRect().right>w+1){out.push(e.tagName)}});"
        "document.body.dataset.wide=String(out.length);"
        "document.body.dataset.ready=d.body.dataset.ready})</script></body></html>"
    )
    dom = _chromium("--allow-file-access-from-files", "--dump-dom", host.as_uri(),
                    home=tmp_path / "chrome")  # fmt: skip
    assert re.search(r'data-ready="yes"', dom), dom[:300]  # every <img> decoded
    assert re.search(r'data-wide="0"', dom), dom[:300]
