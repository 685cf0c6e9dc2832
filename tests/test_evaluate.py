import numpy as np
import pytest

from gankit import training
from gankit.config import load_config
from gankit.errors import UserError
from gankit.evaluate import evaluate, load_trained, score_samples
from gankit.headline import headline
from gankit.run import RunDir

FAST = [
    "model.g_hidden=[16]", "model.d_hidden=[16]", "train.batch_size=32", "data.n=600",
    "data.holdout=300", "train.steps=10", "viz.grid=8", "viz.points=20",
    "eval.n_samples=400", "eval.w1_points=300",
]  # fmt: skip


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory) -> RunDir:
    cfg = load_config("ring8", FAST)
    return training.start(cfg, tmp_path_factory.mktemp("ev") / "r", progress=False)


def test_scores_carry_protocol_and_real_floor(ring_run):
    result = evaluate(ring_run)
    modes = result["scores"]["modes"]
    assert modes["protocol"]["name"] == "pacgan-modes" and modes["protocol"]["n_samples"] == 400
    assert result["scores"]["w1"]["protocol"]["ground"] == "euclidean"
    floor = result["real_floor"]["modes"]
    # real points the model never saw: every mode, near the 98.9 % ceiling, KL near 0
    assert floor["modes"] == 8 and floor["high_quality"] > 0.97 and floor["reverse_kl"] < 0.05
    assert result["real_floor"]["w1"]["value"] < result["scores"]["w1"]["value"]
    assert (ring_run.path / "eval.json").is_file()
    assert ring_run.metrics()[-1]["eval"]["modes"]["n_modes"] == 8
    labels = [row[0] for row in headline(result)]
    assert labels == [
        "modes captured", "high quality", "reverse KL", "  every draw (above: 95 %)",
        "Wasserstein-1",
    ]  # fmt: skip


def test_a_truncating_preset_records_its_sampler_and_every_draw(ring_run):
    # ring8 keeps the 95 % flattest draws: of 400 samples, 422 draws
    result = evaluate(ring_run, log=False)
    sampler = result["sampler"]
    assert sampler["jacobian_keep"] == 0.95 and sampler["draws"] == 422
    assert sampler["kept"] == 400 == result["n_samples"]
    every = result["scores_every_draw"]
    assert every["modes"]["protocol"] == result["scores"]["modes"]["protocol"]
    # G's every draw: the first 400 of the same latent stream, untruncated
    engine, data, _ = load_trained(ring_run)
    cfg = engine.cfg
    x = engine.sample(engine.latent(400, np.random.default_rng([cfg.seed, 5])))
    direct = score_samples(x, data, cfg)
    assert every["w1"]["value"] == direct["w1"]["value"]
    assert every["modes"]["high_quality"] == direct["modes"]["high_quality"]


def test_a_diverged_generator_is_reported_not_scored(ring_run, monkeypatch):
    engine, _, _ = load_trained(ring_run)
    monkeypatch.setattr(type(engine), "sample", lambda self, z: np.full((len(z), 2), np.nan))
    result = evaluate(ring_run, log=False)
    assert result["diverged"] and result["scores"] == {}
    assert headline(result) == [("diverged", "G produced NaN/inf", "")]


def test_no_checkpoint_is_a_clear_error(tmp_path):
    run = RunDir.create(tmp_path / "empty", load_config("ring8", FAST), {})
    with pytest.raises(UserError, match="no complete checkpoint"):
        evaluate(run)
