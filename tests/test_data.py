"""load_data: every data name gives the arrays the engines expect, split train / held out."""

import numpy as np
import pytest
from PIL import Image

from gankit.config import load_config
from gankit.data import ImageData, load_data
from gankit.data.toy import PointData
from gankit.errors import UserError


def _data(preset: str, *sets: str, seed: int = 0):
    return load_data(load_config(preset, list(sets)).data, seed, progress=False)


def test_points_stay_points():
    d = _data("ring8")
    assert isinstance(d, PointData) and d.train.dtype == np.float32


def test_digits_keep_a_fifth_aside():
    d = _data("digits")
    assert isinstance(d, ImageData)
    assert d.train.shape[1:] == (8, 8, 1) and d.train.dtype == np.uint8
    assert len(d.train) + len(d.holdout) == 1797 and len(d.holdout) == 1797 // 5
    # no image is both trained on and held out (rows are distinct images of sklearn's set)
    train = {x.tobytes() for x in d.train}
    assert sum(x.tobytes() in train for x in d.holdout) <= 5  # sklearn has a few duplicates


def test_digits_in_colour_and_larger():
    d = _data("digits", "data.channels=3", "data.size=[16,16]")
    assert d.train.shape[1:] == (16, 16, 3)


def test_stacked_digits_sizes_and_seed():
    a = _data("stacked-digits", "data.n=300", "data.holdout=50")
    b = _data("stacked-digits", "data.n=300", "data.holdout=50")
    c = _data("stacked-digits", "data.n=300", "data.holdout=50", seed=1)
    assert a.train.shape == (300, 8, 8, 3) and a.holdout.shape == (50, 8, 8, 3)
    np.testing.assert_array_equal(a.train, b.train)
    assert not np.array_equal(a.train, c.train)


def test_folder_of_images(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(10):
        img = rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)
        Image.fromarray(img).save(tmp_path / f"{i}.png")
    d = _data("folder", f"data.path={tmp_path}", "data.size=[16,16]")
    assert d.train.shape == (8, 16, 16, 3) and d.holdout.shape == (2, 16, 16, 3)


def test_too_few_images_is_a_clear_error(tmp_path):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "one.png")
    with pytest.raises(UserError, match="at least 5"):
        _data("folder", f"data.path={tmp_path}")


@pytest.mark.parametrize("name", ["folder", "array"])
def test_a_path_is_required(name):
    with pytest.raises(UserError, match="needs data.path"):
        _data("folder", f"data.name={name}")


def test_atari_frames_are_squashed_not_cropped(monkeypatch):
    import gankit.data.atari as atari

    frames = np.zeros((20, 210, 160, 3), np.uint8)
    frames[:, :10] = 255  # the score band at the top
    frames[:, -10:] = 128  # the paddle band at the bottom
    monkeypatch.setattr(atari, "load_frames", lambda game, n, *a, **k: frames[:n])
    d = _data("breakout-fast", "data.n=15", "data.holdout=5")
    assert d.train.shape == (15, 105, 80, 3)
    # both bands survive the resize: nothing was cropped away
    assert d.train[:, 0].min() == 255 and d.train[:, -1].max() == 128


def test_atari_frames_are_held_out_from_games_of_their_own(monkeypatch):
    """Frames of one game are near-copies of each other, so the held-out frames are played
    with a seed of their own, never drawn from the training games."""
    import gankit.data.atari as atari

    calls = []

    def play(game, n, frameskip, dedupe, seed, progress):
        calls.append((game, n, seed))
        return np.full((n, 210, 160, 3), 10 + seed, np.uint8)  # each game's frames look apart

    monkeypatch.setattr(atari, "load_frames", play)
    d = _data("breakout-fast", "data.n=12", "data.holdout=4")
    assert sorted(calls) == [("breakout", 4, 1), ("breakout", 12, 0)]
    assert d.train.shape[0] == 12 and d.holdout.shape[0] == 4
    assert (d.train == 10).all() and (d.holdout == 11).all()
    assert d.info["n_train"] == 12 and d.info["n_holdout"] == 4
