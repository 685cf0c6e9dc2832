"""`gankit export` and `gankit.export.load_generator`: the generator alone, sampled without the
run, on runs of all three engines (numpy and keras points, torch images)."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import TINY, gankit
from PIL import Image
from safetensors.numpy import load_file

from gankit.errors import UserError
from gankit.export import load_generator
from gankit.export_card import fmt


def ok(r: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert r.returncode == 0, r.stderr
    return r


def refused(r: subprocess.CompletedProcess, fragment: str) -> None:
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert fragment in " ".join(r.stderr.split()), r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1  # one sentence


@pytest.fixture(scope="module")
def cwd(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("export")


@pytest.fixture(scope="module")
def numpy_run(cwd) -> Path:
    """Points, numpy engine, model.g_ema = 0.999 (the default): the EMA copy is exported."""
    ok(gankit("train", "sine", "--engine", "numpy", *TINY, "--out", "np", cwd=cwd))
    return cwd / "np"


@pytest.fixture(scope="module")
def keras_run(cwd) -> Path:
    """Points, keras engine, no EMA, sampled with Jacobian truncation."""
    ok(
        gankit("train", "ring8", "--engine", "keras", *TINY, "--set", "model.g_ema=0",
               "--set", "model.jacobian_keep=0.5", "--out", "ks", cwd=cwd)
    )  # fmt: skip
    return cwd / "ks"


@pytest.fixture(scope="module")
def digits_run(cwd) -> Path:
    """Images, torch engine; the digits preset keeps an EMA of G."""
    ok(
        gankit("train", "digits", "--set", "train.steps=20", "--set", "train.log_every=10",
               "--set", "train.snapshot_every=10", "--set", "model.g_hidden=[32]",
               "--set", "model.d_hidden=[32]", "--set", "eval.n_samples=200", "--quiet",
               "--out", "dg", cwd=cwd)
    )  # fmt: skip
    return cwd / "dg"


def latest_state(run: Path) -> dict[str, np.ndarray]:
    return load_file(str(sorted((run / "checkpoints").glob("step_*.safetensors"))[-1]))


def test_export_writes_the_ema_weights_the_config_and_the_card(numpy_run, cwd):
    r = ok(gankit("export", "np", "--out", "np-export", cwd=cwd))
    out = cwd / "np-export"
    assert "np-export" in r.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "config.json",
        "generator.safetensors",
        "sample.png",
    ]
    weights = load_file(str(out / "generator.safetensors"))
    state = latest_state(numpy_run)
    ema = {k.replace("G_ema.", "G.", 1): v for k, v in state.items() if k.startswith("G_ema.")}
    assert ema and set(weights) == set(ema)
    for k in weights:
        np.testing.assert_array_equal(weights[k], ema[k])
    assert not np.array_equal(weights["G.out.weight"], state["G.out.weight"])  # EMA, not G
    assert not any(k.startswith(("D.", "optim.", "rng.")) for k in weights)

    config = json.loads((out / "config.json").read_text())
    run_config = json.loads((numpy_run / "config.json").read_text())
    info = config.pop("export")
    assert config == run_config  # the run's resolved config and meta, as they are
    assert info["weights"] == "G_ema" and info["step"] == 20
    assert info["sample"]["kind"] == "points" and info["sample"]["shape"] == [2]
    assert info["sample"]["dtype"] == "float32"
    assert info["sampler"]["name"] == "latent draws, all kept"


def test_the_card_holds_the_scores_their_floors_and_protocols(numpy_run, cwd):
    ok(gankit("export", "np", "--out", "np-card", cwd=cwd))
    card = (cwd / "np-card" / "README.md").read_text()
    result = json.loads((numpy_run / "eval.json").read_text())
    for name, fields in result["scores"].items():
        floor = result["real_floor"][name]
        for key, value in fields.items():
            if key != "protocol" and isinstance(value, float):
                assert f"| {key} | {fmt(value)} | {fmt(floor[key])} |" in card, key
        assert json.dumps(fields["protocol"], separators=(", ", ": ")) in card
    w1, w1_floor = result["scores"]["w1"]["value"], result["real_floor"]["w1"]["value"]
    assert f"| Wasserstein-1 | {w1:.4f} | {w1_floor:.4f} |" in card  # the headline row
    for fact in ("`sine`", "20 of 20", "| engine | numpy", "| seed | 0 |", "EMA copy of G"):
        assert fact in card, fact
    assert "](sample.png)" in card
    picture = Image.open(cwd / "np-card" / "sample.png")
    assert picture.format == "PNG" and picture.size[0] >= 400


def test_samples_equal_gankit_sample_of_the_run_and_need_no_run(numpy_run, cwd, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(numpy_run, copy)
    ok(gankit("export", str(copy), "--out", "exp", cwd=tmp_path))
    ok(gankit("sample", str(copy), "-n", "40", "--seed", "7", "--out", "run.npy", cwd=tmp_path))
    shutil.rmtree(copy)  # the export alone from here on
    ok(gankit("sample", "exp", "-n", "40", "--seed", "7", "--out", "exp.npy", cwd=tmp_path))
    from_run = np.load(tmp_path / "run.npy")
    from_export = np.load(tmp_path / "exp.npy")
    generator = load_generator(tmp_path / "exp")
    x = generator.sample(40, seed=7)
    assert x.dtype == np.float32 and x.shape == (40, 2)
    np.testing.assert_array_equal(x, from_run)
    np.testing.assert_array_equal(from_export, from_run)
    assert not np.array_equal(generator.sample(40, seed=8), x)
    assert generator.config.train.engine == "numpy" and generator.step == 20
    ok(gankit("sample", "exp", "-n", "5", "--out", "exp.csv", cwd=tmp_path))
    assert np.loadtxt(tmp_path / "exp.csv", delimiter=",", skiprows=1).shape == (5, 2)


def test_truncated_keras_run_exports_g_and_samples_truncated(keras_run, cwd):
    ok(gankit("export", "ks", "--out", "ks-export", cwd=cwd))
    out = cwd / "ks-export"
    info = json.loads((out / "config.json").read_text())["export"]
    assert info["weights"] == "G" and info["sampler"]["jacobian_keep"] == 0.5
    weights = load_file(str(out / "generator.safetensors"))
    state = latest_state(keras_run)
    for k, v in weights.items():
        np.testing.assert_array_equal(v, state[k])
    ok(gankit("sample", "ks", "-n", "30", "--seed", "2", "--out", "ks.npy", cwd=cwd))
    generator = load_generator(out)
    truncated = generator.sample(30, seed=2)
    np.testing.assert_array_equal(truncated, np.load(cwd / "ks.npy"))
    every = generator.sample(30, seed=2, truncate=False)
    latent = generator.engine.latent(30, np.random.default_rng(2))
    np.testing.assert_array_equal(every, generator.engine.sample(latent))
    assert not np.array_equal(every, truncated)
    card = (out / "README.md").read_text()
    assert "Jacobian truncation (model.jacobian_keep = 0.5)" in card
    assert "| weights | G itself |" in card and "| engine | keras" in card


def test_image_export_samples_uint8_images_and_grids(digits_run, cwd):
    ok(gankit("export", "dg", "--out", "dg-export", cwd=cwd))
    out = cwd / "dg-export"
    info = json.loads((out / "config.json").read_text())["export"]
    assert info["weights"] == "G_ema"
    assert info["sample"]["shape"] == [8, 8, 1] and info["sample"]["range"] == [0, 255]
    ok(gankit("sample", "dg", "-n", "6", "--seed", "1", "--out", "dg.npy", cwd=cwd))
    x = load_generator(out).sample(6, seed=1)
    assert x.dtype == np.uint8 and x.shape == (6, 8, 8, 1)
    np.testing.assert_array_equal(x, np.load(cwd / "dg.npy"))
    ok(gankit("sample", "dg-export", "-n", "16", "--out", "grid.png", cwd=cwd))
    assert Image.open(cwd / "grid.png").size[0] >= 4 * 96
    refused(gankit("sample", "dg-export", "--out", "x.csv", cwd=cwd), "accepted here: .png, .npy")
    card = (out / "README.md").read_text()
    result = json.loads((digits_run / "eval.json").read_text())
    fd, floor = result["scores"]["fd"]["value"], result["real_floor"]["fd"]["value"]
    assert f"| Fréchet distance (digit-classifier) | {fd:.4g} | {floor:.4g} |" in card
    assert "8x8 grayscale" in card and "uint8 images (n, 8, 8, 1)" in card
    assert Image.open(out / "sample.png").size[0] >= 6 * 96  # a 6x6 grid of enlarged digits


def test_exporting_again_into_the_same_folder_rewrites_it(numpy_run, cwd):
    ok(gankit("export", "np", "--out", "again", cwd=cwd))
    first = (cwd / "again" / "generator.safetensors").read_bytes()
    ok(gankit("export", "np", "--out", "again", cwd=cwd))
    assert (cwd / "again" / "generator.safetensors").read_bytes() == first
    assert not (cwd / "again" / ".export.tmp").exists()


def test_what_cannot_be_exported_is_refused_in_one_sentence(numpy_run, digits_run, cwd, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(numpy_run, bare)
    shutil.rmtree(bare / "checkpoints")
    (bare / "checkpoints").mkdir()
    refused(gankit("export", str(bare), "--out", "x", cwd=tmp_path), "no complete checkpoint")
    assert not (tmp_path / "x").exists()
    (tmp_path / "file").write_text("")
    refused(gankit("export", str(numpy_run), "--out", "file", cwd=tmp_path), "is a file")
    ok(gankit("export", str(numpy_run), "--out", "taken", cwd=tmp_path))
    refused(
        gankit("export", str(digits_run), "--out", "taken", cwd=tmp_path),
        "already holds the export of",
    )
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    refused(gankit("export", str(numpy_run), "--out", "other", cwd=tmp_path), "not a gankit export")
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


def test_a_damaged_export_is_named_in_one_sentence(numpy_run, tmp_path):
    ok(gankit("export", str(numpy_run), "--out", "e", cwd=tmp_path))
    weights = tmp_path / "e" / "generator.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    refused(gankit("sample", "e", "--out", "x.npy", cwd=tmp_path), "does not match the checksum")
    weights.unlink()
    refused(
        gankit("sample", "e", "--out", "x.npy", cwd=tmp_path), "generator.safetensors is missing"
    )
    with pytest.raises(UserError, match="is missing"):
        load_generator(tmp_path / "e")
    with pytest.raises(UserError, match="not a gankit export"):
        load_generator(tmp_path)
    ok(gankit("export", str(numpy_run), "--out", "f", cwd=tmp_path))
    with pytest.raises(UserError, match="positive count"):
        load_generator(tmp_path / "f").sample(0)
