"""The Keras engine: matched to the torch engine number for number (same weights, same Draws),
checkpoints crossing between the engines both ways, exact resume, the keras.Model user path,
gankit's loop end to end, and the image networks and options."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before Keras is first imported

import keras
import numpy as np
import pytest
import torch
from conftest import SMALL_DATA, TINY_NETS
from conftest import TINY_CONV as SHARED_TINY_CONV

from gankit import training
from gankit.config import load_config
from gankit.data.toy import make_points
from gankit.engines import make_engine
from gankit.engines.base import STAT_KEYS, Draws
from gankit.engines.keras.augment import diff_augment
from gankit.engines.keras.gan import GAN
from gankit.engines.keras.layers import BatchNorm, SpectralNorm, Unflatten, nearest_indices
from gankit.engines.keras.models import build_networks
from gankit.engines.keras.optimizers import TorchAdam, TorchRMSprop, TorchSGD
from gankit.engines.keras.state import to_numpy
from gankit.errors import UserError
from gankit.evaluate import evaluate
from gankit.losses import LOSSES

torch.set_num_threads(1)

TINY = [*TINY_NETS, *SMALL_DATA, "train.steps=40"]
TINY_CONV = [*SHARED_TINY_CONV, "train.steps=20"]
RTOL = 1e-5
# A smooth D (tanh) and a wider WGAN clip: with a piecewise-linear D (leaky ReLU) and a
# linear loss (wgan, wgan-gp, hinge), a hidden unit in one linear piece for the whole batch
# has a bias gradient that is zero analytically and rounding noise numerically, which Adam
# and RMSprop turn into full-size steps in random directions; there the torch engine
# against itself with every weight moved by one ulp already differs by 5e-4 to 2 after
# 20 iterations, so no float32 reimplementation can match it to 1e-5. Here torch-vs-torch
# with one-ulp moves stays near 1e-6, and so does Keras-vs-torch.
WELL_CONDITIONED = ["model.d_activation=tanh", "loss.clip=0.5"]


def _images(n: int, h: int, w: int, c: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, c), dtype=np.uint8)


def _pair(preset, overrides, data=None):
    """A torch and a Keras engine of one config, the Keras one holding the torch weights."""
    ct = load_config(preset, overrides)
    ck = load_config(preset, [*overrides, "train.engine=keras"])
    if data is None:
        data = make_points(ct.data, 0).train
    t, k = make_engine(ct, data), make_engine(ck, data)
    k.load_state(t.state())
    return t, k


def _noise_only(engine) -> set[str]:
    """Entries driven by rounding noise alone: a bias right before batch-norm has an
    analytically zero gradient (~1e-9 in both engines), which Adam and RMSprop normalise into
    steps of ~0.1 lr in random directions; the running mean it shifts, the EMA copies and
    the bias's optimiser state follow. Everything else is compared."""
    out: set[str] = set()
    for prefix, net in (("G", engine.gan.generator), ("D", engine.gan.discriminator)):
        before = None
        for layer in net.layers:
            if isinstance(layer, BatchNorm) and getattr(before, "use_bias", False):
                names = {f"{prefix}.{before.name}.bias", f"{prefix}.{layer.name}.running_mean"}
                out |= names | {"optim." + n for n in names}
                if prefix == "G":
                    out |= {n.replace("G.", "G_ema.", 1) for n in names}
            if not isinstance(layer, Unflatten):  # a reshape: the bias still feeds the norm
                before = layer
    # D's last batch-norm in the seed's order (after the activation, then flatten and
    # dense): with the real and the fake batch normalised apart, its shift's gradient is a
    # difference of two nearly equal sums (1e-4 against 0.05-0.5 for D's other weights in
    # test_conv_nets_match_torch), so its float32 rounding is ~100x larger relative, and
    # Adam's normalised step carries it (2e-5 of the weight's scale after 8 iterations)
    layers = engine.gan.discriminator.layers
    norms = [i for i, layer in enumerate(layers) if isinstance(layer, BatchNorm)]
    if norms and isinstance(layers[norms[-1] - 1], keras.layers.LeakyReLU):
        name = f"D.{layers[norms[-1]].name}.bias"
        out |= {name, "optim." + name}
    # a relativistic loss compares D's outputs on real and fake, so D's output bias shifts
    # both alike and its gradient is zero analytically: rounding noise, normalised by Adam
    # and RMSprop, is all that moves it
    if engine.gan.gan_loss.relativistic:
        out |= {"D.out.bias", "optim.D.out.bias"}
    return out


def _assert_states_match(
    st: dict, sk: dict, skip: set[str] = frozenset(), rtol: float = RTOL
) -> float:
    """Same names, shapes and dtypes (the engines' own rng entries aside); every float
    entry equal to RTOL of its tensor's scale (largest magnitude). Returns the largest
    relative difference."""
    assert {k for k in st if not k.startswith("rng.")} == {
        k for k in sk if not k.startswith("rng.")
    }
    worst = 0.0
    for key, v in st.items():
        if key.startswith("rng."):
            continue
        w = sk[key]
        assert (w.shape, w.dtype) == (v.shape, v.dtype), key
        if key in skip or any(key.startswith(f"{s}.") for s in skip if s.startswith("optim.")):
            continue
        if v.dtype.kind != "f":
            np.testing.assert_array_equal(w, v, err_msg=key)
            continue
        diff = float(np.abs(w.astype(np.float64) - v).max()) / max(float(np.abs(v).max()), 1e-30)
        assert diff <= rtol, (key, diff)
        worst = max(worst, diff)
    return worst


def _train_both(t, k, n: int) -> float:
    """n iterations on both engines from equal Draws; each statistic's trajectory equal to
    RTOL of its scale (its largest magnitude over the run: a loss crossing zero has no
    relative error there)."""
    t.draws, k.draws = Draws(7), Draws(7)
    a = np.array([list(t.train(1).values()) for _ in range(n)])
    b = np.array([list(k.train(1).values()) for _ in range(n)])
    diff = np.abs(a - b).max(axis=0) / np.maximum(np.abs(a).max(axis=0), 1e-30)
    assert (diff <= RTOL).all(), dict(zip(STAT_KEYS, diff, strict=True))
    return float(diff.max())


@pytest.mark.parametrize("optim", ["adam", "rmsprop", "sgd"])
@pytest.mark.parametrize("loss", list(LOSSES))
def test_matches_torch_for_every_loss_and_optimiser(loss, optim):
    extra = ["optim.momentum=0.5"] if optim != "adam" else []
    t, k = _pair(
        "ring8", [*TINY, *WELL_CONDITIONED, f"loss.name={loss}", f"optim.name={optim}", *extra]
    )
    _train_both(t, k, 20)
    # a relativistic D's gradient is sigmoid(f - r) (grad D(fake) - grad D(real)), a
    # difference of nearly equal terms while D cannot yet tell: float32 rounding is larger
    # relative to it, and RMSprop's normalised steps carry it (rpgan: 2.0e-5 in its squared
    # averages after 20 steps; every other loss and optimiser within 1e-5)
    rtol = 3 * RTOL if LOSSES[loss].relativistic and optim == "rmsprop" else RTOL
    _assert_states_match(t.state(), k.state(), skip=_noise_only(k), rtol=rtol)


@pytest.mark.parametrize("optim", ["adam", "sgd"])
def test_matches_torch_with_batchnorm_ema_lazy_r1_decay_dsteps_and_pack(optim):
    t, k = _pair(
        "ring8",
        [
            *TINY, f"optim.name={optim}", "model.g_batchnorm=true", "model.g_ema=0.9",
            "loss.r1=0.5", "loss.r1_every=3", "optim.lr_decay=linear", "train.d_steps=2",
            "model.pack=2", "optim.momentum=0.9",
        ],
    )  # fmt: skip
    _train_both(t, k, 20)
    _assert_states_match(t.state(), k.state(), skip=_noise_only(k))
    z = t.latent(9, np.random.default_rng(0))
    if optim == "sgd":  # the EMA generator, batch-norm in evaluation mode
        np.testing.assert_allclose(k.sample(z), t.sample(z), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "extra",
    [
        ["loss.name=rpgan", "loss.r1=0.5", "loss.r1_every=2", "loss.r2=0.5", "loss.r2_every=3"],
        ["loss.name=wgan-gp", "loss.gp_every=2", "loss.r2=0.2", "loss.r2_every=1"],
    ],
    ids=["rpgan-r1-r2-lazy", "wgan-gp-lazy-r2"],
)
def test_matches_torch_with_the_penalties_as_data(extra):
    t, k = _pair("ring8", [*TINY, *WELL_CONDITIONED, "model.pack=2", *extra])
    _train_both(t, k, 20)
    _assert_states_match(t.state(), k.state(), skip=_noise_only(k))


@pytest.mark.parametrize(
    "extra",
    [
        ["model.d_mbstd=true", "model.d_spectral_norm=true", "model.pack=2", "loss.r1_every=2"],
        ["loss.name=wgan-gp", "model.pack=2", "optim.name=sgd", "optim.momentum=0.5"],
        [
            "loss.name=lsgan",
            "optim.name=rmsprop",
            "optim.momentum=0.5",
            "optim.g_lr=1e-4",
            "optim.d_lr=1e-4",
        ],
        ["model.arch=upconv", "model.g_channels=[8,4]", "model.d_batchnorm=true"],
        ["model.arch=upconv", "model.g_channels=[8,4]", "model.d_head=[6]", "model.pack=2"],
    ],
)
def test_conv_nets_match_torch(extra):
    t, k = _pair("stacked-digits", [*TINY_CONV, *extra], _images(64, 8, 8, 3))
    _train_both(t, k, 8)
    _assert_states_match(t.state(), k.state(), skip=_noise_only(k))


@pytest.mark.parametrize(
    ("preset", "extra", "shape"),
    [
        # float32 in both engines (the preset's precision = auto is bf16 on some CPUs)
        (
            "breakout-fast",
            ["model.g_channels=[8,4]", "model.d_batchnorm=true", "train.precision=float32"],
            (105, 80, 3),
        ),
        ("dcgan", ["model.g_channels=[8,4]", "data.size=[16,16]"], (16, 16, 3)),
        (
            "stacked-digits",
            ["model.d_spectral_norm=true", "model.d_mbstd=true", "model.pack=2"],
            (8, 8, 3),
        ),
    ],
)
def test_torch_initialised_conv_nets_give_the_same_images_and_scores(preset, extra, shape):
    data = _images(16, *shape)
    t, k = _pair(preset, [*TINY_CONV, "model.d_channels=[4,8]", *extra], data)
    z = t.latent(6, np.random.default_rng(1))
    g = t.G_ema if t.G_ema is not None else t.G
    with torch.no_grad():
        g.eval()
        want = g(torch.as_tensor(z)).permute(0, 2, 3, 1).numpy()
        g.train()
    gk = k.gan.generator_ema if k.gan.generator_ema is not None else k.gan.generator
    got = to_numpy(gk(z, training=False))
    np.testing.assert_allclose(got, want, atol=1e-4)
    np.testing.assert_array_equal(k.sample(z), t.sample(z))
    np.testing.assert_allclose(k.critic(data[:5]), t.critic(data[:5]), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("direction", ["torch->keras", "keras->torch"])
def test_mlp_checkpoints_cross_engines(direction):
    over = [*TINY, "model.g_batchnorm=true", "model.d_spectral_norm=true", "model.g_ema=0.9"]
    ct, ck = load_config("ring8", over), load_config("ring8", [*over, "train.engine=keras"])
    data = make_points(ct.data, 0).train
    src = make_engine(ct if direction == "torch->keras" else ck, data)
    src.train(5)
    dst = make_engine(ck if direction == "torch->keras" else ct, data)
    dst.load_state(src.state())
    z = src.latent(50, np.random.default_rng(2))
    np.testing.assert_allclose(dst.sample(z), src.sample(z), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dst.critic(data[:50]), src.critic(data[:50]), rtol=1e-5, atol=1e-6)
    assert dst.iteration == 5


def test_exact_resume():
    over = [*TINY, "model.g_batchnorm=true", "model.d_dropout=0.2", "loss.r1_every=2"]
    cfg = load_config("ring8", [*over, "train.engine=keras"])
    data = make_points(cfg.data, 0).train
    a = make_engine(cfg, data)
    a.train(3)
    b = make_engine(cfg, data)
    b.load_state(a.state())
    assert a.train(3) == b.train(3)  # bit for bit on the CPU
    sa, sb = a.state(), b.state()
    assert all(np.array_equal(sa[k], sb[k]) for k in sa)


# Keras' own log conversion (np.array on a torch tensor) warns under NumPy 2; not ours
KERAS_LOG_WARNING = "ignore:__array__ implementation:DeprecationWarning"


@pytest.mark.filterwarnings(KERAS_LOG_WARNING)
def test_keras_user_path_compile_and_fit():
    cfg = load_config("ring8", TINY).model
    g, d = build_networks(cfg, (2,), seed=0)
    gan = GAN(g, d, latent_dist="uniform", seed=1)
    gan.compile(
        d_optimizer=TorchAdam(1e-3, 0.5), g_optimizer=TorchAdam(1e-3, 0.5), loss="bce", r1=0.1
    )
    w0 = [to_numpy(v).copy() for v in g.trainable_variables + d.trainable_variables]
    x = np.random.default_rng(0).normal(size=(96, 2)).astype(np.float32)
    history = gan.fit(x, batch_size=32, epochs=2, verbose=0)
    assert set(history.history) == set(STAT_KEYS)
    assert all(np.isfinite(v).all() for v in history.history.values())
    w1 = [to_numpy(v) for v in g.trainable_variables + d.trainable_variables]
    assert all(not np.array_equal(a, b) for a, b in zip(w0, w1, strict=True))
    assert tuple(gan(keras.random.normal((4, gan.latent_dim))).shape) == (4, 2)


@pytest.mark.filterwarnings(KERAS_LOG_WARNING)
def test_keras_user_path_on_uint8_images():
    cfg = load_config("stacked-digits", TINY_CONV).model
    g, d = build_networks(cfg, (8, 8, 3), seed=0)
    gan = GAN(g, d, augment=["translation", "cutout"])
    gan.compile(d_optimizer=TorchRMSprop(1e-3), g_optimizer=TorchSGD(1e-2, 0.9), loss="lsgan")
    history = gan.fit(_images(20, 8, 8, 3), batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1])


LOOP = [
    "train.engine=keras", "train.log_every=10", "train.snapshot_every=10",
    "train.checkpoint_every=10", "model.g_hidden=[16]", "model.d_hidden=[16]",
    "train.batch_size=32", "data.n=600", "data.holdout=300", "viz.grid=8", "viz.points=20",
    "eval.n_samples=300", "eval.w1_points=200", "model.d_dropout=0.2",
    "model.g_batchnorm=true", "model.g_ema=0.9", "optim.lr_decay=none",
]  # fmt: skip


def test_training_loop_end_to_end_with_resume(tmp_path):
    """gankit's loop: checkpoints (safetensors) that resume exactly, then the scores."""
    whole = training.start(
        load_config("sine", [*LOOP, "train.steps=40"]), tmp_path / "whole", progress=False
    )
    half = training.start(
        load_config("sine", [*LOOP, "train.steps=20"]), tmp_path / "half", progress=False
    )
    training.resume(half.path, ["train.steps=40"], progress=False)
    assert half.raw_config()["meta"]["engine"] == "keras"
    step, sa, _ = whole.latest_checkpoint()
    _, sb, _ = half.latest_checkpoint()
    assert step == 40 and sa.keys() == sb.keys()
    assert all(np.array_equal(sa[k], sb[k]) for k in sa)
    drop = lambda rows: [{k: v for k, v in r.items() if k != "steps_per_s"} for r in rows]  # noqa: E731
    assert drop(whole.metrics()) == drop(half.metrics())
    result = evaluate(whole)
    assert np.isfinite(result["scores"]["w1"]["value"])


@pytest.mark.parametrize(
    "extra",
    [
        ["model.d_mbstd=true", "model.d_spectral_norm=true",
         "model.augment=['translation','color','cutout']", "model.d_dropout=0.1"],
        ["loss.name=wgan-gp", "model.pack=2", "model.arch=dcgan", "model.d_batchnorm=true"],
    ],
)  # fmt: skip
def test_stacked_digits_trains_samples_uint8_and_resumes(extra):
    cfg = load_config("stacked-digits", [*TINY_CONV, "train.engine=keras", *extra])
    data = _images(64, 8, 8, 3)
    e = make_engine(cfg, data)
    stats = e.train(3)
    assert all(np.isfinite(v) for v in stats.values())
    z = e.latent(5, np.random.default_rng(0))
    x = e.sample(z)
    assert x.shape == (5, 8, 8, 3) and x.dtype == np.uint8
    assert e.critic(data[:7]).shape == (7,)
    twin = make_engine(cfg, data)
    twin.load_state(e.state())
    assert e.train(2) == twin.train(2)
    np.testing.assert_array_equal(e.sample(z), twin.sample(z))


MLP_PRESETS = ["sine", "ring8", "grid25", "gaussian1d", "digits", "points"]
CONV_PRESETS = {
    "breakout": (210, 160, 3),
    "breakout-fast": (105, 80, 3),
    "dcgan": (64, 64, 3),
    "stacked-digits": (8, 8, 3),
    "folder": (64, 64, 3),
}


@pytest.mark.parametrize("preset", MLP_PRESETS + list(CONV_PRESETS))
def test_every_preset_builds_and_trains(preset):
    cfg = load_config(preset, ["train.engine=keras", "train.batch_size=4", "train.threads=1"])
    if preset in CONV_PRESETS:
        data = _images(8, *CONV_PRESETS[preset])
    elif preset == "digits":
        data = _images(8, 8, 8, 1)
    else:
        dim = {"gaussian1d": 1}.get(preset, 2)
        data = np.random.default_rng(0).normal(size=(64, dim)).astype(np.float32)
    if cfg.train.precision == "float32":
        e = make_engine(cfg, data)
    else:  # breakout-fast's auto: bf16 is the torch engine's, and keras says it trains float32
        with pytest.warns(UserWarning, match="keras engine trains in float32"):
            e = make_engine(cfg, data)
    assert all(np.isfinite(v) for v in e.train(2).values())
    assert e.sample(e.latent(2, np.random.default_rng(0))).shape == (2, *data.shape[1:])


def test_float64_is_a_clear_error():
    cfg = load_config("ring8", [*TINY, "train.engine=keras", "train.dtype=float64"])
    with pytest.raises(UserError, match="float32"):
        make_engine(cfg, make_points(cfg.data, 0).train)


def test_other_backends_are_a_clear_error(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    cfg = load_config("ring8", [*TINY, "train.engine=keras"])
    with pytest.raises(UserError, match="torch backend"):
        make_engine(cfg, make_points(cfg.data, 0).train)


def test_packing_and_its_error():
    cfg = load_config("ring8", [*TINY, "train.engine=keras", "model.pack=4"])
    data = make_points(cfg.data, 0).train
    e = make_engine(cfg, data)
    assert e.gan.discriminator.get_layer("fc0").kernel.shape == (2 * 4, 16)
    assert e.critic(np.zeros((5, 2), np.float32)).shape == (5,)
    with pytest.raises(UserError, match="multiple of model.pack"):
        make_engine(load_config("ring8", [*TINY, "train.engine=keras", "model.pack=3"]), data)


# torch.optim as the torch engine builds it, and ours
OPTIMISERS = {
    "adam": (lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.5, 0.99), fused=True),
             lambda: TorchAdam(0.1, 0.5, 0.99)),
    "rmsprop": (lambda p: torch.optim.RMSprop(p, lr=0.1, momentum=0.5, foreach=True),
                lambda: TorchRMSprop(0.1, momentum=0.5)),
    "sgd": (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, fused=True),
            lambda: TorchSGD(0.1, 0.9)),
}  # fmt: skip


@pytest.mark.parametrize("make", list(OPTIMISERS))
def test_optimisers_are_torchs_maths(make):
    """Both of our paths (torch foreach, and keras.ops update_step for other backends)
    against torch.optim as the torch engine builds it, through a changing learning rate."""
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(5, 3)).astype(np.float32)
    make_torch, make_keras = OPTIMISERS[make]
    tw = torch.nn.Parameter(torch.tensor(w0))
    topt, fast, generic = make_torch([tw]), make_keras(), make_keras()
    kw, gw = keras.Variable(w0), keras.Variable(w0)
    generic.build([gw])
    generic._backend_update_step = lambda grads, variables, lr: [
        generic.update_step(g, v, lr) for g, v in zip(grads, variables, strict=True)
    ]
    for i in range(10):
        lr = 0.1 * (1 - i / 10)  # a changing rate, as gankit's decay
        topt.param_groups[0]["lr"] = lr
        fast.learning_rate = generic.learning_rate = lr
        g = rng.normal(size=(5, 3)).astype(np.float32) * 10.0 ** -(i % 4)
        tw.grad = torch.tensor(g)
        topt.step()
        fast.apply([torch.tensor(g)], [kw])
        generic.apply([torch.tensor(g)], [gw])
    want = tw.detach().numpy()
    np.testing.assert_allclose(to_numpy(kw), want, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(to_numpy(gw), want, rtol=1e-6, atol=1e-7)
    assert [v.name for v in fast.variables].count("learning_rate") == 1


def test_batchnorm_and_spectral_norm_layers_are_torchs():
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(6, 4)).astype(np.float32)
    tb = torch.nn.BatchNorm1d(4)
    kb = BatchNorm()
    for _ in range(3):
        want, got = tb(torch.tensor(x)).detach().numpy(), to_numpy(kb(x, training=True))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(kb.moving_variance), tb.running_var.numpy(), rtol=1e-6)
    assert int(to_numpy(kb.num_batches_tracked)) == 3
    # spectral norm: after many power iterations sigma is the top singular value
    dense = SpectralNorm(keras.layers.Dense(3, use_bias=False))
    dense.build((None, 4))
    kernel = to_numpy(dense.layer.kernel)
    for _ in range(50):
        out = to_numpy(dense(np.eye(4, dtype=np.float32), training=True))
    np.testing.assert_allclose(out, kernel / np.linalg.svd(kernel)[1][0], rtol=1e-4)


@pytest.mark.parametrize(("n_in", "n_out"), [(13, 26), (52, 105), (40, 80), (7, 5), (10, 10)])
def test_nearest_resize_picks_torchs_pixels(n_in, n_out):
    x = torch.arange(n_in, dtype=torch.float32).reshape(1, 1, n_in, 1)
    want = torch.nn.functional.interpolate(x, size=(n_out, 1)).flatten().long().numpy()
    np.testing.assert_array_equal(nearest_indices(n_in, n_out), want)


@pytest.mark.parametrize(
    "names", [["color"], ["translation"], ["cutout"], ["translation", "color", "cutout"]]
)
def test_diff_augment_keeps_shape_follows_the_seed_and_passes_gradients(names):
    x = (torch.rand(4, 16, 12, 3) * 2 - 1).requires_grad_(True)
    a = diff_augment(x, names, keras.random.SeedGenerator(1))
    b = diff_augment(x, names, keras.random.SeedGenerator(1))
    c = diff_augment(x, names, keras.random.SeedGenerator(2))
    assert a.shape == x.shape
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, c)
    (grad,) = torch.autograd.grad(a.sum(), x)
    assert grad.abs().sum() > 0


def test_cutout_and_translation_as_torchs():
    ones = torch.ones(64, 8, 8, 1)
    shifted = diff_augment(ones, ["translation"], keras.random.SeedGenerator(0))
    assert (shifted == 0).any() and (shifted == 1).any()
    assert set(shifted.unique().tolist()) <= {0.0, 1.0}
    cut = diff_augment(ones[:16], ["cutout"], keras.random.SeedGenerator(0))
    zero_share = (cut == 0).float().mean(dim=(1, 2, 3))
    assert torch.all(zero_share <= 0.25) and torch.all(zero_share >= 1 / 16)


# --- per-layer gradient norms ----------------------------------------------------------------


def _assert_layer_grad_norms_match(t, k, n: int) -> None:
    """n iterations of both engines from equal Draws: after each, the same layers with the
    same gradient norms (float32: 1e-4), combining to Keras' logged norms."""
    assert t.layer_grad_norms() == {} == k.layer_grad_norms()
    t.draws, k.draws = Draws(7), Draws(7)
    for _ in range(n):
        t.train(1)
        sk = k.train(1)
        gt, gk = t.layer_grad_norms(), k.layer_grad_norms()
        assert list(gk) == list(gt)
        for name, v in gt.items():
            assert isinstance(gk[name], float)
            assert gk[name] == pytest.approx(v, rel=1e-4), name
        for net, key in (("D", "d_grad_norm"), ("G", "g_grad_norm")):
            total = sum(v * v for name, v in gk.items() if name.startswith(f"{net}.")) ** 0.5
            assert total == pytest.approx(sk[key], rel=1e-5), net


def test_layer_grad_norms_match_torch_on_mlps():
    t, k = _pair(
        "ring8",
        [*TINY, *WELL_CONDITIONED, "model.g_batchnorm=true", "loss.r1=0.5", "loss.r1_every=2",
         "loss.name=wgan", "model.pack=2"],
    )  # fmt: skip
    _assert_layer_grad_norms_match(t, k, 3)
    assert set(k.layer_grad_norms()) == {
        "G.fc0", "G.bn0", "G.fc1", "G.bn1", "G.out", "D.fc0", "D.fc1", "D.out",
    }  # fmt: skip


def test_layer_grad_norms_match_torch_on_conv_nets():
    t, k = _pair(
        "stacked-digits",
        [*TINY_CONV, "model.d_spectral_norm=true", "model.d_mbstd=true", "loss.r1_every=1",
         "model.arch=upconv", "model.g_channels=[8,4]", "model.d_batchnorm=true"],
        _images(64, 8, 8, 3),
    )  # fmt: skip
    _assert_layer_grad_norms_match(t, k, 2)
    assert set(k.layer_grad_norms()) == {
        "G.fc", "G.bn", "G.conv0", "G.bn0", "G.conv1", "G.bn1", "G.out",
        "D.conv0", "D.conv1", "D.bn1", "D.out",
    }  # fmt: skip
