"""`gankit tensorboard`: event files written from a run directory, read back with
TensorBoard's own reader and checked against metrics.jsonl, the snapshots and config.json."""

import io
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers import TINY, gankit
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


@pytest.fixture(scope="module")
def cwd(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tb")


@pytest.fixture(scope="module")
def sine_run(cwd) -> Path:
    r = gankit("train", "sine", *TINY, "--out", "sine", cwd=cwd)
    assert r.returncode == 0, r.stderr
    return cwd / "sine"


@pytest.fixture(scope="module")
def digits_run(cwd) -> Path:
    r = gankit("train", "digits", "--set", "train.steps=20", "--set", "train.log_every=10",
               "--set", "train.snapshot_every=10", "--set", "model.g_hidden=[32]",
               "--set", "model.d_hidden=[32]", "--set", "eval.n_samples=200", "--quiet",
               "--out", "digits", cwd=cwd)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return cwd / "digits"


@pytest.fixture(scope="module")
def exported(sine_run, digits_run, cwd) -> dict[str, Path]:
    r = gankit("tensorboard", "sine", "digits", cwd=cwd)
    assert r.returncode == 0, r.stderr
    assert "sine/tensorboard" in r.stdout and "digits/tensorboard" in r.stdout
    return {"sine": sine_run / "tensorboard", "digits": digits_run / "tensorboard"}


def read(folder: Path) -> EventAccumulator:
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def numbers(row: dict, prefix: str = "") -> dict[str, float]:
    """What the brief asks for, written out here on its own: each number of a row under its
    key path, protocols (settings, not measurements) left out."""
    out = {}
    for key, value in row.items():
        if key == "protocol" or (not prefix and key == "step"):
            continue
        if isinstance(value, dict):
            out.update(numbers(value, f"{prefix}{key}/"))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[f"{prefix}{key}"] = value
    return out


@pytest.mark.parametrize("name", ["sine", "digits"])
def test_every_metric_is_a_scalar_at_its_step(exported, cwd, name):
    acc = read(exported[name])
    expected: dict[str, list[tuple[int, float]]] = {}
    for line in (cwd / name / "metrics.jsonl").read_text().splitlines():
        row = json.loads(line)
        for tag, value in numbers(row).items():
            expected.setdefault(tag, []).append((row["step"], value))
    assert set(acc.Tags()["scalars"]) == set(expected)
    for tag, points in expected.items():
        got = [(e.step, e.value) for e in acc.Scalars(tag)]
        assert [s for s, _ in got] == [s for s, _ in points], tag
        np.testing.assert_allclose([v for _, v in got], [v for _, v in points], rtol=1e-6)
    # the kinds of rows there are: losses every log_every, per-layer norms, the final eval
    assert [e.step for e in acc.Scalars("d_loss")][-1] == 20
    assert any(t.startswith("layer_grads/G.") for t in expected)
    assert "eval/w1/value" in expected if name == "sine" else "eval/fd/value" in expected
    assert not any("protocol" in t for t in acc.Tags()["scalars"])


def decode(event) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(event.encoded_image_string)).convert("RGB"))


def test_image_runs_get_their_snapshot_pictures_at_their_steps(exported, digits_run):
    acc = read(exported["digits"])
    assert set(acc.Tags()["images"]) == {"snapshots/grid", "snapshots/real_vs_generated"}
    for tag, stem in (("snapshots/grid", "grid"), ("snapshots/real_vs_generated", "step")):
        events = acc.Images(tag)
        assert [e.step for e in events] == [0, 10, 20]
        for e in events:
            on_disk = Image.open(digits_run / "snapshots" / f"{stem}_{e.step:07d}.png")
            np.testing.assert_array_equal(decode(e), np.asarray(on_disk.convert("RGB")))


def test_point_runs_get_the_gifs_frames_at_their_steps(exported, sine_run):
    acc = read(exported["sine"])
    events = acc.Images("snapshots/frame")
    assert [e.step for e in events] == [0, 10, 20]
    assert (events[0].width, events[0].height) == (640, 560)  # render_frame's size
    last = decode(events[-1])
    on_disk = np.asarray(Image.open(sine_run / "snapshots" / "last.png").convert("RGB"))
    np.testing.assert_array_equal(last, on_disk)  # the GIF's last frame, pixel for pixel
    assert not np.array_equal(decode(events[0]), last)


def test_the_config_is_there_as_text(exported, cwd):
    for name, folder in exported.items():
        (event,) = read(folder).Tensors("config/text_summary")
        text = textwrap.dedent(event.tensor_proto.string_val[0].decode())
        assert json.loads(text) == json.loads((cwd / name / "config.json").read_text())


def test_a_rerun_replaces_the_events_and_logdir_collects_runs(exported, sine_run, cwd):
    before = read(exported["sine"])
    steps = [e.step for e in before.Scalars("d_loss")]
    r = gankit("tensorboard", "sine", cwd=cwd)
    assert r.returncode == 0, r.stderr
    assert len(list(exported["sine"].glob("events.out.tfevents.*"))) == 1
    after = read(exported["sine"])
    assert [e.step for e in after.Scalars("d_loss")] == steps  # no event twice
    assert len(after.Images("snapshots/frame")) == 3

    r = gankit("tensorboard", "sine", "digits", "--logdir", "board", cwd=cwd)
    assert r.returncode == 0, r.stderr
    assert "tensorboard --logdir board" in r.stdout
    for name in ("sine", "digits"):
        assert read(cwd / "board" / name).Scalars("g_loss")


def test_what_it_cannot_write_is_refused_in_one_sentence(sine_run, cwd, tmp_path):
    (tmp_path / "file").write_text("")
    for args, fragment in (
        (["tensorboard", str(sine_run), "--logdir", "file"], "is a file"),
        (["tensorboard", str(sine_run), str(sine_run), "--logdir", "x"], "two runs named sine"),
        (["tensorboard", "nowhere"], "not a gankit run directory"),
    ):
        r = gankit(*args, cwd=tmp_path)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert fragment in " ".join(r.stderr.split())
        assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
