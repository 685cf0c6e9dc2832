"""gankit.sweeps.run_sweep: every variant checked before any trains, each trained and
finished, its caller told of each, then the side-by-side GIF and the comparison page."""

import json

import pytest
from PIL import Image

from gankit.errors import UserError
from gankit.sweeps import run_sweep, variant_label

TINY = [
    "model.g_hidden=[8]", "model.d_hidden=[8]", "train.batch_size=16", "train.steps=10",
    "train.log_every=5", "train.snapshot_every=5", "viz.grid=8", "viz.points=50",
    "eval.n_samples=200", "eval.w1_points=200",
]  # fmt: skip


def test_variant_label_drops_the_section():
    assert variant_label(("model.latent_dim=1", "loss.name=hinge")) == "latent_dim=1 name=hinge"


def test_a_sweep_trains_finishes_and_compares_its_variants(tmp_path):
    heard = []
    result = run_sweep(
        "sine", [["model.latent_dim=1", "model.latent_dim=3"]], TINY, tmp_path / "sw", seed=1,
        progress=False, on_variant=lambda label, summary: heard.append((label, summary)),
    )  # fmt: skip
    assert result.root == tmp_path / "sw"
    assert result.labels == ["latent_dim=1", "latent_dim=3"]
    assert result.runs == [tmp_path / "sw" / "latent_dim=1", tmp_path / "sw" / "latent_dim=3"]
    # each variant finished as `gankit train` finishes a run, and its caller heard of it
    assert [label for label, _ in heard] == result.labels
    for (_, summary), run in zip(heard, result.runs, strict=True):
        assert summary["run"] == str(run) and summary["headline"][0][0] == "distance to curve"
        assert (run / "doctor.json").is_file() and (run / "report.html").is_file()
        assert json.loads((run / "config.json").read_text())["seed"] == 1
    dims = [json.loads((r / "config.json").read_text())["model"]["latent_dim"] for r in result.runs]
    assert dims == [1, 3]
    one = Image.open(result.runs[0] / "training.gif")
    assert result.gif == tmp_path / "sw" / "sweep.gif"
    assert Image.open(result.gif).size[0] == 2 * one.size[0]
    page = result.compare.read_text()
    assert result.compare == tmp_path / "sw" / "compare.html"
    assert "latent_dim=1" in page and "latent_dim=3" in page and "distance to curve" in page
    record = json.loads((tmp_path / "sw" / "sweep.json").read_text())
    assert record["labels"] == result.labels and record["overrides"] == TINY


def test_every_config_is_checked_before_the_first_trains(tmp_path):
    with pytest.raises(UserError, match="loss.name"):
        run_sweep("sine", [["loss.name=bce", "loss.name=nosuch"]], TINY, tmp_path / "sw",
                  progress=False)  # fmt: skip
    assert not (tmp_path / "sw").exists()  # nothing trained, nothing written


@pytest.mark.parametrize(
    ("axes", "fragment"),
    [([], "at least one key"), ([[]], "at least one key"),
     ([["model.latent_dim=1", "model.latent_dim=1"]], "repeat a value")],
)  # fmt: skip
def test_bad_grids_are_one_sentence(tmp_path, axes, fragment):
    with pytest.raises(UserError, match=fragment):
        run_sweep("sine", axes, TINY, tmp_path / "sw", progress=False)
