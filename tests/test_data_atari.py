"""Atari frame collection: shape and record, the ball is served, seeding, dedupe, the cache."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from gankit.data import atari
from gankit.errors import UserError

BALL = np.array([200, 72, 72], dtype=np.uint8)  # Breakout's ball and paddle colour
# Between the lowest brick row (92) and the paddle (189) inside the side walls (0..7, 152..159):
# the paddle's colour there can only be the ball. Found by looking at collected frames.
PLAYFIELD = (slice(93, 189), slice(8, 152))


@pytest.fixture(autouse=True)
def _cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))


def ball_visible(frames: np.ndarray) -> np.ndarray:
    """Per frame: whether a ball-coloured pixel is in the playfield."""
    region = frames[(slice(None), *PLAYFIELD)]
    return np.all(region == BALL, axis=-1).any(axis=(1, 2))


def test_available_games() -> None:
    games = atari.available_games()
    assert games == sorted(games)
    assert {"breakout", "pong", "space_invaders"} <= set(games)
    assert "combat" not in games  # a ROM ale-py ships with no single-player env


def test_collect_writes_frames_and_record(tmp_path: Path) -> None:
    path = atari.collect("breakout", 40, frameskip=3, dedupe=False, seed=1, progress=False)
    assert path == tmp_path / "atari" / "breakout-40-fs3-all-s1.npy"
    assert path == atari.frames_path("breakout", 40, 3, False, 1)
    frames = np.load(path)
    assert frames.shape == (40, 210, 160, 3)
    assert frames.dtype == np.uint8
    record = json.loads(path.with_suffix(".json").read_text())
    expected = {
        "game": "breakout",
        "env_id": "ALE/Breakout-v5",
        "n_frames": 40,
        "frameskip": 3,
        "dedupe": False,
        "seed": 1,
        "duplicates_skipped": 0,
    }
    assert expected.items() <= record.items()
    for key in ("ale_py_version", "gymnasium_version", "policy", "seconds", "date"):
        assert record[key]
    assert record["episodes"] >= 1
    assert not list(path.parent.glob("*.tmp"))  # temporary files were renamed away


def test_fire_serves_the_ball() -> None:
    frames = atari.load_frames("breakout", 200, dedupe=False, progress=False)
    seen = ball_visible(frames)
    assert seen[0]  # served on reset, not left to a lucky random FIRE
    assert seen.mean() > 0.5  # and again after lost lives


def test_without_fire_no_ball_is_seen() -> None:
    """The check above can fail: a policy that never presses FIRE never shows a ball."""
    import ale_py
    import gymnasium as gym

    gym.register_envs(ale_py)
    env = gym.make("ALE/Breakout-v5", **atari.ENV_KWARGS)
    meanings = env.unwrapped.get_action_meanings()  # type: ignore[attr-defined]
    no_fire = [i for i, m in enumerate(meanings) if "FIRE" not in m]
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    frames = []
    for _ in range(100):
        action = int(rng.choice(no_fire))
        for _ in range(4):
            obs, *_ = env.step(action)
        frames.append(obs)
    env.close()
    assert not ball_visible(np.stack(frames)).any()


def test_same_seed_same_frames(tmp_path: Path) -> None:
    first = np.load(atari.collect("breakout", 60, progress=False))
    again = np.load(atari.collect("breakout", 60, progress=False))
    other = atari.load_frames("breakout", 60, seed=1, progress=False)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_dedupe_keeps_no_two_equal_frames() -> None:
    frames = atari.load_frames("breakout", 300, progress=False)
    digests = {hashlib.sha256(f.tobytes()).digest() for f in frames}
    assert len(digests) == len(frames) == 300
    record = json.loads(
        atari.frames_path("breakout", 300, 4, True, 0).with_suffix(".json").read_text()
    )
    assert record["duplicates_skipped"] > 0  # Breakout does repeat itself, so dedupe did work


def test_load_frames_uses_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    first = atari.load_frames("breakout", 30, progress=False)
    path = atari.frames_path("breakout", 30, 4, True, 0)
    mtime = path.stat().st_mtime_ns

    def refuse(*args: object, **kwargs: object) -> Path:
        raise AssertionError("collect called although the frames are cached")

    monkeypatch.setattr(atari, "collect", refuse)
    np.testing.assert_array_equal(atari.load_frames("breakout", 30, progress=False), first)
    assert path.stat().st_mtime_ns == mtime


@pytest.mark.parametrize("bad", ["garbage", "wrong_shape", "wrong_dtype"])
def test_bad_cache_file_is_collected_again(bad: str) -> None:
    path = atari.frames_path("breakout", 20, 4, True, 0)
    if bad == "garbage":
        path.write_bytes(b"not an npy file")
    elif bad == "wrong_shape":
        np.save(path, np.zeros((20, 84, 84, 3), dtype=np.uint8))
    else:
        np.save(path, np.zeros((20, 210, 160, 3), dtype=np.float32))
    frames = atari.load_frames("breakout", 20, progress=False)
    assert frames.shape == (20, 210, 160, 3)
    assert frames.dtype == np.uint8
    assert ball_visible(frames).any()  # real frames, not the zeros
    np.testing.assert_array_equal(np.load(path), frames)


def test_unknown_game_lists_the_games() -> None:
    with pytest.raises(UserError, match="unknown game 'xyz'; available: .*breakout") as err:
        atari.load_frames("xyz", 10, progress=False)
    assert ", pong, " in str(err.value)
    with pytest.raises(UserError, match="unknown game"):
        atari.frames_path("Breakout", 10, 4, True, 0)


def test_bad_counts_are_user_errors() -> None:
    with pytest.raises(UserError, match="n_frames"):
        atari.collect("pong", 0, progress=False)
    with pytest.raises(UserError, match="frameskip"):
        atari.collect("pong", 10, frameskip=0, progress=False)
