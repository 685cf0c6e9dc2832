"""The Python API end to end, as a notebook uses it, in a temporary directory."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import gankit as gankit_run
from safetensors.numpy import load_file

import gankit
from gankit.config import parse_override
from gankit.overrides import overrides, toml_value

SMALL = {
    "model": {"g_hidden": [16, 16], "d_hidden": [16, 16]},
    "train": {"batch_size": 32, "steps": 20, "log_every": 5, "snapshot_every": 5,
              "checkpoint_every": 10},
    "viz": {"grid": 16, "points": 100},
    "eval": {"n_samples": 300, "w1_points": 300},
}  # fmt: skip
# the same as the CLI's --set flags
SMALL_SET = [f"--set={o}" for o in overrides(SMALL)]


@pytest.fixture(scope="module")
def sine(tmp_path_factory) -> gankit.Run:
    out = tmp_path_factory.mktemp("api") / "sine"
    return gankit.train("sine", out=out, progress=False, seed=1, **SMALL)


def test_train_returns_a_scored_diagnosed_drawn_run(sine):
    assert sine.step == 20 and sine.name == "sine"
    assert sine.config.model.g_hidden == [16, 16] and sine.config.seed == 1
    assert sine.meta["engine"] == "torch"
    assert [r["step"] for r in sine.metrics if "eval" not in r] == [5, 10, 15, 20]
    scores = sine.scores
    assert scores["step"] == 20
    assert scores["scores"]["sine"]["protocol"]["n_samples"] == 300
    assert scores["real_floor"]["sine"]["curve_distance"] < 0.02
    saved = json.loads((sine.path / "doctor.json").read_text())
    assert [f.name for f in sine.findings] == [f["name"] for f in saved]
    for name in ("training.gif", "curves.png", "report.html"):
        assert (sine.path / name).is_file(), name


def test_sample_is_what_the_cli_writes(sine):
    x = sine.sample(50, seed=3)
    assert x.dtype == np.float32 and x.shape == (50, 2)
    r = gankit_run("sample", str(sine.path), "-n", "50", "--seed", "3", "--out", "x.npy",
                   cwd=sine.path.parent)  # fmt: skip
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(x, np.load(sine.path.parent / "x.npy"))
    assert not np.array_equal(x, sine.sample(50, seed=4))


def test_critic_scores_points_and_refuses_other_shapes(sine):
    real = np.load(sine.path / "snapshots" / "real.npz")["real"][:7]
    d = sine.critic(real)
    assert d.shape == (7,) and np.isfinite(d).all()
    with pytest.raises(gankit.UserError, match=r"points of shape \(n, 2\)"):
        sine.critic(np.zeros((3, 5)))


def test_load_and_runs_find_the_same_run(sine):
    assert gankit.load(sine.path) == sine
    assert sine in gankit.runs(sine.path.parent)
    with pytest.raises(gankit.UserError, match="not a gankit run directory"):
        gankit.load(sine.path / "snapshots")


def test_card_shows_gif_scores_floor_verdict_and_links(sine):
    card = sine._repr_html_()
    assert "data:image/gif;base64," in card
    assert "real data" in card and "distance to curve" in card
    floor = sine.scores["real_floor"]["sine"]["curve_distance"]
    assert f"{floor:.4f}" in card
    assert "doctor:" in card and "report.html" in card and "run directory" in card


def test_resume_is_the_clis_resume(tmp_path):
    """Two equal runs to step 20, one resumed to 30 from Python, one by the CLI: the same
    weights bit for bit."""
    a = gankit.train("ring8", out=tmp_path / "a", progress=False, **SMALL)
    b = gankit.train("ring8", out=tmp_path / "b", progress=False, **SMALL)
    assert a.resume(steps=30, progress=False) is a and a.step == 30
    r = gankit_run("train", "--resume", "b", "--set", "train.steps=30", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    wa = load_file(str(a.path / "checkpoints" / "step_0000030.safetensors"))
    wb = load_file(str(b.path / "checkpoints" / "step_0000030.safetensors"))
    assert wa.keys() == wb.keys()
    for k in wa:
        np.testing.assert_array_equal(wa[k], wb[k], err_msg=k)
    assert a.scores["step"] == 30  # scored again after resuming


@pytest.mark.parametrize(
    ("kwargs", "cli"),
    [
        ({"model": {"latent_dim": 0}}, ["--set", "model.latent_dim=0"]),
        ({"modle": {"latent_dim": 2}}, ["--set", "modle.latent_dim=2"]),
        ({"set": {"loss.name": "nope"}}, ["--set", "loss.name=nope"]),
    ],
)
def test_errors_are_the_clis_sentence(kwargs, cli, tmp_path):
    with pytest.raises(gankit.UserError) as caught:
        gankit.train("sine", out=tmp_path / "x", progress=False, **kwargs)
    r = gankit_run("train", "sine", *cli, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: {caught.value}"
    assert not (tmp_path / "x").exists()


def test_bad_arguments_raise_the_gankit_error(sine, tmp_path):
    with pytest.raises(gankit.UserError, match="unknown preset"):
        gankit.train("sinus", progress=False)
    with pytest.raises(gankit.UserError, match="not a mapping"):
        gankit.train("sine", train=2000, progress=False)
    with pytest.raises(gankit.UserError, match="positive whole number"):
        sine.sample(0)
    with pytest.raises(gankit.UserError, match="grid takes a mapping"):
        gankit.sweep("sine", grid={})
    with pytest.raises(gankit.UserError, match="no samples"):
        sine.critic(np.zeros((0, 2)))
    with pytest.raises(gankit.UserError, match="is not a folder"):
        gankit.runs(tmp_path / "nowhere")


@pytest.mark.parametrize(
    "value",
    [
        True,
        3,
        1e-05,
        0.1 + 0.2,
        float("inf"),
        "bce",
        'a "quoted" \\ str',
        "two\nlines",
        " pad",
        "true",
        "1e-3",
        [16, 32],
    ],
)
def test_python_values_read_back_as_the_same_config_value(value):
    _, back = parse_override(f"x.y={toml_value(value)}")
    assert back == value and type(back) is type(value)


def test_sweep_trains_every_variant_and_compares_them(tmp_path):
    runs = gankit.sweep(
        "sine", grid={"loss.name": ["bce", "hinge"]}, out=tmp_path / "sw", progress=False, **SMALL
    )
    assert [r.config.loss.name for r in runs] == ["bce", "hinge"]
    assert [r.name for r in runs] == ["name=bce", "name=hinge"]  # the CLI's labels, unquoted
    assert all(r.scores is not None for r in runs)
    assert (tmp_path / "sw" / "sweep.gif").is_file()
    assert (tmp_path / "sw" / "compare.html").is_file()


IMPORT_ORDERS = {
    "keras, then gankit": "import keras\nimport gankit\n",
    "torch, keras, then gankit": "import torch\nimport keras\nimport gankit\n",
    "gankit, then keras": "import gankit\nimport keras\n",
}


@pytest.mark.parametrize("order", list(IMPORT_ORDERS))
def test_keras_engine_trains_whatever_the_import_order(order, tmp_path):
    """With Keras on torch (KERAS_BACKEND=torch, or unset when gankit comes first: gankit
    chooses torch), the Keras engine trains in a fresh interpreter whatever came first."""
    code = IMPORT_ORDERS[order] + (
        f"run = gankit.train('ring8', engine='keras', out='k', progress=False, **{SMALL!r})\n"
        "print(run.meta['engine'], keras.backend.backend(), run.sample(4).shape)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    if order != "gankit, then keras":
        env["KERAS_BACKEND"] = "torch"  # without it Keras alone starts TensorFlow
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, env=env, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["keras", "torch", "(4,", "2)"]


def test_export_and_load_generator_sample_as_the_run_does(sine, tmp_path):
    folder = sine.export(tmp_path / "g")
    generator = gankit.load_generator(folder)
    np.testing.assert_array_equal(generator.sample(40, seed=2), sine.sample(40, seed=2))
    assert "real-data floor" in (folder / "README.md").read_text()


def test_try_remedy_trains_the_doctors_first_command(sine, tmp_path):
    """The tiny run is too early to judge: its first remedy trains the preset's steps (here
    cut to 30 by ``set``, laid over the remedy's own overrides, so the test stays short) as a
    new run of the remedy's config."""
    (finding,) = sine.findings
    assert finding.name == "too_early" and "train.steps" not in finding.remedies[0]
    fixed = sine.try_remedy(out=tmp_path / "fixed", progress=False, set={"train.steps": 30})
    expected = gankit.overrides.command_config(f"{finding.remedies[0]} --set train.steps=30")
    assert fixed.config == expected and fixed.path == tmp_path / "fixed"
    assert fixed.scores is not None and fixed.step == 30
    with pytest.raises(gankit.UserError, match="has no finding 'divergence'"):
        sine.try_remedy("divergence")
    with pytest.raises(gankit.UserError, match="which takes 0 to"):
        sine.try_remedy(which=99)


def test_try_remedy_resumes_a_run_stopped_early(tmp_path):
    """The too-early finding's resume remedy trains the same run on from its checkpoint."""
    run = gankit.train("sine", out=tmp_path / "r", progress=False, **SMALL)
    (finding,) = run.findings
    resume = [r for r in finding.remedies if "--resume" in r]
    assert resume == [f"gankit train --resume {run.path} --set train.steps=12000"]
    again = run.try_remedy(which=finding.remedies.index(resume[0]), progress=False,
                           set={"train.steps": 30})  # fmt: skip
    assert again.path == run.path and again.step == 30


def test_train_raises_diverged_after_writing_the_runs_files(tmp_path):
    blow_up = {"optim.name": "sgd", "optim.g_lr": 1e30, "optim.d_lr": 1e30, "loss.name": "lsgan"}
    small = {
        "data.n": 400,
        "train.steps": 10,
        "train.log_every": 5,
        "viz.grid": 8,
        "viz.points": 20,
    }
    with pytest.raises(gankit.Diverged) as err:
        gankit.train("ring8", out=tmp_path / "r", progress=False, set={**blow_up, **small})
    assert err.value.path == tmp_path / "r"
    doctor = json.loads((tmp_path / "r" / "doctor.json").read_text())
    assert "divergence" in [f["name"] for f in doctor]
