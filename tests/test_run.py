import json

import numpy as np
import pytest

from gankit.config import load_config
from gankit.errors import UserError
from gankit.run import RunDir, next_run_dir, read_jsonl


def _run(tmp_path) -> RunDir:
    return RunDir.create(tmp_path / "r", load_config("sine"), {"engine": "torch"})


def test_torn_last_line_is_skipped_and_nan_is_null(tmp_path):
    run = _run(tmp_path)
    run.log_metrics({"step": 1, "d_loss": float("nan")})
    with run.metrics_file.open("a") as f:
        f.write('{"step": 2, "d_lo')  # a crash in the middle of a write
    rows = read_jsonl(run.metrics_file)
    assert rows == [{"step": 1, "d_loss": None}]
    json.loads(run.metrics_file.read_text().splitlines()[0])  # strict JSON


def test_a_checkpoint_without_its_json_does_not_count(tmp_path):
    run = _run(tmp_path)
    state = {"w": np.arange(3.0)}
    run.save_checkpoint(10, state, {}, keep=3)
    run.save_checkpoint(20, {"w": np.arange(3.0) + 1}, {}, keep=3)
    (run.checkpoints / "step_0000020.json").unlink()  # as if killed before the JSON landed
    step, loaded, _ = run.latest_checkpoint()
    assert step == 10 and np.array_equal(loaded["w"], state["w"])


def test_truncate_after_forgets_later_logs_and_snapshots(tmp_path):
    run = _run(tmp_path)
    for s in (5, 10, 15):
        run.log_metrics({"step": s})
        run.save_snapshot(s, {"fake": np.zeros((2, 2), np.float32)})
    run.truncate_after(10)
    assert [r["step"] for r in run.metrics()] == [5, 10]
    assert run.snapshot_steps() == [5, 10]


def test_a_run_directory_under_a_file_is_one_sentence(tmp_path):
    # found by benchmarks/probe.py: `--out FILE/run` raised NotADirectoryError
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UserError, match=r"cannot create the run directory .*afile/r .*--out"):
        RunDir.create(tmp_path / "afile" / "r", load_config("sine"), {"engine": "torch"})
    assert (tmp_path / "afile").read_text() == "x"


def test_next_run_dir_counts_up(tmp_path):
    assert next_run_dir(tmp_path, "sine").name == "00000-sine"
    (tmp_path / "00004-ring8").mkdir()
    assert next_run_dir(tmp_path, "sine").name == "00005-sine"


def _two_checkpoints(tmp_path) -> RunDir:
    run = _run(tmp_path)
    run.save_checkpoint(10, {"w": np.arange(3.0)}, {}, keep=3)
    run.save_checkpoint(20, {"w": np.arange(3.0) + 1}, {}, keep=3)
    return run


def test_a_checkpoint_whose_step_disagrees_with_its_name_is_refused(tmp_path):
    run = _two_checkpoints(tmp_path)
    path = run.checkpoints / "step_0000020.json"
    path.write_text('{"step": 30}')  # never silently relabelled as step 30 (or 20)
    with pytest.raises(UserError) as err:
        run.latest_checkpoint()
    msg = str(err.value)
    assert f'checkpoint {path} says "step": 30 but its file name says step 20' in msg
    assert "\n" not in msg and msg.endswith(".")


DAMAGES = {
    "truncated": b'{"step": 2',
    "empty": b"",
    "garbage": b"\x00\xff\xfe garbage",
    "without step": b'{"engine": "torch"}',
    "not an object": b"[20]",
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_checkpoint_json_falls_back_to_the_one_before(tmp_path, damage):
    run = _two_checkpoints(tmp_path)
    path = run.checkpoints / "step_0000020.json"
    path.write_bytes(DAMAGES[damage])
    with pytest.warns(UserWarning, match=rf"checkpoint {path} .*; using the checkpoint before"):
        step, state, _ = run.latest_checkpoint()
    assert step == 10 and np.array_equal(state["w"], np.arange(3.0))


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_only_checkpoint_json_is_one_sentence_naming_it(tmp_path, damage):
    run = _run(tmp_path)
    run.save_checkpoint(10, {"w": np.arange(3.0)}, {}, keep=3)
    path = run.checkpoints / "step_0000010.json"
    path.write_bytes(DAMAGES[damage])
    with pytest.raises(UserError) as err:
        run.latest_checkpoint()
    msg = str(err.value)
    assert msg.startswith(f"checkpoint {path} ") and "no older checkpoint to fall back to" in msg
    assert "\n" not in msg and msg.endswith(".")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"[]", "holds a JSON list, not the object"), (b"\x00\xffgarbage", "is not valid JSON")],
)
def test_a_damaged_config_json_is_one_sentence_naming_it(tmp_path, content, fragment):
    run = _run(tmp_path)
    (run.path / "config.json").write_bytes(content)
    with pytest.raises(UserError) as err:
        RunDir.open(run.path).config()
    assert str(err.value).startswith(f"{run.path / 'config.json'} {fragment}")
    assert "\n" not in str(err.value)


def test_garbage_lines_of_a_log_are_skipped(tmp_path):
    run = _run(tmp_path)
    run.log_metrics({"step": 5})
    with run.metrics_file.open("ab") as f:
        f.write(b"\x00\xff not json\n42\n[1, 2]\n")
    run.log_metrics({"step": 10})
    assert run.metrics() == [{"step": 5}, {"step": 10}]


def test_a_torn_newest_weights_file_falls_back_to_the_one_before(tmp_path):
    run = _two_checkpoints(tmp_path)
    path = run.checkpoints / "step_0000020.safetensors"
    path.write_bytes(path.read_bytes()[:40])  # a kill or a full disk mid-write
    with pytest.warns(UserWarning, match=rf"checkpoint {path} is unreadable .*; using the"):
        step, state, _ = run.latest_checkpoint()
    assert step == 10 and np.array_equal(state["w"], np.arange(3.0))
    (run.checkpoints / "step_0000010.safetensors").write_bytes(b"")
    with pytest.warns(UserWarning), pytest.raises(UserError, match="no older checkpoint to fall"):
        run.latest_checkpoint()


def test_a_checkpoint_of_nan_weights_is_refused_in_one_sentence(tmp_path):
    run = _two_checkpoints(tmp_path)
    run.save_checkpoint(30, {"w": np.array([1.0, np.nan, 2.0])}, {}, keep=3)
    with pytest.raises(UserError) as err:
        run.finite_checkpoint()
    msg = str(err.value)
    assert msg.startswith(f"checkpoint {run.checkpoints / 'step_0000030.safetensors'} holds NaN")
    assert "(in w)" in msg and "\n" not in msg and msg.endswith(".")
    run.save_checkpoint(40, {"w": np.arange(3.0), "rng": np.arange(3, dtype=np.uint8)}, {}, 3)
    assert run.finite_checkpoint()[0] == 40


def test_replacing_leaves_the_old_file_or_none_never_half_of_one(tmp_path):
    from gankit.run import replacing

    path = tmp_path / "training.gif"
    with pytest.raises(KeyboardInterrupt), replacing(path) as tmp:
        tmp.write_bytes(b"GIF89a half")
        raise KeyboardInterrupt  # a Ctrl-C mid-write
    assert list(tmp_path.iterdir()) == []
    path.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), replacing(path) as tmp:
        tmp.write_bytes(b"")
        raise KeyboardInterrupt
    assert path.read_bytes() == b"old" and list(tmp_path.iterdir()) == [path]


def test_non_finite_values_never_reach_config_json():
    # refused when the config is built, before any run directory (and its config.json) is
    for bad in ("optim.g_lr=inf", "optim.d_lr=nan", "model.leaky_slope=nan", "loss.r1=inf"):
        with pytest.raises(UserError, match=f"bad value .* for {bad.split('=')[0]}"):
            load_config("sine", [bad])
