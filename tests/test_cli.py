"""The `gankit` command end to end, as a user runs it, in a temporary directory."""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

TINY = [
    "--set", "model.g_hidden=[16,16]", "--set", "model.d_hidden=[16,16]",
    "--set", "train.batch_size=32", "--set", "train.steps=20", "--set", "train.log_every=5",
    "--set", "train.snapshot_every=5", "--set", "viz.grid=16", "--set", "viz.points=100",
    "--set", "eval.n_samples=300", "--set", "eval.w1_points=300", "--quiet",
]  # fmt: skip


def gankit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-m", "gankit", *args], cwd=cwd, capture_output=True, text=True,
        env=env, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def sine_run(tmp_path_factory) -> Path:
    cwd = tmp_path_factory.mktemp("cli")
    r = gankit("train", "sine", *TINY, "--set", "viz.fps=5", "--out", "r", cwd=cwd)
    assert r.returncode == 0, r.stderr
    assert "distance to curve" in r.stdout and "training.gif" in r.stdout
    return cwd / "r"


def test_train_writes_the_whole_run_directory(sine_run):
    for name in (
        "config.json",
        "metrics.jsonl",
        "events.jsonl",
        "eval.json",
        "training.gif",
        "curves.png",
        "snapshots/last.png",
        "snapshots/real.npz",
    ):
        assert (sine_run / name).is_file(), name
    assert list((sine_run / "checkpoints").glob("step_0000020.safetensors"))
    gif = Image.open(sine_run / "training.gif")
    assert gif.n_frames == 20 // 5 + 1  # one frame per snapshot, step 0 included
    assert gif.info["duration"] == 200  # viz.fps = 5
    scores = json.loads((sine_run / "eval.json").read_text())
    assert scores["scores"]["sine"]["protocol"]["n_samples"] == 300
    assert scores["real_floor"]["sine"]["curve_distance"] < 0.02


def test_eval_json_and_sample(sine_run):
    r = gankit("eval", str(sine_run), "--json", cwd=sine_run.parent)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["step"] == 20
    r = gankit("sample", str(sine_run), "-n", "7", "--out", "p.csv", cwd=sine_run.parent)
    assert r.returncode == 0, r.stderr
    pts = np.loadtxt(sine_run.parent / "p.csv", delimiter=",", skiprows=1)
    assert pts.shape == (7, 2)
    r = gankit("sample", str(sine_run), "-n", "9", "--out", "p.npy", cwd=sine_run.parent)
    assert np.load(sine_run.parent / "p.npy").shape == (9, 2)


def test_resume_continues_a_finished_run(sine_run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(sine_run, copy)
    r = gankit("train", "--resume", str(copy), "--set", "train.steps=30", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads((copy / "eval.json").read_text())["step"] == 30


def test_presets_lists_each_with_a_line(tmp_path):
    r = gankit("presets", cwd=tmp_path)
    assert r.returncode == 0
    assert "sine-seed" in r.stdout and "ring8" in r.stdout


def test_sweep_puts_runs_side_by_side(tmp_path):
    r = gankit("sweep", "sine", "--grid", "model.latent_dim=1,4", *TINY, "--out", "sw",
               cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    gif = Image.open(tmp_path / "sw" / "sweep.gif")
    one = Image.open(tmp_path / "sw" / "latent_dim=1" / "training.gif")
    assert gif.size[0] == 2 * one.size[0]
    assert (tmp_path / "sw" / "latent_dim=4" / "eval.json").is_file()
    # it ends with the scores side by side, one column per variant, and the comparison page
    table = r.stdout[r.stdout.index("sweep sw") :]
    assert "latent_dim=1" in table and "latent_dim=4" in table
    floor = json.loads((tmp_path / "sw" / "latent_dim=1" / "eval.json").read_text())
    floor = f"({floor['real_floor']['w1']['value']:.4f})"
    assert re.search(rf"Wasserstein-1 .*{re.escape(floor)}.*{re.escape(floor)}", table)
    assert "comparison sw/compare.html" in table
    page = (tmp_path / "sw" / "compare.html").read_text()
    assert "latent_dim=1" in page and "latent_dim=4" in page and "model.<wbr>latent" in page


def test_version_and_bare_gankit_exit_0(tmp_path):
    from gankit import __version__

    r = gankit("--version", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (0, f"gankit {__version__}\n")
    r = gankit(cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Usage" in r.stdout and "train" in r.stdout and "compare" in r.stdout


def test_default_names_carry_the_engine_and_runs_lists_them(sine_run, tmp_path):
    import shutil

    r = gankit("train", "sine", *TINY, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "runs" / "00000-sine-torch" / "eval.json").is_file()
    # a run with a garbage eval.json, and one without checkpoints or diagnosis
    shutil.copytree(sine_run, tmp_path / "runs" / "00001-garbled")
    (tmp_path / "runs" / "00001-garbled" / "eval.json").write_text("{half a fi")
    shutil.copytree(sine_run, tmp_path / "runs" / "00002-bare")
    shutil.rmtree(tmp_path / "runs" / "00002-bare" / "checkpoints")
    (tmp_path / "runs" / "00002-bare" / "doctor.json").unlink()
    r = gankit("runs", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    header, fresh, garbled, bare = r.stdout.strip().splitlines()
    assert header.split()[:4] == ["run", "preset", "engine", "steps"]
    result = json.loads((tmp_path / "runs" / "00000-sine-torch" / "eval.json").read_text())
    value = f"{result['scores']['sine']['curve_distance']:.4f}"
    floor = f"{result['real_floor']['sine']['curve_distance']:.4f}"
    verdict = json.loads((tmp_path / "runs" / "00000-sine-torch" / "doctor.json").read_text())
    verdict = ", ".join(dict.fromkeys(f["name"] for f in verdict)) or "healthy"
    assert fresh.split()[:6] == ["00000-sine-torch", "sine", "torch", "20", "/", "20"]
    assert f"distance to curve {value} (floor {floor})" in fresh and verdict in fresh
    assert "00001-garbled" in garbled and "eval.json unreadable" in garbled
    assert bare.split()[:6] == ["00002-bare", "sine", "torch", "0", "/", "20"]
    assert "not diagnosed" in bare
    # and two of them on one page, their scores printed side by side
    r = gankit("compare", "runs/00000-sine-torch", str(sine_run), "--out", "c.html",
               cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "00000-sine-torch" in r.stdout and "comparison c.html" in r.stdout
    assert f"{value} ({floor})" in r.stdout
    assert "00000-sine-torch" in (tmp_path / "c.html").read_text()


def test_user_points_of_three_dimensions(tmp_path):
    rng = np.random.default_rng(0)
    np.savetxt(tmp_path / "pts.csv", rng.normal(size=(300, 3)), delimiter=",")
    r = gankit("train", "points", "--set", "data.path=pts.csv", *TINY, "--out", "p", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "p" / "training.gif").is_file()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["train", "nosuch"], "unknown preset 'nosuch'"),
        (["train", "sine", "--set", "train.stepz=3"], "unknown config key 'train.stepz'"),
        (["train", "sine", "--set", "loss.name=xx"], "bad value 'xx' for loss.name"),
        (["train", "points", "--set", "data.path=missing.csv"], "does not exist"),
        (["train", "points", "--set", "data.path=bad.csv"], "line 3"),
        (["train"], "give a preset"),
        (["eval", "."], "not a gankit run directory"),
        (["sweep", "sine", "--grid", "model.latent_dim="], "has no values"),
        (["train", "--resume", "nowhere"], "not a gankit run directory"),
        (["compare", "."], "two or more run directories"),
        (["compare", ".", "."], "not a gankit run directory"),
        (["runs", "nowhere"], "nowhere is not a folder"),
    ],
)
def test_bad_input_exits_2_with_one_sentence(tmp_path, args, fragment):
    (tmp_path / "bad.csv").write_text("x,y\n1,2\n3,?\n")
    r = gankit(*args, cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert fragment in " ".join(r.stderr.split())
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1  # one sentence on one line


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--out", "x.txt"], "accepted here: .npy, .csv"),
        (["--interpolate", "--out", "walk.gif"], "this run learned points"),
        (["-n", "0"], "give a positive count"),
    ],
)
def test_sample_refuses_what_a_point_run_cannot_write(sine_run, args, fragment):
    r = gankit("sample", str(sine_run), *args, cwd=sine_run.parent)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert fragment in " ".join(r.stderr.split())
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> Path:
    cwd = tmp_path_factory.mktemp("digits")
    r = gankit("train", "digits", "--set", "train.steps=30", "--set", "train.log_every=10",
               "--set", "train.snapshot_every=10", "--set", "model.g_hidden=[32]",
               "--set", "model.d_hidden=[32]", "--set", "eval.n_samples=200", "--quiet",
               "--out", "d", cwd=cwd)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "digit classes" in r.stdout and "Fréchet distance" in r.stdout
    return cwd / "d"


def test_image_run_leaves_its_pictures_and_scores(digits_run):
    assert Image.open(digits_run / "training.gif").n_frames == 4  # steps 0, 10, 20, 30
    real_vs_fake = Image.open(digits_run / "snapshots" / "step_0000030.png")
    assert real_vs_fake.size[0] > 2 * 160  # two enlarged 8x8 digits side by side
    scores = json.loads((digits_run / "eval.json").read_text())
    fd = scores["scores"]["fd"]
    assert fd["protocol"]["features"]["name"] == "digit-classifier"
    assert fd["protocol"]["n_fake"] == 200
    assert scores["real_floor"]["fd"]["value"] < fd["value"]  # 30 steps are far from real
    assert scores["scores"]["classes"]["protocol"]["n_samples"] == 200


def test_sample_writes_grids_arrays_and_walks(digits_run):
    cwd = digits_run.parent
    r = gankit("sample", "d", "-n", "16", "--out", "grid.png", cwd=cwd)
    assert r.returncode == 0, r.stderr
    assert Image.open(cwd / "grid.png").size[0] >= 4 * 96
    r = gankit("sample", "d", "-n", "5", "--out", "x.npy", cwd=cwd)
    x = np.load(cwd / "x.npy")
    assert x.shape == (5, 8, 8, 1) and x.dtype == np.uint8
    r = gankit("sample", "d", "-n", "3", "--interpolate", "--out", "walk.gif", cwd=cwd)
    assert r.returncode == 0, r.stderr
    assert Image.open(cwd / "walk.gif").n_frames == 3 * 16
    r = gankit("sample", "d", "--out", "x.csv", cwd=cwd)
    assert r.returncode == 2 and "accepted here: .png, .npy" in " ".join(r.stderr.split())


def test_collect_names_the_games_it_knows(tmp_path):
    r = gankit("collect", "nosuchgame", cwd=tmp_path)
    assert r.returncode == 2
    assert "unknown game 'nosuchgame'" in r.stderr and "breakout" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_doctor_reads_a_run_and_speaks_json(sine_run):
    r = gankit("doctor", str(sine_run), "--json", cwd=sine_run.parent)
    assert r.returncode == 0, r.stderr
    findings = json.loads(r.stdout)
    assert isinstance(findings, list)
    assert all({"name", "severity", "steps", "evidence", "remedies"} <= set(f) for f in findings)


def _one_line(err: str, start: str) -> None:
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert " ".join(err.split()).startswith(start), err


def test_train_exits_3_in_one_sentence_when_it_diverges_past_its_rollbacks(
    tmp_path, monkeypatch, capsys
):
    from helpers import gankit_in_process

    monkeypatch.chdir(tmp_path)
    blow_up = [
        "optim.name=sgd",
        "optim.g_lr=1e30",
        "optim.d_lr=1e30",
        "loss.name=lsgan",
        "data.n=400",
    ]
    code, _, err = gankit_in_process(
        capsys, "train", "ring8", *TINY, *(w for o in blow_up for w in ("--set", o)), "--out", "r"
    )
    assert code == 3, err
    *warned, last = err.strip().splitlines()
    assert len(warned) == 3 and all(w.startswith("warning: losses became NaN") for w in warned)
    _one_line(last, "error: training diverged: losses or weights became NaN/inf at step")
    # before it stops, the run's files say what happened: the doctor names the divergence
    doctor = json.loads((tmp_path / "r" / "doctor.json").read_text())
    assert "divergence" in [f["name"] for f in doctor]
    assert (tmp_path / "r" / "report.html").is_file()


def test_resume_writes_what_an_interrupted_finish_left_missing_without_training(
    sine_run, tmp_path, monkeypatch, capsys
):
    import shutil

    from helpers import gankit_in_process

    from gankit.viz import curves

    monkeypatch.chdir(tmp_path)
    shutil.copytree(sine_run, tmp_path / "r")
    run = tmp_path / "r"
    for name in ("training.gif", "curves.png", "doctor.json", "report.html"):
        (run / name).unlink()
    trained = {p: p.read_bytes() for p in [run / "metrics.jsonl", *run.glob("checkpoints/*")]}
    scores = (run / "eval.json").read_bytes()

    def ctrl_c(*_):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(curves, "plot_curves", ctrl_c)  # a Ctrl-C while the curves are drawn
        code, _, err = gankit_in_process(capsys, "train", "--resume", "r", "--quiet")
    assert code == 130
    _one_line(err, "interrupted while writing the run's scores and pictures; the training is")
    assert (run / "training.gif").stat().st_size > 0 and not (run / "curves.png").exists()
    code, out, err = gankit_in_process(capsys, "train", "--resume", "r", "--quiet")
    assert code == 0, err
    for name in ("training.gif", "curves.png", "doctor.json", "report.html"):
        assert (run / name).stat().st_size > 0, name
    assert "distance to curve" in out
    assert (run / "eval.json").read_bytes() == scores  # kept: it was there
    assert {p: p.read_bytes() for p in trained} == trained  # no training
    (run / "eval.json").unlink()
    assert gankit_in_process(capsys, "train", "--resume", "r", "--quiet")[0] == 0
    assert json.loads((run / "eval.json").read_text())["step"] == 20
    code, _, err = gankit_in_process(capsys, "train", "--resume", "r", "--quiet")
    assert code == 2
    _one_line(err, "error: r already reached step 20 of train.steps = 20;")


def test_a_ctrl_c_during_start_up_is_one_line(tmp_path, monkeypatch, capsys):
    import builtins

    from helpers import gankit_in_process

    from gankit import __main__ as entry
    from gankit import training

    def ctrl_c(*_, **__):
        raise KeyboardInterrupt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(training, "load_data", ctrl_c)  # while the data loads
    code, _, err = gankit_in_process(capsys, "train", "sine", "--out", "r", "--quiet")
    assert code == 130
    _one_line(err, "interrupted; every file written so far is whole.")
    real_import = builtins.__import__

    def import_under_ctrl_c(name, *args, **kwargs):
        if name == "gankit.cli":  # while torch and the CLI's modules import
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", import_under_ctrl_c)
    ctrl_c = signal.getsignal(signal.SIGINT)
    with pytest.raises(SystemExit) as exit_:
        entry.main()
    monkeypatch.setattr(builtins, "__import__", real_import)
    # a second Ctrl-C after the line cannot cut the exit short (Python would die by it)
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    signal.signal(signal.SIGINT, ctrl_c)
    assert exit_.value.code == 130
    _one_line(capsys.readouterr().err, "interrupted; every file written so far is whole.")


def test_sample_and_eval_refuse_nan_weights_in_one_sentence(
    sine_run, tmp_path, monkeypatch, capsys
):
    import shutil

    from helpers import gankit_in_process
    from safetensors.numpy import load_file, save_file

    monkeypatch.chdir(tmp_path)
    shutil.copytree(sine_run, tmp_path / "r")
    newest = tmp_path / "r" / "checkpoints" / "step_0000020.safetensors"
    state = load_file(str(newest))
    key = next(k for k in state if k.startswith("G.") and k.endswith("weight"))
    state[key][0] = np.nan
    save_file(state, str(newest))
    for command in (["sample", "r", "--out", "s.npy"], ["eval", "r"]):
        code, _, err = gankit_in_process(capsys, *command)
        assert code == 2, err
        _one_line(err, "error: checkpoint r/checkpoints/step_0000020.safetensors holds NaN or")
    assert not (tmp_path / "s.npy").exists()
