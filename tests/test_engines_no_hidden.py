"""MLPs with no hidden layer (``model.g_hidden=[]`` / ``model.d_hidden=[]``, as GAN Lab's 0
layers): G one linear map from the latent to the data, D a linear score (logistic
regression for the BCE losses), in every engine that builds MLPs; the torch engine's steps
by hand match autograd on them (tests/test_engines_torch_by_hand.py)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import SMALL_DATA

from gankit.config import load_config
from gankit.data.toy import make_points
from gankit.engines import make_engine
from gankit.engines.base import Engine

os.environ.setdefault("KERAS_BACKEND", "torch")  # before Keras is first imported

ENGINES = ["torch", "torch-autograd", "numpy", "keras"]
SETS = [*SMALL_DATA, "train.batch_size=32", "model.g_ema=0"]


def _engine(engine: str, net: str):
    """An engine on ring8 whose ``net`` (g or d) has no hidden layer, the other one of 16."""
    other = "d" if net == "g" else "g"
    sets = [*SETS, f"model.{net}_hidden=[]", f"model.{other}_hidden=[16]"]
    if engine == "keras":
        pytest.importorskip("keras")
    if engine == "torch-autograd":
        sets.append("train.fast_paths=false")
    cfg = load_config("ring8", [*sets, f"train.engine={engine.split('-')[0]}"])
    return make_engine(cfg, make_points(cfg.data, cfg.seed).train)


def _trained(engine: str, net: str) -> Engine:
    """The engine of :func:`_engine` after five steps: finite losses, and of ``net``'s
    layers the output layer alone has a gradient (finite and nonzero, as every layer's)."""
    e = _engine(engine, net)
    stats = e.train(5)
    assert all(np.isfinite(v) for v in stats.values())
    grads = e.layer_grad_norms()
    prefix = f"{net.upper()}."
    assert [k for k in grads if k.startswith(prefix)] == [f"{prefix}out"]
    assert all(np.isfinite(v) and v > 0 for v in grads.values())
    return e


@pytest.mark.parametrize("engine", ENGINES)
def test_a_g_with_no_hidden_layer_is_one_linear_map(engine: str) -> None:
    e = _trained(engine, "g")
    z = e.latent(64, np.random.default_rng(1))
    x = e.sample(z)
    assert x.shape == (64, 2) and np.isfinite(x).all()
    # affine in z: the midpoint of two latents maps to the midpoint of their samples
    mid = e.sample(((z[:32] + z[32:]) / 2).astype(z.dtype))
    np.testing.assert_allclose(mid, (x[:32] + x[32:]) / 2, atol=1e-5)
    assert np.linalg.matrix_rank(x - x.mean(0), tol=1e-4) == 2  # 2-D latent onto the plane


@pytest.mark.parametrize("engine", ENGINES)
def test_a_d_with_no_hidden_layer_is_a_linear_score(engine: str) -> None:
    e = _trained(engine, "d")
    x = np.random.default_rng(2).uniform(-1.5, 1.5, (64, 2)).astype(np.float32)
    out = e.critic(x)
    assert out.shape == (64,) and np.isfinite(out).all()
    mid = e.critic((x[:32] + x[32:]) / 2)
    np.testing.assert_allclose(mid, (out[:32] + out[32:]) / 2, atol=1e-5)
    assert np.ptp(out) > 0  # a score that depends on the point


def test_the_torch_engine_steps_both_by_hand() -> None:
    """A bare Linear layer is a net the steps by hand recognise: no fall-back needed."""
    assert _engine("torch", "g").fast.by_hand is not None
    assert _engine("torch", "d").fast.by_hand is not None
