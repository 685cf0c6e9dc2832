import json

import numpy as np

from gankit.config import load_config
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


def test_next_run_dir_counts_up(tmp_path):
    assert next_run_dir(tmp_path, "sine").name == "00000-sine"
    (tmp_path / "00004-ring8").mkdir()
    assert next_run_dir(tmp_path, "sine").name == "00005-sine"
