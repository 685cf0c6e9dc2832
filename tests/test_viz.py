"""Pictures from snapshots: frame size and colours, GIF frame counts, curves, missing data."""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

from gankit.errors import UserError
from gankit.viz.curves import plot_curves
from gankit.viz.gif import side_by_side_gif, training_gif, write_gif
from gankit.viz.points import load_npz, render_frame, save_png

H, W = 560, 640
LEGEND_ROWS = 40  # the legend sits below the axes and always shows a green marker


def _snapshot(step: int, fake: np.ndarray, score: np.ndarray, field: np.ndarray | None) -> dict:
    snap = {
        "step": np.int64(step),
        "fake": fake.astype(np.float32),
        "fake_score": score.astype(np.float32),
        "d_loss": np.float64(1.3),
        "g_loss": np.float64(0.7),
    }
    if field is not None:
        snap["field"] = field.astype(np.float32)
    return snap


def _real_2d(rng: np.random.Generator) -> np.ndarray:
    # A tight cluster, so the faint real points pile up into clearly orange pixels.
    return rng.normal([-1.5, -1.5], 0.1, (600, 2)).astype(np.float32)


def _fake_2d(rng: np.random.Generator, n: int = 80) -> np.ndarray:
    return rng.normal([1.0, 1.0], 0.5, (n, 2))


def _write_run(run: Path, real: np.ndarray, extent: list[float], snaps: list[dict]) -> Path:
    (run / "snapshots").mkdir(parents=True)
    np.savez(run / "snapshots" / "real.npz", real=real, extent=np.array(extent, np.float32))
    for snap in snaps:
        np.savez(run / "snapshots" / f"step_{int(snap['step']):07d}.npz", **snap)
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("runs")
    field2 = np.tile(np.linspace(0.0, 1.0, 24), (20, 1))
    snaps2 = [
        _snapshot(s, _fake_2d(rng), rng.uniform(0, 1, 80), field2)
        for s in (0, 100, 1000)  # 1000 after 100: numeric, not lexical, order matters
    ]
    run2 = _write_run(root / "two_d", _real_2d(rng), [-3, 3, -3, 3], snaps2)

    real1 = rng.normal(4.0, 1.25, (500, 1)).astype(np.float32)
    snaps1 = [
        _snapshot(s, rng.normal(2.0 + s / 100, 1.0, (100, 1)), rng.uniform(0, 1, 100), field1)
        for s, field1 in ((0, np.linspace(0, 1, 50)), (50, np.linspace(1, 0, 50)))
    ]
    run1 = _write_run(root / "one_d", real1, [-1, 9], snaps1)
    return {"2d": run2, "1d": run1}


def _masks(img: np.ndarray) -> dict[str, np.ndarray]:
    r, g, b = (img[..., i].astype(int) for i in range(3))
    return {
        "green": (g - np.maximum(r, b) > 60),
        "red": (r - np.maximum(g, b) > 80),
        "orange": (r > 200) & (r - g > 40) & (g - b > 40),
    }


def test_frame_is_rgb_uint8_of_fixed_size(runs: dict[str, Path]) -> None:
    for key in ("2d", "1d"):
        real = load_npz(runs[key] / "snapshots" / "real.npz")
        snap = load_npz(runs[key] / "snapshots" / f"step_{0:07d}.npz")
        img = render_frame(real["real"], real["extent"], snap, title_prefix="run a")
        assert img.shape == (H, W, 3)
        assert img.dtype == np.uint8


def test_frame_for_more_than_two_dimensions() -> None:
    rng = np.random.default_rng(1)
    snap = _snapshot(5, rng.normal(0, 1, (50, 4)), rng.uniform(0, 1, 50), None)
    img = render_frame(rng.normal(0, 1, (100, 4)), np.array([-3, 3, -3, 3]), snap)
    assert img.shape == (H, W, 3)


def test_2d_frame_colours_follow_the_scores() -> None:
    rng = np.random.default_rng(2)
    real, fake = _real_2d(rng), _fake_2d(rng, 200)
    extent = np.array([-3, 3, -3, 3], np.float32)
    field = np.full((16, 16), 0.3)
    split = np.where(np.arange(200) % 2 == 0, 0.9, 0.1)

    mixed = _masks(render_frame(real, extent, _snapshot(0, fake, split, field))[:-LEGEND_ROWS])
    assert mixed["green"].sum() > 200
    assert mixed["red"].sum() > 200
    assert mixed["orange"].sum() > 50

    all_caught = _snapshot(0, fake, np.full(200, 0.2), field)
    caught = _masks(render_frame(real, extent, all_caught)[:-LEGEND_ROWS])
    assert caught["green"].sum() == 0
    assert caught["red"].sum() > 200


def test_training_gif_has_one_frame_per_snapshot(runs: dict[str, Path]) -> None:
    gif = training_gif(runs["2d"])
    assert gif == runs["2d"] / "training.gif"
    frames = iio.imread(gif, index=None)
    assert frames.shape[:3] == (3, H, W)
    assert iio.immeta(gif).get("loop") == 0
    last = np.asarray(Image.open(runs["2d"] / "snapshots" / "last.png").convert("RGB"))
    assert last.shape == (H, W, 3)


def test_write_gif_reads_back_every_frame(tmp_path: Path) -> None:
    frames = [np.full((20, 30, 3), v, np.uint8) for v in (0, 80, 160, 240)]
    path = write_gif(frames, tmp_path / "g.gif", fps=5)
    back = iio.imread(path, index=None)
    assert back.shape[:3] == (4, 20, 30)
    assert abs(int(back[2, 0, 0, 0]) - 160) < 8


def test_side_by_side_width_is_sum_of_panels(runs: dict[str, Path], tmp_path: Path) -> None:
    out = side_by_side_gif([runs["2d"], runs["1d"]], ["2-D", "1-D"], tmp_path / "sweep.gif")
    frames = iio.imread(out, index=None)
    # 3 snapshots vs 2: the shorter run holds its last frame, so the longer one sets the length
    assert frames.shape[:3] == (3, H, 2 * W)
    png = np.asarray(Image.open(tmp_path / "sweep.png").convert("RGB"))
    assert png.shape == (H, 2 * W, 3)


def test_side_by_side_needs_one_label_per_run(runs: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(UserError):
        side_by_side_gif([runs["2d"], runs["1d"]], ["only one"], tmp_path / "x.gif")


def test_curves_png_from_messy_metrics(tmp_path: Path) -> None:
    rows = [
        {"step": s, "d_loss": 1.0 + s / 100, "g_loss": 0.7, "d_real": 0.8, "d_fake": 0.3}
        | {"fooled": 0.1, "g_grad_norm": 2.0, "d_grad_norm": 0.5}
        for s in range(0, 100, 10)
    ]
    rows[3]["d_loss"] = None  # a NaN, serialised as null
    rows[4]["g_grad_norm"] = 0.0  # cannot sit on a log axis
    rows[5] = {"step": 50, "eval": {"w2": 0.1}, "note": "text"}
    lines = [json.dumps(r) for r in rows] + ["", '{"step": 100, "d_lo']
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines))
    out = plot_curves(tmp_path)
    assert out == tmp_path / "curves.png"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(out) as im:
        im.verify()


def test_curves_without_known_keys_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 1, "lr": 0.1}) + "\n")
    with pytest.raises(UserError):
        plot_curves(tmp_path)


def test_no_snapshots_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "snapshots").mkdir()
    with pytest.raises(UserError, match="no snapshots"):
        training_gif(tmp_path)
    with pytest.raises(UserError):
        training_gif(tmp_path / "missing")


def test_save_png_round_trip(tmp_path: Path) -> None:
    img = np.zeros((10, 12, 3), np.uint8)
    img[2, 3] = (255, 140, 0)
    path = save_png(img, tmp_path / "sub" / "a.png")
    assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), img)
