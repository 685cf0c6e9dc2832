"""Atari frame collection: shape and record, the ball is served, seeding, dedupe, the compressed
cache and old raw caches, and `gankit collect` (--out, the preview, the command it prints)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

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
    assert path == tmp_path / "atari" / "breakout-40-fs3-all-s1.zst"
    assert path == atari.frames_path("breakout", 40, 3, False, 1)
    frames = atari.read_frames(path)
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
    first = atari.read_frames(atari.collect("breakout", 60, progress=False))
    again = atari.read_frames(atari.collect("breakout", 60, progress=False))
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


def _write(path: Path, x: np.ndarray) -> None:
    atari.write_atomic(path, lambda f: atari.write_frames(f, x))


@pytest.mark.parametrize(
    "bad", ["garbage", "wrong_shape", "wrong_dtype", "truncated", "old_garbage", "old_shape"]
)
def test_bad_cache_file_is_collected_again(bad: str) -> None:
    path = atari.frames_path("breakout", 20, 4, True, 0)
    old = path.with_suffix(".npy")  # the raw arrays of earlier versions
    zeros = np.zeros((20, 210, 160, 3), dtype=np.uint8)
    if bad == "garbage":
        path.write_bytes(b"not a zstd file")
    elif bad == "wrong_shape":
        _write(path, np.zeros((20, 84, 84, 3), dtype=np.uint8))
    elif bad == "wrong_dtype":
        _write(path, zeros.astype(np.float32))
    elif bad == "truncated":
        _write(path, zeros)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif bad == "old_garbage":
        old.write_bytes(b"not an npy file")
    else:
        np.save(old, np.zeros((20, 84, 84, 3), dtype=np.uint8))
    frames = atari.load_frames("breakout", 20, progress=False)
    assert frames.shape == (20, 210, 160, 3)
    assert frames.dtype == np.uint8
    assert ball_visible(frames).any()  # real frames, not the zeros
    np.testing.assert_array_equal(atari.read_frames(path), frames)
    assert not old.exists()  # the collection replaced the bad raw copy too


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


# --- the compressed cache -------------------------------------------------------------------


def test_cache_round_trip_is_bit_for_bit_and_small(tmp_path: Path) -> None:
    import zstandard

    frames, path = atari.collect_frames("breakout", 300, progress=False)
    np.testing.assert_array_equal(atari.read_frames(path), frames)
    assert path.stat().st_size < frames.nbytes / 100  # raw frames took 100,800 bytes each
    # any bytes survive, not only game frames (random pixels do not compress)
    noise = np.random.default_rng(0).integers(0, 256, (3, 210, 160, 3), dtype=np.uint8)
    _write(tmp_path / "noise.zst", noise)
    np.testing.assert_array_equal(atari.read_frames(tmp_path / "noise.zst"), noise)
    # the file is a plain .npy once zstd has decompressed it, as the docs say
    with open(path, "rb") as f, zstandard.ZstdDecompressor().stream_reader(f) as z:
        np.testing.assert_array_equal(np.load(io.BytesIO(z.read()), allow_pickle=False), frames)


def test_an_old_raw_cache_still_loads_and_is_rewritten(monkeypatch: pytest.MonkeyPatch) -> None:
    frames, path = atari.collect_frames("breakout", 50, progress=False)
    path.unlink()
    old = path.with_suffix(".npy")
    np.save(old, frames)  # what earlier versions cached

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("played although the old cache holds the frames")

    monkeypatch.setattr(atari, "_play", refuse)
    loaded = atari.load_frames("breakout", 50, progress=False)
    np.testing.assert_array_equal(loaded, frames)
    assert not old.exists()
    np.testing.assert_array_equal(atari.read_frames(path), frames)
    np.testing.assert_array_equal(atari.load_frames("breakout", 50, progress=False), frames)


# --- gankit collect -------------------------------------------------------------------------


def gankit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "80"}  # narrow: the train command must still be one line
    return subprocess.run(
        [sys.executable, "-m", "gankit", *args], cwd=cwd, capture_output=True, text=True,
        env=env, timeout=300,
    )  # fmt: skip


def printed_command(stdout: str) -> list[str]:
    (line,) = [line for line in stdout.splitlines() if line.startswith("train on them: ")]
    words = shlex.split(line.removeprefix("train on them: "))
    assert words[:2] == ["gankit", "train"]
    return words[2:]


def preset_and_sets(words: list[str]) -> tuple[str, list[str]]:
    preset, rest = words[0], words[1:]
    assert rest[::2] == ["--set"] * (len(rest) // 2)
    return preset, rest[1::2]


FEW = ["train.steps=2", "train.batch_size=8", "train.log_every=1", "train.snapshot_every=2",
       "train.checkpoint_every=2", "viz.images=4"]  # fmt: skip


def test_collect_out_writes_the_frames_a_preview_and_a_command_that_trains(
    tmp_path: Path,
) -> None:
    from gankit import training
    from gankit.config import load_config
    from gankit.data import load_data

    r = gankit("collect", "breakout", "-n", "200", "--out", "b.npy", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "b.npy"
    frames = np.load(out, allow_pickle=False)
    assert frames.shape == (200, 210, 160, 3) and frames.dtype == np.uint8
    cached = atari.frames_path("breakout", 200, 4, True, 0)
    np.testing.assert_array_equal(atari.read_frames(cached), frames)  # the cache is kept too
    assert f"written to {out.resolve()}" in r.stdout and str(cached) in r.stdout

    preview = (tmp_path / "b.preview.png").resolve()
    assert f"preview of 16 of them: {preview}" in r.stdout
    grid = np.asarray(Image.open(preview).convert("RGB"))
    assert grid.shape == (4 * 212 + 2, 4 * 162 + 2, 3)
    pick = np.linspace(0, 199, 16).round().astype(int)  # first to last
    for i, k in enumerate(pick):
        row, col = divmod(i, 4)
        tile = grid[2 + row * 212 :][:210, 2 + col * 162 :][:, :160]
        np.testing.assert_array_equal(tile, frames[k])

    preset, sets = preset_and_sets(printed_command(r.stdout))
    assert (preset, sets) == ("breakout-fast", ["data.name=array", f"data.path={out.resolve()}"])
    cfg = load_config(preset, [*sets, *FEW])
    data = load_data(cfg.data, cfg.seed, progress=False)
    assert len(data.train) + len(data.holdout) == 200  # every frame of the file, none played
    assert data.train.shape[1:] == (105, 80, 3)  # the preset's half size
    run = training.start(cfg, tmp_path / "run", progress=False)
    assert [m["step"] for m in run.metrics() if "d_loss" in m] == [1, 2]


def test_collect_says_how_training_finds_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gankit.config import load_config
    from gankit.data import load_data

    r = gankit("collect", "breakout", "-n", "120", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    cached = atari.frames_path("breakout", 120, 4, True, 0)
    assert f"preview of 16 of them: {cached.with_suffix('.preview.png')}" in r.stdout
    assert cached.with_suffix(".preview.png").is_file()
    words = printed_command(r.stdout)
    assert words == ["breakout-fast", "--set", "data.n=120"]  # only what differs from the preset

    played: list[int] = []
    play = atari._play

    def recording(env_id: str, n: int, frameskip: int, dedupe: bool, seed: int, progress: bool):
        played.append(seed)
        return play(env_id, n, frameskip, dedupe, seed, progress)

    monkeypatch.setattr(atari, "_play", recording)
    preset, sets = preset_and_sets(words)
    cfg = load_config(preset, [*sets, "data.holdout=20"])
    data = load_data(cfg.data, cfg.seed, progress=False)
    assert len(data.train) == 120
    assert played == [1]  # only the held-out frames were played: the training ones were cached


def test_train_command_names_the_settings_that_differ() -> None:
    from gankit.collect import train_command

    assert train_command("breakout", 5000, 4, True, 0, None) == "gankit train breakout-fast"
    assert train_command("pong", 5000, 2, False, 0, None) == (
        "gankit train breakout-fast --set data.game=pong --set data.frameskip=2 "
        "--set data.dedupe=false"
    )
    assert train_command("breakout", 5000, 4, True, 3, None) is None  # training plays seed 0
    spaced = Path("my frames/x.npy")
    assert train_command("breakout", 10, 4, True, 3, spaced) == (
        f"gankit train breakout-fast --set data.name=array --set 'data.path={spaced.resolve()}'"
    )


@pytest.mark.parametrize(
    ("out", "says"),
    [
        ("nowhere/b.npy", "--out nowhere/b.npy: the folder nowhere does not exist"),
        ("b.png", "--out b.png has suffix '.png'; accepted: a .npy file name"),
        ("b", "--out b has suffix ''; accepted: a .npy file name"),
        ("taken.npy", "--out taken.npy already exists; give a new file name"),
    ],
)
def test_bad_out_exits_2_with_one_sentence_before_playing(
    tmp_path: Path, out: str, says: str
) -> None:
    (tmp_path / "taken.npy").write_bytes(b"the user's own data")
    r = gankit("collect", "breakout", "-n", "50", "--out", out, "--quiet", cwd=tmp_path)
    assert r.returncode == 2
    assert says in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert (tmp_path / "taken.npy").read_bytes() == b"the user's own data"
    assert not list((tmp_path / "atari").glob("*.zst"))  # nothing was played
