"""The NumPy engine: every backward against finite differences, the double backward of the
gradient penalties, step-for-step parity with the torch engine, exact resume, and
checkpoints that move between the engines."""

import math

import numpy as np
import pytest
import torch
from conftest import QUICK_OUTPUTS, SMALL_DATA, TINY_NETS

from gankit import training
from gankit.config import load_config
from gankit.data.toy import make_points
from gankit.engines import make_engine
from gankit.engines.base import STAT_KEYS, Draws
from gankit.engines.numpy.engine import NumpyEngine
from gankit.engines.numpy.layers import batch_sum
from gankit.engines.numpy.losses import GRADIENTS, squared_norm, unit_gap
from gankit.engines.numpy.model import Net
from gankit.engines.torch.engine import TorchEngine
from gankit.errors import UserError
from gankit.evaluate import evaluate
from gankit.losses import LOSSES
from gankit.run import RunDir

TINY = TINY_NETS
FAST_RUN = [*TINY, *SMALL_DATA, *QUICK_OUTPUTS]
F64 = np.float64


# --- finite differences ---------------------------------------------------------------------


def _numeric(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar f() with respect to every entry of x (in place)."""
    out = np.zeros_like(x)
    flat, g = x.reshape(-1), out.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        g[i] = (up - down) / (2 * eps)
    return out


def _layer_net(spec, seed: int = 0) -> Net:
    net = Net(spec, np.dtype(F64))
    rng = np.random.default_rng(seed)
    net.init(rng)
    net.params += rng.normal(0.0, 0.3, net.params.shape)  # batch-norm scales off 1, shifts off 0
    return net


def _check_net_gradients(net: Net, x: np.ndarray, train: bool = True) -> None:
    """Backward of sum(R * net(x)) against finite differences, for x and every parameter."""
    y, caches = net.forward(x, train, np.random.default_rng(2))
    r = np.random.default_rng(1).normal(size=y.shape)

    def loss() -> float:  # the same dropout mask at every call
        return float(np.sum(r * net.forward(x, train, np.random.default_rng(2))[0]))

    net.zero_grad()
    gx = net.backward(r, caches)
    np.testing.assert_allclose(gx, _numeric(loss, x), rtol=1e-6, atol=1e-8)
    analytic = net.grads.copy()
    np.testing.assert_allclose(analytic, _numeric(loss, net.params), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    "spec",
    [
        [("fc", "linear", (3, 4))],
        [("a", "act", ("relu", 0.2))],
        [("a", "act", ("leaky_relu", 0.2))],
        [("a", "act", ("tanh", 0.2))],
        [("a", "act", ("sigmoid", 0.2))],
        [("a", "act", ("elu", 0.2))],
        [("bn", "batchnorm", (4,))],
        [("d", "dropout", (0.4,))],
        [("t", "tanh", ())],
    ],
    ids=["linear", "relu", "leaky_relu", "tanh", "sigmoid", "elu", "batchnorm", "dropout", "tanh"],
)
def test_layer_backward_matches_finite_differences(spec):
    n_in = spec[0][2][0] if spec[0][1] == "linear" else 4
    x = np.random.default_rng(3).normal(size=(6, n_in))
    _check_net_gradients(_layer_net(spec), x)


def test_a_whole_generator_with_batchnorm_matches_finite_differences():
    spec = [
        ("fc0", "linear", (3, 5)),
        ("bn0", "batchnorm", (5,)),
        ("act0", "act", ("leaky_relu", 0.2)),
        ("out", "linear", (5, 4)),
        ("tanh", "tanh", ()),
    ]
    _check_net_gradients(_layer_net(spec), np.random.default_rng(4).normal(size=(7, 3)))


def test_batchnorm_follows_torch_in_training_and_evaluation():
    net = _layer_net([("bn0", "batchnorm", (3,))])
    bn = torch.nn.BatchNorm1d(3).double()
    with torch.no_grad():
        bn.weight.copy_(torch.as_tensor(net.param_views(net.params)["bn0.weight"]))
        bn.bias.copy_(torch.as_tensor(net.param_views(net.params)["bn0.bias"]))
    rng = np.random.default_rng(5)
    for _ in range(3):  # batch statistics in training; running statistics move
        x = rng.normal(2.0, 3.0, (8, 3))
        y = net.forward(x, True, rng)[0]
        np.testing.assert_allclose(y, bn(torch.as_tensor(x)).detach().numpy(), rtol=1e-12)
    for k in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(net.buffers[f"bn0.{k}"], getattr(bn, k).numpy(), rtol=1e-12)
    x = rng.normal(size=(4, 3))  # evaluation: the running statistics
    bn.eval()
    np.testing.assert_allclose(
        net.forward(x, False, rng)[0], bn(torch.as_tensor(x)).detach().numpy(), rtol=1e-12
    )


def test_dropout_is_inverted_and_off_in_evaluation():
    net = _layer_net([("d", "dropout", (0.25,))])
    x = np.ones((2000, 50))
    y = net.forward(x, True, np.random.default_rng(0))[0]
    assert set(np.unique(y)) == {0.0, 1.0 / 0.75}  # kept units scaled by 1 / (1 - p)
    assert abs(y.mean() - 1.0) < 0.01  # the expected value is unchanged
    np.testing.assert_array_equal(net.forward(x, False, np.random.default_rng(0))[0], x)


def test_penalties_match_torch_on_their_input_gradient():
    g = np.random.default_rng(7).normal(size=(5, 3))
    gt = torch.as_tensor(g).requires_grad_(True)
    for ours, theirs in (
        (unit_gap, ((gt.norm(dim=1) - 1.0) ** 2).mean()),
        (squared_norm, gt.pow(2).sum(dim=1).mean()),
    ):
        value, grad = ours(g)
        (expected,) = torch.autograd.grad(theirs, gt)
        assert value == pytest.approx(theirs.item(), rel=1e-12)
        np.testing.assert_allclose(grad, expected.numpy(), rtol=1e-12)


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "elu", "leaky_relu", "relu"])
@pytest.mark.parametrize("penalty", [unit_gap, squared_norm], ids=["gp", "r1"])
def test_double_backward_matches_finite_differences(act, penalty):
    """d P(grad_x sum D(x)) / d theta of a whole D, dropout included (a fixed mask)."""
    spec = [
        ("fc0", "linear", (4, 6)),
        ("act0", "act", (act, 0.2)),
        ("drop0", "dropout", (0.3,)),
        ("fc1", "linear", (6, 5)),
        ("act1", "act", (act, 0.2)),
        ("out", "linear", (5, 1)),
    ]
    net = _layer_net(spec, seed=8)
    x = np.random.default_rng(9).normal(size=(7, 4))

    def value() -> float:
        net.grads.fill(0.0)
        return net.penalty(x, 1.0, penalty, np.random.default_rng(10))

    value()
    analytic = net.grads * 1.0
    net.zero_grad()
    net.penalty(x, 2.5, penalty, np.random.default_rng(10))  # the weight scales the gradient
    np.testing.assert_allclose(net.grads, 2.5 * analytic, rtol=1e-12)
    np.testing.assert_allclose(analytic, _numeric(value, net.params), rtol=1e-5, atol=1e-8)


def test_batch_sum_adds_in_torchs_order():
    rng = np.random.default_rng(11)
    for n in (1, 7, 16, 33, 64, 256, 300, 4111):
        x = rng.normal(size=(n, 16)) * np.exp(rng.normal(size=(n, 16)) * 4)
        np.testing.assert_array_equal(batch_sum(x), torch.as_tensor(x).sum(0).numpy())


# --- parity with the torch engine ----------------------------------------------------------

PARITY = [*TINY, *SMALL_DATA, "train.dtype=float64", "train.steps=20"]


def _biases_before_batchnorm(cfg, key: str) -> bool:
    """A bias right before a batch-norm has a gradient of exactly 0 in exact arithmetic (the
    norm takes the mean out), so each engine moves it by its own rounding noise (~1e-17,
    which Adam scales up to ~1e-12 a step); training never sees it, only the running mean."""
    key = key.removeprefix("optim.")
    if not cfg.model.g_batchnorm or not key.startswith("G"):
        return False
    return (key.split(".")[1].startswith("fc") and ".bias" in key) or "running_mean" in key


def _exactly_zero_gradient(cfg, key: str) -> bool:
    """D's output bias under a relativistic loss: it shifts D's outputs on real and fake
    alike, which the loss compares, so its gradient is exactly 0 in exact arithmetic and each
    engine moves it by its own rounding noise (~1e-17, which Adam and RMSprop normalise up)."""
    return LOSSES[cfg.loss.name].relativistic and key.removeprefix("optim.") == "D.out.bias"


def _parity(overrides: list[str], preset: str = "ring8", data: np.ndarray | None = None):
    cfg = load_config(preset, [*PARITY, *overrides])
    if data is None:
        data = make_points(cfg.data, cfg.seed).train
    t, n = TorchEngine(cfg, data), NumpyEngine(cfg, data)
    n.load_state(t.state())  # the same initial weights
    t.draws, n.draws = Draws(7), Draws(7)  # the same batches, noise and mixing weights
    for _ in range(cfg.train.steps):
        st, sn = t.train(1), n.train(1)
        for k in STAT_KEYS:
            np.testing.assert_allclose(sn[k], st[k], rtol=1e-10, atol=1e-12, err_msg=k)
    ts, ns = t.state(), n.state()
    assert {k for k in ts if not k.startswith("rng")} == {k for k in ns if not k.startswith("rng")}
    for k, v in ts.items():
        if k.startswith("rng"):
            continue
        assert ns[k].shape == v.shape and ns[k].dtype == v.dtype, k
        atol = 1e-10 if _biases_before_batchnorm(cfg, k) else 1e-12
        atol = 1e-9 if _exactly_zero_gradient(cfg, k) else atol
        np.testing.assert_allclose(ns[k], v, rtol=1e-10, atol=atol, err_msg=k)


@pytest.mark.parametrize("optim", ["adam", "rmsprop", "sgd"])
@pytest.mark.parametrize("loss", list(GRADIENTS))
def test_same_steps_as_the_torch_engine(loss, optim):
    _parity([f"loss.name={loss}", f"optim.name={optim}"])


@pytest.mark.parametrize(
    "overrides",
    [
        # batch-norm, EMA, lazy R1 every 2nd iteration, a decaying rate, 2 D steps, packs of 2
        [
            "model.g_batchnorm=true",
            "model.g_ema=0.9",
            "loss.r1=0.1",
            "loss.r1_every=2",
            "optim.lr_decay=linear",
            "train.d_steps=2",
            "train.g_steps=2",
            "model.pack=2",
        ],
        # a curved D: the double backward's phi'' terms, in both penalties; momentum
        [
            "model.d_activation=tanh",
            "model.g_activation=elu",
            "loss.name=wgan-gp",
            "loss.r1=0.1",
            "loss.r1_every=1",
            "optim.name=rmsprop",
            "optim.momentum=0.9",
            "optim.lr_decay=cosine",
        ],
        ["model.d_activation=sigmoid", "optim.name=sgd", "optim.momentum=0.9", "loss.r1=0.5"],
        # R3GAN's baseline: rpgan with R1 and R2 on a curved D, lazily, with packs
        [
            "loss.name=rpgan",
            "model.d_activation=tanh",
            "loss.r1=0.2",
            "loss.r1_every=2",
            "loss.r2=0.3",
            "loss.r2_every=3",
            "model.pack=2",
            "train.g_steps=2",
        ],
        # ragan with R2 every step; WGAN-GP's penalty lazily, every 3rd iteration
        ["loss.name=ragan", "loss.r1=0", "loss.r2=0.5", "loss.r2_every=1"],
        ["loss.name=wgan-gp", "loss.gp_every=3", "loss.r1=0"],
    ],
    ids=[
        "batchnorm-ema-r1-pack",
        "tanh-gp-r1-momentum",
        "sigmoid-sgd-momentum",
        "rpgan-r1-r2-lazy-pack",
        "ragan-r2",
        "wgan-gp-lazy",
    ],
)
def test_same_steps_as_the_torch_engine_with_everything_on(overrides):
    _parity(overrides)


def test_same_steps_as_the_torch_engine_on_images():
    images = np.random.default_rng(12).integers(0, 256, (60, 4, 3, 2), dtype=np.uint8)
    _parity(
        ["model.latent_dim=5", "model.pack=2", "model.g_batchnorm=true", "train.threads=1"],
        preset="digits",
        data=images,
    )


# --- the engine's own behaviour ------------------------------------------------------------


def _engine(*overrides: str, preset: str = "ring8") -> NumpyEngine:
    cfg = load_config(preset, [*TINY, *SMALL_DATA, "train.engine=numpy", *overrides])
    e = make_engine(cfg, make_points(cfg.data, cfg.seed).train)
    assert isinstance(e, NumpyEngine)
    return e


def test_d_step_leaves_g_alone_and_g_step_leaves_d_alone():
    e = _engine("model.g_batchnorm=true", "model.d_dropout=0.2", "loss.r1=0.1", "loss.r1_every=1")
    e.iteration = 1
    g0, d0 = e.G.params.copy(), e.D.params.copy()
    e._d_step()
    np.testing.assert_array_equal(e.G.params, g0)
    assert not np.array_equal(e.D.params, d0)
    d1 = e.D.params.copy()
    e._g_step()
    np.testing.assert_array_equal(e.D.params, d1)
    assert not np.array_equal(e.G.params, g0)


def test_wgan_clips_the_critic():
    e = _engine("loss.name=wgan", "loss.clip=0.01", "optim.d_lr=0.1")
    e.train(2)
    assert np.abs(e.D.params).max() <= 0.01


def test_train_returns_the_stat_keys_in_float32_by_default():
    e = _engine("model.d_dropout=0.3")
    stats = e.train(3)
    assert tuple(stats) == STAT_KEYS and all(np.isfinite(v) for v in stats.values())
    assert e.G.params.dtype == np.float32 and e.sample(np.zeros((3, 2))).dtype == np.float32
    assert e.critic(np.zeros((5, 2), np.float32)).shape == (5,)


def test_packing_judges_m_points_at_once():
    e = _engine("model.pack=4")
    assert e.D.param_views(e.D.params)["fc0.weight"].shape == (16, 2 * 4)
    assert e.critic(np.zeros((5, 2), np.float32)).shape == (5,)
    with pytest.raises(UserError, match="multiple of model.pack"):
        _engine("model.pack=3")


def test_engine_follows_the_schedule():
    e = _engine("optim.lr_decay=linear", "train.steps=4", "optim.g_lr=0.4", "optim.d_lr=0.8")
    e.train(2)  # the rate of iteration 2 is set from 1 of 4 iterations done
    assert e.g_opt.lr == pytest.approx(0.4 * 0.75) and e.d_opt.lr == pytest.approx(0.8 * 0.75)


STATEFUL = [
    "model.d_dropout=0.2",
    "model.g_batchnorm=true",
    "model.g_ema=0.9",
    "optim.lr_decay=cosine",
    "loss.r1=0.1",
    "loss.r1_every=3",
]


@pytest.mark.parametrize("optim", ["adam", "rmsprop", "sgd"])
def test_n_steps_state_round_trip_n_steps_equals_2n_steps(optim):
    extra = [*STATEFUL, f"optim.name={optim}", "optim.momentum=0.5"]
    whole, half = _engine(*extra), _engine(*extra)
    whole.train(10)
    half.train(5)
    fresh = _engine(*extra)
    fresh.train(3)  # weights, optimiser, EMA, batch-norm and streams elsewhere: all replaced
    fresh.load_state(half.state())
    fresh.train(5)
    a, b = whole.state(), fresh.state()
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_state_names_shapes_and_dtypes_are_the_torch_engines():
    cfg = load_config("ring8", [*TINY, *SMALL_DATA, *STATEFUL])
    data = make_points(cfg.data, cfg.seed).train
    t, n = TorchEngine(cfg, data), NumpyEngine(cfg, data)
    t.train(2)
    n.train(2)
    ts, ns = t.state(), n.state()
    assert {k for k in ns if k.startswith("rng.")} == {"rng.numpy.batches", "rng.numpy.dropout"}
    assert {k for k in ts if not k.startswith("rng.")} == {
        k for k in ns if not k.startswith("rng.")
    }
    for k, v in ts.items():
        if not k.startswith("rng."):
            assert (ns[k].shape, ns[k].dtype) == (v.shape, v.dtype), k


def test_load_state_of_another_network_is_a_clear_error():
    state = _engine("model.g_hidden=[8,8]").state()
    with pytest.raises(UserError, match="does not fit"):
        _engine().load_state(state)
    del state["D.out.bias"]
    with pytest.raises(UserError, match="different network"):
        _engine("model.g_hidden=[8,8]").load_state(state)


@pytest.mark.parametrize(
    ("preset", "overrides", "match"),
    [
        ("breakout", [], "runs MLPs .* preset breakout uses model.arch = upconv"),
        ("dcgan", [], "model.arch = dcgan: train it with --engine torch or --engine keras"),
        ("digits", ["model.augment=['translation']"], "augment"),
        ("digits", ["model.d_spectral_norm=true"], "spectral"),
    ],
)
def test_what_the_engine_cannot_run_is_a_clear_error(preset, overrides, match):
    cfg = load_config(preset, ["train.engine=numpy", *overrides])
    images = np.zeros((4, 64, 64, 3), np.uint8)
    with pytest.raises(UserError, match=match):
        make_engine(cfg, images)


# --- through the training loop, and across engines -------------------------------------


def test_sine_trains_and_evaluates_end_to_end(tmp_path):
    cfg = load_config("sine", [*FAST_RUN, "train.steps=20", "train.engine=numpy"])
    run = training.start(cfg, tmp_path / "r", progress=False)
    assert run.raw_config()["meta"]["engine"] == "numpy"
    assert [r["step"] for r in run.metrics()] == [5, 10, 15, 20]
    result = evaluate(run)
    assert np.isfinite(result["scores"]["sine"]["curve_distance"])


def test_digits_image_mlp_trains(tmp_path):
    cfg = load_config(
        "digits",
        [
            "model.g_hidden=[32]",
            "model.d_hidden=[32]",
            "model.latent_dim=8",
            "train.batch_size=16",
            "train.steps=6",
            "train.log_every=3",
            "train.snapshot_every=6",
            "train.checkpoint_every=6",
            "viz.images=4",
            "train.engine=numpy",
            "train.threads=1",
        ],
    )
    run = training.start(cfg, tmp_path / "d", progress=False)
    engine = make_engine(cfg, np.zeros((4, 8, 8, 1), np.uint8))
    engine.load_state(run.latest_checkpoint()[1])
    x = engine.sample(engine.latent(3, np.random.default_rng(0)))
    assert x.shape == (3, 8, 8, 1) and x.dtype == np.uint8


def test_resume_equals_an_uninterrupted_run(tmp_path):
    extra = [*FAST_RUN, *STATEFUL, "optim.lr_decay=none", "train.engine=numpy"]
    whole = training.start(
        load_config("ring8", [*extra, "train.steps=30"]), tmp_path / "w", progress=False
    )
    half = training.start(
        load_config("ring8", [*extra, "train.steps=20"]), tmp_path / "h", progress=False
    )
    training.resume(half.path, ["train.steps=30"], progress=False)
    a, b = whole.latest_checkpoint()[1], half.latest_checkpoint()[1]
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def _both_ways(run: RunDir, other: str) -> None:
    """The run's newest checkpoint in the other engine samples and judges the same."""
    cfg = run.config()
    data = make_points(cfg.data, cfg.seed).train
    state = run.latest_checkpoint()[1]
    mine = make_engine(cfg, data)
    theirs = make_engine(cfg.model_copy(update={"train": cfg.train.model_copy(
        update={"engine": other})}), data)  # fmt: skip
    mine.load_state(state)
    theirs.load_state(state)
    assert theirs.name == other
    z = mine.latent(64, np.random.default_rng(0))
    np.testing.assert_allclose(theirs.sample(z), mine.sample(z), atol=1e-5, rtol=1e-5)
    x = data[:64]
    np.testing.assert_allclose(theirs.critic(x), mine.critic(x), atol=1e-5, rtol=1e-5)


def test_checkpoints_move_between_the_engines(tmp_path):
    extra = [*FAST_RUN, "model.g_batchnorm=true", "model.pack=2", "train.steps=10"]
    torch_run = training.start(load_config("ring8", extra), tmp_path / "t", progress=False)
    _both_ways(torch_run, "numpy")
    numpy_run = training.start(
        load_config("ring8", [*extra, "train.engine=numpy"]), tmp_path / "n", progress=False
    )
    _both_ways(numpy_run, "torch")
    # a torch run resumed by the numpy engine goes on from its checkpoint
    training.resume(torch_run.path, ["train.steps=20", "train.engine=numpy"], progress=False)
    assert torch_run.latest_checkpoint()[0] == 20
    assert [e["event"] for e in torch_run.events()] == ["start", "end", "resume", "end"]
    assert all(np.isfinite(r["d_loss"]) for r in torch_run.metrics())


# --- per-layer gradient norms ----------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        ["loss.r1=0.5", "loss.r1_every=2"],  # iterations without and with the lazy R1 term
        ["model.g_batchnorm=true", "loss.name=wgan-gp", "model.pack=2", "train.d_steps=2"],
        ["loss.name=wgan", "optim.name=rmsprop"],  # D's weights clipped after the step
    ],
    ids=["lazy-r1", "batchnorm-gp-pack-dsteps", "wgan-rmsprop"],
)
def test_layer_grad_norms_match_the_torch_engine(overrides):
    cfg = load_config("ring8", [*PARITY, *overrides])
    data = make_points(cfg.data, cfg.seed).train
    t, n = TorchEngine(cfg, data), NumpyEngine(cfg, data)
    n.load_state(t.state())
    t.draws, n.draws = Draws(7), Draws(7)
    assert n.layer_grad_norms() == {} == t.layer_grad_norms()
    bn = ["G.bn0", "G.bn1"] if cfg.model.g_batchnorm else []
    layers = {"G.fc0", "G.fc1", "G.out", *bn, "D.fc0", "D.fc1", "D.out"}
    for _ in range(3):
        t.train(1)
        sn = n.train(1)
        gt, gn = t.layer_grad_norms(), n.layer_grad_norms()
        assert set(gn) == layers
        assert list(gn) == list(gt)  # the same layers, in the same order
        for k, v in gt.items():
            assert isinstance(gn[k], float)
            assert gn[k] == pytest.approx(v, rel=1e-9), k  # float64 both
        for net, key in (("D", "d_grad_norm"), ("G", "g_grad_norm")):
            total = math.sqrt(sum(v * v for k, v in gn.items() if k.startswith(f"{net}.")))
            assert total == pytest.approx(sn[key], rel=1e-5), net


def test_layer_grad_norms_name_the_image_mlp_layers():
    images = np.random.default_rng(12).integers(0, 256, (40, 4, 3, 2), dtype=np.uint8)
    cfg = load_config(
        "digits",
        ["model.latent_dim=5", "model.g_hidden=[8,8]", "model.d_hidden=[8]",
         "train.batch_size=8", "train.threads=1"],
    )  # fmt: skip
    e = NumpyEngine(cfg, images)
    assert e.layer_grad_norms() == {}
    stats = e.train(1)
    norms = e.layer_grad_norms()
    assert set(norms) == {"G.fc0", "G.bn0", "G.fc1", "G.bn1", "G.out", "D.fc0", "D.out"}
    t = TorchEngine(cfg, images)
    t.train(1)
    assert list(t.layer_grad_norms()) == list(norms)  # the torch engine's names
    d = math.sqrt(sum(v * v for k, v in norms.items() if k.startswith("D.")))
    assert d == pytest.approx(stats["d_grad_norm"], rel=1e-5)
    # a fresh engine holding the trained weights has taken no step of its own
    twin = NumpyEngine(cfg, images)
    twin.load_state(e.state())
    assert twin.layer_grad_norms() == {}
