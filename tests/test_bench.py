"""`gankit bench` and the plain loop it measures gankit against."""

import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from gankit.bench import bench_data
from gankit.config import load_config
from gankit.engines.base import Draws
from gankit.engines.torch.engine import TorchEngine
from gankit.plain_loop import PlainLoop

KEYS = {"preset", "device", "batch", "precision", "unit", "gankit", "plain", "ratio", "steps",
        "threads"}  # fmt: skip


def gankit(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-m", "gankit", *args], capture_output=True, text=True, env=env,
        timeout=300,
    )  # fmt: skip


def test_bench_prints_one_json_line_per_preset():
    r = gankit("bench", "ring8", "stacked-digits", "--steps", "3", "--device", "cpu",
               "--set", "train.batch_size=32")  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["preset"] for row in rows] == ["ring8", "stacked-digits"]
    for row in rows:
        assert set(row) >= KEYS, row
        assert row["device"] == f"cpu ({os.cpu_count()} cores)"
        assert row["batch"] == 32 and row["steps"] == 3 and row["precision"] == "float32"
        assert row["gankit"] > 0 and row["plain"] > 0
        assert row["ratio"] == pytest.approx(row["gankit"] / row["plain"], rel=1e-2)
    points, images = rows
    assert points["unit"] == "steps/s" and points["threads"] == 1
    # images: all cores, as the engine sets them (TrainConfig.threads = 0)
    assert images["unit"] == "images/s" and images["threads"] == (os.cpu_count() or 1)
    assert "random uint8" in images["data"]


def test_ablate_times_each_fast_path_off_in_turn():
    r = gankit("bench", "stacked-digits", "--ablate", "--steps", "2", "--device", "cpu",
               "--set", "train.batch_size=16")  # fmt: skip
    assert r.returncode == 0, r.stderr
    (row,) = [json.loads(line) for line in r.stdout.splitlines()]
    # a conv D under R1: its penalty by D's transpose
    assert row["fast_paths"] == ["transpose", "direct_adam"]
    assert set(row["without"]) == set(row["gain"]) == set(row["fast_paths"])
    for name, rate in row["without"].items():
        assert rate > 0 and row["gain"][name] == pytest.approx(row["all"] / rate - 1, abs=2e-3)


def test_bench_refuses_a_bad_preset_in_one_sentence():
    r = gankit("bench", "ring9", "--steps", "1")
    assert r.returncode == 2
    assert "unknown preset 'ring9'" in r.stderr and r.stderr.strip().count("\n") == 0
    assert r.stdout == ""


def test_bench_images_have_the_presets_shape():
    x, _ = bench_data(load_config("breakout"))
    assert x.dtype == np.uint8 and x.shape[1:] == (210, 160, 3)
    x, _ = bench_data(load_config("breakout-fast"))
    assert x.shape[1:] == (105, 80, 3)
    x, _ = bench_data(load_config("digits"))
    assert x.shape[1:] == (8, 8, 1)


def _pairs(net: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    """(name of a layer, the layer after it) along a Sequential."""
    return [(a, b) for (a, _), (_, b) in itertools.pairwise(net.named_children())]


def same_draws(plain: PlainLoop, data: np.ndarray, seed: int) -> None:
    """Feed the plain loop the batches, noise and mixing weights a Draws(seed) gives the
    engine: both ask in the same order (per D step: indices, noise, then WGAN-GP's mixing
    weights; per G step: noise)."""
    draws = Draws(seed)
    cfg = plain.cfg

    def batches():
        while True:
            yield torch.as_tensor(data[draws.indices(len(data), cfg.train.batch_size)])

    plain.batches = batches()
    plain.noise = lambda n: torch.as_tensor(
        draws.latent(n, cfg.model.latent_dim, cfg.model.latent_dist), dtype=torch.float32
    )
    plain.mix = lambda n: torch.as_tensor(draws.mix(n), dtype=torch.float32)


@pytest.mark.parametrize(
    "preset, sets, rtol, weights_too",
    [
        # R1 every 2nd iteration and a fast linear decay, so both show up in 4 iterations
        ("ring8", ["loss.r1_every=2", "loss.r1=0.5", "train.steps=8", "model.pack=2"], 2e-4, True),
        ("sine", ["loss.name=hinge", "model.g_ema=0.9", "train.d_steps=2"], 2e-4, True),
        # G with batch-norm and an EMA copy of its buffers
        ("digits", ["train.steps=6"], 2e-4, True),
        # gankit's transposed convolutions as matrix products against torch's own modules
        ("stacked-digits", ["train.steps=6", "data.n=600"], 2e-4, True),
        # D with batch-norm: the real and the fake batch normalised apart, as the plain loop
        # does (one pass over both moves the first D loss from 1.16 to 1.82, the 4th to 0.06).
        # Convolutions over channels-last against contiguous memory round differently in
        # float32, and 4 Adam steps grow it to ~0.3 % in the losses; Adam's first steps move
        # each weight by about lr whatever its gradient's size, so near-zero gradients
        # rounded to the other sign leave weights 2-3 steps apart: the losses are compared,
        # with DCGAN's Adam (the preset's beta1 = 0 makes every step that sign-driven)
        # a critic under the gradient penalty and, below, a D with minibatch-std under R1:
        # gankit's input gradient by D's transpose (R1's from the pass over real and fake)
        # and minibatch-std from two means, against autograd's double backward and torch.var
        (
            "breakout-wgan",
            [
                "data.size=[24,16]",
                "model.d_channels=[8,16]",
                "model.g_channels=[16,8]",
                "train.d_steps=2",
            ],
            2e-4,
            True,
        ),
        (
            "folder",
            [
                "data.size=[16,16]",
                "model.d_channels=[8,16]",
                "model.g_channels=[16,8]",
                "model.augment=[]",
                "loss.r1_every=2",
            ],
            2e-4,
            True,
        ),
        (
            "breakout-fast",
            [
                "model.d_batchnorm=true",
                "loss.r1=0",
                "train.precision=float32",
                "optim.beta1=0.5",
                "optim.beta2=0.999",
            ],
            5e-3,
            False,
        ),
    ],
)
def test_plain_loop_does_the_engines_maths(preset, sets, rtol, weights_too):
    """Same initial weights, same batches and noise: the same losses step by step and the same
    weights after (fused against plain Adam, one D pass against two: float rounding only)."""
    cfg = load_config(preset, [*sets, "train.device=cpu", "train.batch_size=32"])
    data, _ = bench_data(cfg)
    data = data[:500]
    engine = TorchEngine(cfg, data)
    engine.draws = Draws(7)
    plain = PlainLoop(cfg, data, "cpu")
    float_data = plain.loader.dataset.tensors[0].numpy()  # the plain loop's float samples
    same_draws(plain, float_data, 7)
    for name, p in engine.G.state_dict().items():
        assert torch.equal(p, plain.G.state_dict()[name]), name
    engine_losses = []
    for _ in range(4):  # each iteration's last D loss and last G loss
        stats = engine.train(1)
        engine_losses += [stats["d_loss"], stats["g_loss"]]
    plain.train(4)
    per_iteration = cfg.train.d_steps + cfg.train.g_steps
    plain_losses = [
        plain.losses[k * per_iteration + offset]
        for k in range(4)
        for offset in (cfg.train.d_steps - 1, per_iteration - 1)
    ]
    np.testing.assert_allclose(plain_losses, engine_losses, rtol=rtol, atol=1e-6)
    if not weights_too:
        return
    # Adam moves a weight by about lr whatever its gradient's size, so float rounding (oneDNN
    # against MKL products) that flips a near-zero gradient's sign leaves that weight up to
    # 2 lr per step apart: nearly all weights agree to rounding, none by more than that
    bound = 2 * max(cfg.optim.g_lr, cfg.optim.d_lr) * 4
    # a bias straight before batch-norm has a gradient of exactly 0 in theory and rounding
    # noise in practice, which Adam turns into steps of lr (breakout's G): left out
    noise = {f"{a}.bias" for net in (engine.G, engine.D) for a, b in _pairs(net)
             if isinstance(b, torch.nn.modules.batchnorm._BatchNorm)}  # fmt: skip
    pairs = [(net.state_dict(), twin.state_dict()) for net, twin in ((engine.G, plain.G),
             (engine.D, plain.D))]  # fmt: skip
    if cfg.model.g_ema:
        pairs.append((engine.G_ema.state_dict(), plain.G_ema.state_dict()))
    for ours, theirs in pairs:
        for name, p in ours.items():
            if name in noise:
                continue
            a, b = p.double().numpy(), theirs[name].double().numpy()
            close = np.abs(a - b) <= 1e-5 + 1e-3 * np.abs(b)
            assert close.mean() >= 0.99, (name, close.mean())
            assert np.abs(a - b).max() <= bound, name
