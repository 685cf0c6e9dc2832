"""The doctor's signals: diversity, drift, modes and classes on known samples."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from gankit.config import load_config
from gankit.data import load_data
from gankit.data.images import digits
from gankit.signals import Signals, mean_pairwise_distance


def test_mean_pairwise_distance_matches_scipy() -> None:
    x = np.random.default_rng(0).normal(size=(300, 5))
    assert mean_pairwise_distance(x) == pytest.approx(pdist(x).mean(), rel=1e-9)
    images = np.random.default_rng(1).integers(0, 256, (40, 8, 8, 1))
    flat = images.reshape(40, -1).astype(np.float64)
    assert mean_pairwise_distance(images) == pytest.approx(pdist(flat).mean(), rel=1e-9)
    assert mean_pairwise_distance(np.ones((10, 3))) == 0.0


class FakeG:
    """Stands in for an engine: G's samples are whatever ``make(z)`` gives."""

    def __init__(self, cfg: Any, make: Any) -> None:
        self.cfg, self.make = cfg, make

    def latent(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(-1, 1, (n, self.cfg.model.latent_dim)).astype(np.float32)

    def sample(self, z: np.ndarray) -> np.ndarray:
        return self.make(z)

    def layer_grad_norms(self) -> dict[str, float]:
        return {"G.fc0": 0.5, "D.fc0": 0.25}


def test_signals_of_a_perfect_and_a_collapsed_generator_on_ring8() -> None:
    cfg = load_config("ring8", ["data.n=20000"])
    data = load_data(cfg.data, cfg.seed, progress=False)
    pool = data.train  # a "G" that draws fresh real points: the ideal generator
    perfect = FakeG(cfg, lambda z: pool[np.random.default_rng(len(z)).choice(len(pool), len(z))])
    s = Signals(cfg, perfect, data)()
    assert s["diversity"] == pytest.approx(1.0, abs=0.05)
    assert s["drift"] == pytest.approx(0.0)  # the same samples as at the start
    assert s["modes"] == 8 and s["mode_kl"] < 0.02 and s["high_quality"] > 0.97
    assert s["layer_grads"] == {"G.fc0": 0.5, "D.fc0": 0.25}
    one_mode = np.asarray(data.info["centres"][0], dtype=np.float32)
    collapsed = FakeG(cfg, lambda z: np.tile(one_mode, (len(z), 1)) + 0.001 * z)
    s = Signals(cfg, collapsed, data)()
    assert s["diversity"] < 0.01
    assert s["modes"] == 1 and s["mode_kl"] == pytest.approx(np.log(8))


def test_drift_is_the_mean_move_over_the_real_spread() -> None:
    cfg = load_config("ring8", ["data.n=20000"])
    data = load_data(cfg.data, cfg.seed, progress=False)
    shift = {"by": 0.0}
    g = FakeG(cfg, lambda z: z.astype(np.float32) + shift["by"])
    signals = Signals(cfg, g, data)
    shift["by"] = 0.3  # every sample moves by (0.3, 0.3)
    expected = 0.3 * np.sqrt(2) / signals.real_spread
    assert signals()["drift"] == pytest.approx(expected, rel=1e-5)
    assert signals()["drift"] == pytest.approx(0.0)  # unchanged since the last call


def test_digit_classes_are_read_from_the_samples() -> None:
    cfg = load_config("digits")
    data = load_data(cfg.data, cfg.seed, progress=False)
    real = data.holdout
    some = FakeG(cfg, lambda z: real[np.arange(len(z)) % len(real)])
    s = Signals(cfg, some, data)()
    assert s["classes"] == 10 and s["class_kl"] < 0.1
    assert s["diversity"] > 0.8
    images, labels = digits()
    zeros = images[labels == 0]  # a G that draws only zeros: one class
    s = Signals(cfg, FakeG(cfg, lambda z: zeros[np.arange(len(z)) % len(zeros)]), data)()
    assert s["classes"] == 1 and s["class_kl"] == pytest.approx(np.log(10))
