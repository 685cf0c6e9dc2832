"""Every preset loads, and every image preset trains a few steps of its own networks on CPU.

Game frames are replaced by random frames of the right shape, so no game is played here
(tests/test_data_atari.py plays the game)."""

import numpy as np
import pytest
from PIL import Image

from gankit import training
from gankit.config import load_config, preset_names, preset_summary

IMAGE_PRESETS = [
    "breakout",
    "breakout-wgan",
    "breakout-fast",
    "dcgan",
    "digits",
    "stacked-digits",
    "folder",
]
FEW = [
    "train.steps=2",
    "train.batch_size=8",
    "train.log_every=1",
    "train.snapshot_every=2",
    "train.checkpoint_every=2",
    "viz.images=4",
]


def test_every_preset_loads_and_says_what_it_is_for():
    for name in preset_names():
        cfg = load_config(name)
        assert cfg.preset == name
        assert len(preset_summary(name)) > 20


@pytest.fixture
def fake_game(monkeypatch):
    import gankit.data.atari as atari

    frames = np.random.default_rng(0).integers(0, 256, (60, 210, 160, 3), dtype=np.uint8)
    monkeypatch.setattr(atari, "load_frames", lambda *a, **k: frames)


@pytest.mark.parametrize("preset", IMAGE_PRESETS)
def test_image_preset_trains_a_few_steps(preset, fake_game, tmp_path):
    for i in range(12):
        img = np.random.default_rng(i).integers(0, 256, (70, 60, 3), dtype=np.uint8)
        Image.fromarray(img).save(tmp_path / f"{i}.png")
    sets = [*FEW, "data.n=40", "data.holdout=10"] if preset != "folder" else FEW
    if preset == "folder":
        sets = [*sets, f"data.path={tmp_path}"]
    cfg = load_config(preset, sets)
    run = training.start(cfg, tmp_path / "run", progress=False)
    rows = [m for m in run.metrics() if "d_loss" in m]
    assert len(rows) == 2 and all(np.isfinite(m["d_loss"]) for m in rows)
    assert (run.snapshots / "step_0000002.png").is_file()
    assert (run.snapshots / "grid_0000002.png").is_file()
