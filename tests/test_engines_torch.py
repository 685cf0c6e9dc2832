from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_NETS, without

from gankit.config import load_config
from gankit.data.toy import make_points
from gankit.engines import make_engine
from gankit.engines.base import lr_scale, realness
from gankit.engines.torch.engine import native_bf16, resolve_precision
from gankit.engines.torch.losses import gradient_penalty
from gankit.errors import UserError
from gankit.losses import LOSSES as TABLE

LOSSES = list(TABLE)
TINY = TINY_NETS


def test_gradient_penalty_matches_finite_differences():
    torch.manual_seed(0)
    d = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1)).double()
    real, fake = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    u = torch.rand(4, 1, dtype=torch.float64)
    gp = gradient_penalty(d, real, fake, u)
    w = d[0].weight
    (grad,) = torch.autograd.grad(gp, w)
    eps, num = 1e-6, torch.zeros_like(w)
    for idx in np.ndindex(*w.shape):
        w.data[idx] += eps
        up = gradient_penalty(d, real, fake, u).item()
        w.data[idx] -= 2 * eps
        down = gradient_penalty(d, real, fake, u).item()
        w.data[idx] += eps
        num[idx] = (up - down) / (2 * eps)
    torch.testing.assert_close(grad, num, rtol=1e-5, atol=1e-8)
    # a linear critic with a unit-norm weight has no penalty
    lin = torch.nn.Linear(3, 1, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.6, 0.8, 0.0]]))
    assert gradient_penalty(lin, real, fake, u).item() == pytest.approx(0.0, abs=1e-12)


def _engine(*overrides, preset="ring8"):
    cfg = load_config(preset, [*TINY, "data.n=500", "data.holdout=50", *overrides])
    return make_engine(cfg, make_points(cfg.data, cfg.seed).train)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("optim", ["adam", "rmsprop", "sgd"])
def test_every_loss_and_optimiser_trains(loss, optim):
    e = _engine(f"loss.name={loss}", f"optim.name={optim}")
    stats = e.train(3)
    assert set(stats) >= {"d_loss", "g_loss", "d_real", "d_fake", "fooled"}
    assert all(np.isfinite(v) for v in stats.values())
    assert 0.0 <= stats["fooled"] <= 1.0


def test_d_step_leaves_g_alone_and_g_step_leaves_d_alone():
    e = _engine()
    g0 = [p.detach().clone() for p in e.G.parameters()]
    d0 = [p.detach().clone() for p in e.D.parameters()]
    e._d_step()
    assert all(torch.equal(a, b) for a, b in zip(g0, e.G.parameters(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(d0, e.D.parameters(), strict=True))
    d1 = [p.detach().clone() for p in e.D.parameters()]
    e._g_step()
    assert all(torch.equal(a, b) for a, b in zip(d1, e.D.parameters(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(g0, e.G.parameters(), strict=True))


def test_wgan_clips_the_critic():
    e = _engine("loss.name=wgan", "loss.clip=0.01", "optim.d_lr=0.1")
    e.train(2)
    assert max(p.abs().max().item() for p in e.D.parameters()) <= 0.01 + 1e-9


def test_packing_judges_m_points_at_once():
    e = _engine("model.pack=4")
    assert e.D.fc0.in_features == 2 * 4
    assert e.critic(np.zeros((5, 2), np.float32)).shape == (5,)
    with pytest.raises(UserError, match="multiple of model.pack"):
        _engine("model.pack=3")


def test_state_round_trip_and_ema_sampling():
    e = _engine("model.g_ema=0.9", "model.g_batchnorm=true", "optim.lr_decay=cosine")
    e.train(5)
    state = e.state()
    assert {"G.fc0.weight", "D.out.bias", "G_ema.fc0.weight", "G.bn0.running_mean"} <= set(state)
    assert any(k.startswith("optim.G.fc0.weight.") for k in state)
    f = _engine("model.g_ema=0.9", "model.g_batchnorm=true", "optim.lr_decay=cosine")
    f.load_state(state)
    z = e.latent(7, np.random.default_rng(0))
    np.testing.assert_array_equal(e.sample(z), f.sample(z))
    np.testing.assert_array_equal(e.train(2)["d_loss"], f.train(2)["d_loss"])
    # the EMA copy, not the raw G, answers sample()
    raw = e.G.eval()(torch.as_tensor(z)).detach().numpy()
    e.G.train()
    assert not np.allclose(raw, e.sample(z))


def test_load_state_of_another_network_is_a_clear_error():
    state = _engine("model.g_hidden=[8]").state()
    with pytest.raises(UserError, match="different network|does not fit"):
        _engine().load_state(state)


@pytest.mark.parametrize("loss", LOSSES)
def test_realness_puts_the_decision_at_one_half(loss):
    real_out, fake_out = np.array([2.0, 3.0]), np.array([-2.0, -1.0])
    r = realness(loss, real_out, real_out, fake_out)
    f = realness(loss, fake_out, real_out, fake_out)
    assert (r > 0.5).all() and (f <= 0.5).all()
    assert ((r >= 0) & (r <= 1)).all()


@pytest.mark.parametrize(
    ("decay", "frac", "scale"),
    [("none", 0.7, 1.0), ("linear", 0.0, 1.0), ("linear", 0.25, 0.75), ("linear", 1.5, 0.0),
     ("cosine", 0.0, 1.0), ("cosine", 0.5, 0.5), ("cosine", 1.0, 0.0)],
)  # fmt: skip
def test_lr_scale_known_answers(decay, frac, scale):
    assert lr_scale(decay, frac) == pytest.approx(scale, abs=1e-12)


def test_engine_follows_the_schedule():
    e = _engine("optim.lr_decay=linear", "train.steps=4", "optim.g_lr=0.4", "optim.d_lr=0.8")
    e.train(2)  # the rate of iteration 2 is set from 1 of 4 iterations done
    assert e.g_opt.param_groups[0]["lr"] == pytest.approx(0.4 * 0.75)
    assert e.d_opt.param_groups[0]["lr"] == pytest.approx(0.8 * 0.75)


# --- per-layer gradient norms -----------------------------------------------------------------


def _assert_layers_sum_to_the_logged_norms(norms: dict[str, float], stats: dict) -> None:
    """Over one net the layers' norms combine to the norm train(1) logged for its step."""
    for net, key in (("D", "d_grad_norm"), ("G", "g_grad_norm")):
        total = sum(v * v for k, v in norms.items() if k.startswith(f"{net}.")) ** 0.5
        assert total == pytest.approx(stats[key], rel=1e-5), net


@pytest.mark.parametrize(
    "extra",
    [
        ["model.g_batchnorm=true", "loss.r1=0.5", "loss.r1_every=2", "model.d_dropout=0.2"],
        ["loss.name=wgan", "loss.clip=0.01", "optim.d_lr=0.1"],  # clipping after the norm
        ["loss.name=wgan-gp", "optim.name=sgd", "optim.momentum=0.9", "model.pack=2"],
    ],
    ids=["batchnorm-lazy-r1-dropout", "wgan-clip", "gp-sgd-pack"],
)
def test_layer_grad_norms_name_the_mlp_layers_and_sum_to_the_logged_norms(extra):
    e = _engine(*extra)
    assert e.layer_grad_norms() == {}  # no step yet
    bn = ["G.bn0", "G.bn1"] if "model.g_batchnorm=true" in extra else []
    expected = {"G.fc0", "G.fc1", "G.out", *bn, "D.fc0", "D.fc1", "D.out"}
    for _ in range(3):  # with r1_every=2: iterations without and with the R1 term
        stats = e.train(1)
        norms = e.layer_grad_norms()
        assert set(norms) == expected
        assert all(isinstance(v, float) and v > 0.0 for v in norms.values())
        _assert_layers_sum_to_the_logged_norms(norms, stats)


@pytest.mark.parametrize(
    ("extra", "d_layers"),
    [
        (
            ["model.d_batchnorm=true", "loss.r1=1.0", "loss.r1_every=1"],
            {"D.conv0", "D.conv1", "D.bn1", "D.out"},
        ),
        (  # spectral norm's parametrized weight counts to its layer
            ["model.d_spectral_norm=true", "model.d_mbstd=true", "model.augment=['translation']"],
            {"D.conv0", "D.conv1", "D.out"},
        ),
    ],
    ids=["batchnorm-r1", "spectral-mbstd-augment"],
)
def test_layer_grad_norms_name_the_conv_layers_and_sum_to_the_logged_norms(extra, d_layers):
    cfg = load_config(
        "stacked-digits",
        ["train.batch_size=8", "model.latent_dim=8", "model.g_channels=[8]",
         "model.d_channels=[4,8]", "train.threads=1", *extra],
    )  # fmt: skip
    data = np.random.default_rng(0).integers(0, 256, (32, 8, 8, 3), dtype=np.uint8)
    e = make_engine(cfg, data)
    assert e.layer_grad_norms() == {}
    for _ in range(2):
        stats = e.train(1)
        norms = e.layer_grad_norms()
        assert set(norms) == {"G.conv0", "G.bn0", "G.out", *d_layers}
        _assert_layers_sum_to_the_logged_norms(norms, stats)


@pytest.mark.parametrize("extra", [[], ["loss.r1=0.1", "model.g_ema=0.9", "optim.beta1=0.3"]])
def test_direct_adam_step_is_the_optimisers_own_bit_for_bit(extra):
    """The engine calls Adam's fused kernel itself (direct_adam.py): the weights and the
    optimiser state after training, and after a resume, equal optimizer.step()'s exactly."""
    data = make_points(load_config("ring8", TINY).data, 0).train

    def trained(direct: bool) -> dict[str, np.ndarray]:
        cfg = load_config("ring8", [*TINY, *extra, *([] if direct else [without("direct_adam")])])
        engine = make_engine(cfg, data)
        assert ("direct_adam" in engine.fast.names) == direct
        engine.train(7)
        resumed = make_engine(cfg, data)
        resumed.load_state(engine.state())  # the lists are gathered again after a load
        resumed.train(7)
        return resumed.state()

    direct, plain = trained(True), trained(False)
    assert direct.keys() == plain.keys()
    for key in direct:
        np.testing.assert_array_equal(direct[key], plain[key], err_msg=key)
    assert direct["train.iteration"][0] == 14


@pytest.mark.parametrize("preset", ["ring8", "stacked-digits"])
def test_bf16_autocast_trains_like_float32(preset):
    """train.precision = bf16 runs the forward passes under bf16 autocast (on the CPU here,
    as on a GPU): the weights stay float32 and the first steps' statistics match float32's
    to bf16's precision; the gradient penalty (R1) runs outside autocast."""
    sets = ["train.batch_size=32", "loss.r1=0.1", "loss.r1_every=1"]
    if preset == "stacked-digits":
        sets += ["data.n=64", "model.g_channels=[16]", "model.d_channels=[8,16]"]
        data = np.random.default_rng(0).integers(0, 256, (64, 8, 8, 3), dtype=np.uint8)
    else:
        data = make_points(load_config(preset).data, 0).train
    stats = {}
    for precision in ("float32", "bf16"):
        engine = make_engine(load_config(preset, [*sets, f"train.precision={precision}"]), data)
        stats[precision] = engine.train(3)
        assert all(p.dtype == torch.float32 for p in engine.G.parameters())
    for key, value in stats["float32"].items():
        assert np.isfinite(stats["bf16"][key])
        if key == "fooled":  # a count of D's outputs above 1/2, and at the start they sit at 1/2
            continue
        assert stats["bf16"][key] == pytest.approx(value, rel=0.05, abs=0.02), key
    assert stats["bf16"]["d_loss"] != stats["float32"]["d_loss"]  # bf16 did run


def test_bf16_needs_float32_weights():
    cfg = load_config("ring8", ["train.precision=bf16", "train.dtype=float64"])
    with pytest.raises(UserError, match="train.dtype = float32"):
        make_engine(cfg, make_points(cfg.data, 0).train)


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_is_bf16_only_where_the_device_computes_it(monkeypatch, native):
    """auto: bf16 on a device with native bf16, float32 where it would be emulated, and the
    float type itself for float64 maths (never an error); the steps by hand stay float32's."""
    from gankit.engines.torch import engine as torch_engine

    monkeypatch.setattr(torch_engine, "native_bf16", lambda device: native)
    cpu = torch.device("cpu")
    assert resolve_precision("auto", "float32", cpu) == ("bf16" if native else "float32")
    assert resolve_precision("auto", "float64", cpu) == "float64"
    assert resolve_precision("float32", "float32", cpu) == "float32"
    cfg = load_config("ring8", ["train.precision=auto", "train.batch_size=16"])
    engine = make_engine(cfg, make_points(cfg.data, 0).train)
    assert engine.precision == ("bf16" if native else "float32")
    assert (engine.fast.by_hand is None) == native  # hand-written steps are float32 maths


def test_native_bf16_reads_the_cpus_own_flags():
    info = Path("/proc/cpuinfo")
    flags = info.read_text() if info.exists() else ""
    if not flags:
        pytest.skip("no /proc/cpuinfo to compare with")
    has = " avx512_bf16" in flags or " amx_tile" in flags
    assert native_bf16(torch.device("cpu")) == has


def test_auto_threads_are_one_for_mlps_and_every_core_for_conv_nets():
    """train.threads = 0: MLPs (points and 8x8 digits alike) are dispatch-bound, one thread;
    convolutional nets take every core."""
    import os

    before = torch.get_num_threads()
    digits = np.random.default_rng(0).integers(0, 256, (32, 8, 8, 1), dtype=np.uint8)
    make_engine(load_config("digits", ["train.batch_size=8"]), digits)
    assert torch.get_num_threads() == 1
    stacked = np.random.default_rng(0).integers(0, 256, (32, 8, 8, 3), dtype=np.uint8)
    make_engine(load_config("stacked-digits", ["train.batch_size=8", "data.n=32"]), stacked)
    assert torch.get_num_threads() == (os.cpu_count() or 1)
    torch.set_num_threads(before)  # the process-wide setting, as the other tests had it


@pytest.mark.parametrize(
    ("preset", "extra"),
    [
        ("ring8", ["loss.r1=0.1", "loss.r1_every=2", "loss.r2=0.1", "loss.r2_every=3"]),
        ("stacked-digits", ["train.batch_size=8", "model.g_channels=[8]", "model.d_mbstd=true"]),
    ],
    ids=["mlp-by-hand-r1-r2", "conv-transpose-r1-from-pass"],
)
def test_fast_paths_off_gives_autograds_numbers(preset, extra):
    """train.fast_paths = false is plain autograd and optimizer.step(): the fast paths give
    the same statistics and weights up to float rounding."""
    sets = [*TINY, "train.dtype=float64", "train.threads=1", "model.d_channels=[4,8]", *extra]
    if preset == "ring8":
        sets.remove("model.d_channels=[4,8]")
    cfg = load_config(preset, sets)
    data = (
        make_points(cfg.data, 0).train
        if preset == "ring8"
        else np.random.default_rng(0).integers(0, 256, (64, 8, 8, 3), dtype=np.uint8)
    )
    fast, plain = (
        make_engine(cfg, data),
        make_engine(load_config(preset, [*sets, "train.fast_paths=false"]), data),
    )
    assert len(fast.fast.names) >= 2 and plain.fast.names == []
    for _ in range(3):
        a, b = fast.train(2), plain.train(2)
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-12), key
    for key, value in fast.state().items():
        if not key.startswith("rng"):
            np.testing.assert_allclose(value, plain.state()[key], rtol=1e-9, atol=1e-12)
