"""Engine.d_step / Engine.g_step, the lab's one-network steps: each moves its own network and
leaves the other, and the iteration count, as they were, in the torch and numpy engines."""

from __future__ import annotations

import numpy as np
import pytest

from gankit.config import load_config
from gankit.data import load_data
from gankit.engines import make_engine
from gankit.engines.base import STEP_ORDER

SMALL = ["data.n=400", "model.g_hidden=[16]", "model.d_hidden=[16]", "model.g_ema=0",
         "train.batch_size=64"]  # fmt: skip


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_d_step_moves_d_only_and_g_step_g_only(engine: str) -> None:
    cfg = load_config("ring8", [*SMALL, f"train.engine={engine}"])
    data = load_data(cfg.data, cfg.seed, False)
    e = make_engine(cfg, data.train)
    z = e.latent(50, np.random.default_rng(1))
    probe = data.holdout[:50]
    fake0, crit0 = e.sample(z), e.critic(probe)

    stats = e.d_step()
    assert set(stats) == set(STEP_ORDER[:5])
    assert np.array_equal(e.sample(z), fake0)  # G untouched
    crit1 = e.critic(probe)
    assert not np.allclose(crit1, crit0)  # D moved

    stats = e.g_step()
    assert set(stats) == set(STEP_ORDER[5:])
    assert np.array_equal(e.critic(probe), crit1)  # D untouched
    assert not np.allclose(e.sample(z), fake0)  # G moved
    assert e.iteration == 0  # one-network steps are not iterations
