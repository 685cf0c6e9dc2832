"""A run directory damaged on disk, and values out of range on the command line: every
command says so in one sentence and exits with code 2, or, where what is damaged can be
read around (a log line, a stale eval.json), carries on; nothing else of the run changes."""

import shutil
from pathlib import Path

import pytest
from helpers import TINY, gankit_here

# in-process calls: the same exit codes and stderr as the command, without a fresh
# interpreter and torch import for each (the file took minutes as subprocesses)
gankit = gankit_here

GARBAGE = b"\x00\xff\xfe{ not JSON at all"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A tiny sine run of 20 steps with checkpoints at 10 and 20."""
    cwd = tmp_path_factory.mktemp("damaged")
    r = gankit("train", "sine", *TINY, "--set", "train.checkpoint_every=10", "--out", "r", cwd=cwd)
    assert r.returncode == 0, r.stderr
    return cwd / "r"


@pytest.fixture
def run_copy(finished_run, tmp_path) -> Path:
    shutil.copytree(finished_run, tmp_path / "r")
    return tmp_path / "r"


COMMANDS = {
    "eval": ["eval"],
    "doctor": ["doctor"],
    "report": ["report"],
    "resume": ["train", "--set", "train.steps=30", "--quiet", "--resume"],
}


def _one_sentence(r, fragment: str) -> None:
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert fragment in " ".join(r.stderr.split()), r.stderr


def _files(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"[]", "holds a JSON list, not the object it should"), (GARBAGE, "is not valid JSON")],
    ids=["list", "garbage"],
)
def test_a_damaged_config_json_is_one_sentence_and_the_run_stays(
    run_copy, command, content, problem
):
    (run_copy / "config.json").write_bytes(content)
    before = _files(run_copy)
    r = gankit(*COMMANDS[command], "r", cwd=run_copy.parent)
    _one_sentence(r, f"error: r/config.json {problem}")
    assert _files(run_copy) == before  # earlier results stay intact


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", ["metrics.jsonl", "eval.json"])
def test_a_garbage_log_or_score_file_is_read_around(run_copy, command, name):
    (run_copy / name).write_bytes(GARBAGE + b"\n")
    r = gankit(*COMMANDS[command], "r", cwd=run_copy.parent)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr


def test_resume_passes_over_a_damaged_checkpoint_json_with_a_warning(run_copy):
    (run_copy / "checkpoints" / "step_0000020.json").write_text('{"step": 2')  # torn
    r = gankit(*COMMANDS["resume"], "r", cwd=run_copy.parent)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    warning = " ".join(r.stderr.split())
    assert "warning: checkpoint r/checkpoints/step_0000020.json is unreadable" in warning
    assert "using the checkpoint before it" in warning
    events = (run_copy / "events.jsonl").read_text()
    assert '"event": "resume", "step": 10' in events


def test_resume_refuses_a_checkpoint_whose_step_disagrees_with_its_name(run_copy):
    (run_copy / "checkpoints" / "step_0000020.json").write_text('{"step": 30}')
    before = _files(run_copy)
    r = gankit(*COMMANDS["resume"], "r", cwd=run_copy.parent)
    _one_sentence(
        r, 'checkpoint r/checkpoints/step_0000020.json says "step": 30 but its file name says'
    )
    assert _files(run_copy) == before


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--seed", "-1"], "--seed -1 is not a seed; seeds are whole numbers from 0 to "),
        (["-n", "10000000000000"], "give at most 1,000,000 points"),
    ],
)
def test_sample_refuses_a_negative_seed_and_too_many_samples(finished_run, args, fragment):
    r = gankit("sample", "r", *args, "--out", "s.npy", cwd=finished_run.parent)
    _one_sentence(r, fragment)
    assert not (finished_run.parent / "s.npy").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--seed", "-1"], "bad value -1 for seed in --seed: must be from 0 to 4,294,967,295"),
        (["--set", "viz.fps=0"], "bad value 0 for viz.fps in --set viz.fps=0: must be above 0"),
    ],
)
def test_train_refuses_out_of_range_values_before_training(tmp_path, args, fragment):
    r = gankit("train", "sine", *args, "--out", "r", "--quiet", cwd=tmp_path)
    _one_sentence(r, fragment)
    assert not (tmp_path / "r").exists()


def test_a_torn_newest_weights_file_falls_back_to_the_checkpoint_before(
    run_copy, monkeypatch, capsys
):
    import json

    from helpers import gankit_in_process

    monkeypatch.chdir(run_copy.parent)
    newest = run_copy / "checkpoints" / "step_0000020.safetensors"
    newest.write_bytes(newest.read_bytes()[:100])  # killed, or a full disk, mid-write
    code, out, err = gankit_in_process(capsys, "eval", "r", "--json")
    assert code == 0, err
    assert json.loads(out)["step"] == 10
    warning = " ".join(err.split())
    assert "warning: checkpoint r/checkpoints/step_0000020.safetensors is unreadable" in warning
    assert "using the checkpoint before it" in warning and "Traceback" not in err


def test_torn_snapshots_are_read_around_by_the_report_and_the_gif(run_copy, monkeypatch, capsys):
    from helpers import gankit_in_process

    monkeypatch.chdir(run_copy.parent)
    real = run_copy / "snapshots" / "real.npz"
    real.write_bytes(real.read_bytes()[:50])  # torn
    code, _, err = gankit_in_process(capsys, "report", "r")
    assert code == 0 and "Traceback" not in err, err
    torn = run_copy / "snapshots" / "step_0000010.npz"
    torn.write_bytes(b"")
    for name in ("training.gif", "report.html"):
        (run_copy / name).unlink()
    code, _, err = gankit_in_process(capsys, "train", "--resume", "r", "--quiet")
    assert code == 0, err
    assert "the snapshot file r/snapshots/step_0000010.npz could not be read" in err
    assert "It is left out of the GIF." in " ".join(err.split())
    assert (run_copy / "training.gif").stat().st_size > 0 and (run_copy / "report.html").is_file()


def test_resume_writes_a_missing_real_reference_again(run_copy, monkeypatch, capsys):
    from helpers import gankit_in_process

    monkeypatch.chdir(run_copy.parent)
    real = run_copy / "snapshots" / "real.npz"
    before = real.read_bytes()
    real.unlink()
    code, _, err = gankit_in_process(capsys, *COMMANDS["resume"], "r")
    assert code == 0, err
    assert real.read_bytes() == before  # drawn again at the finish: the very same file
