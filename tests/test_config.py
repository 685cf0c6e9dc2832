import pytest

from gankit.config import Config, load_config, parse_override, preset_names, preset_summary
from gankit.errors import UserError


def test_every_preset_loads_and_has_a_summary():
    names = preset_names()
    assert {"sine", "sine-seed", "ring8", "grid25", "gaussian1d", "spiral", "moons"} <= set(names)
    for name in names:
        cfg = load_config(name)
        assert cfg.preset == name
        assert preset_summary(name), f"{name}.toml needs a first-line comment"


def test_sine_seed_is_the_seed_network():
    cfg = load_config("sine-seed")
    assert cfg.model.latent_dim == 1 and cfg.model.latent_dist == "uniform"
    assert cfg.model.g_hidden == [100, 100] and cfg.model.d_hidden == [100, 100]
    assert cfg.model.d_activation == "sigmoid"
    assert (cfg.train.d_steps, cfg.train.g_steps, cfg.train.batch_size) == (15, 15, 400)
    assert cfg.optim.g_lr == cfg.optim.d_lr == 1e-3
    assert cfg.data.n == 6000
    assert cfg.model.g_ema == 0.0 and cfg.optim.lr_decay == "none"  # no modern additions
    assert cfg.loss.r1 == 0.0 and cfg.model.g_activation == "leaky_relu"


def test_overrides_layer_in_order(tmp_path):
    f = tmp_path / "over.toml"
    f.write_text("[train]\nsteps = 77\nbatch_size = 32\n")
    cfg = load_config("sine", ["train.steps=88", "model.g_hidden=[8, 8]"], f, seed=5)
    assert cfg.train.steps == 88 and cfg.train.batch_size == 32
    assert cfg.model.g_hidden == [8, 8] and cfg.seed == 5


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("train.steps=5", ["train", "steps"], 5),
        ("optim.g_lr=1e-3", ["optim", "g_lr"], 1e-3),
        ("loss.name=wgan-gp", ["loss", "name"], "wgan-gp"),
        ("model.g_batchnorm=true", ["model", "g_batchnorm"], True),
        ("model.d_hidden=[3,4]", ["model", "d_hidden"], [3, 4]),
    ],
)
def test_parse_override(text, key, value):
    assert parse_override(text) == (key, value)


def test_an_mlp_may_have_no_hidden_layer():
    cfg = load_config("ring8", ["model.g_hidden=[]", "model.d_hidden=[]"])
    assert cfg.model.g_hidden == [] and cfg.model.d_hidden == []


@pytest.mark.parametrize(
    ("preset", "overrides", "fragment"),
    [
        ("nope", [], "unknown preset 'nope'; available:"),
        ("sine", ["train.stepz=5"], "unknown config key 'train.stepz'"),
        ("sine", ["nosection.a=1"], "unknown config key 'nosection'"),
        ("sine", ["loss.name=foo"], "bad value 'foo' for loss.name"),
        ("sine", ["train.steps=0"], "bad value 0 for train.steps"),
        ("sine", ["train.steps=abc"], "bad value 'abc' for train.steps"),
        ("breakout-fast", ["model.g_channels=[]"], "bad value [] for model.g_channels"),
        ("breakout-fast", ["model.d_channels=[]"], "bad value [] for model.d_channels"),
        ("breakout-fast", ["model.d_head=[0]"], "bad value [0] for model.d_head"),
        ("sine", ["model.d_head=[8]"], "model.d_head adds hidden layers to a convolutional D"),
        ("sine", ["steps"], "is not of the form section.key=value"),
    ],
)
def test_bad_input_is_one_clear_sentence(preset, overrides, fragment):
    with pytest.raises(UserError) as err:
        load_config(preset, overrides)
    msg = str(err.value)
    assert fragment in msg
    assert "\n" not in msg and msg.endswith(".")


def test_error_lists_accepted_values():
    with pytest.raises(UserError, match="hinge"):
        load_config("sine", ["loss.name=foo"])
    with pytest.raises(UserError, match="steps"):
        load_config("sine", ["train.stepz=1"])


def test_bad_config_file(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_config("sine", [], tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nsteps=")
    with pytest.raises(UserError, match="not valid TOML"):
        load_config("sine", [], bad)
    # found by benchmarks/probe.py: --config naming a folder raised IsADirectoryError
    with pytest.raises(UserError, match="is a folder; give the path of a TOML file"):
        load_config("sine", [], tmp_path)


def test_defaults_documented_once():
    # every field of every section carries a one-line comment in config.py
    import inspect

    for model in [Config, *(f.annotation for f in Config.model_fields.values())]:
        if not hasattr(model, "model_fields"):
            continue
        lines = inspect.getsource(model).splitlines()
        for name, f in model.model_fields.items():
            if hasattr(f.annotation, "model_fields"):
                continue  # a section, documented by its own fields
            i = next(i for i, ln in enumerate(lines) if ln.strip().startswith(f"{name}:"))
            commented = "#" in lines[i] or lines[i - 1].strip().startswith("#")
            assert commented, f"{model.__name__}.{name} has no comment in config.py"


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("optim.g_lr=-1", "bad value -1 for optim.g_lr in --set optim.g_lr=-1: must be a finite "
         "number above 0."),
        ("optim.d_lr=nan", "optim.d_lr in --set optim.d_lr=nan: must be a finite number above 0"),
        ("optim.g_lr=inf", "optim.g_lr in --set optim.g_lr=inf: must be a finite number above 0"),
        ("optim.beta1=2", "optim.beta1 in --set optim.beta1=2: must be in [0, 1)"),
        ("optim.beta2=1", "optim.beta2 in --set optim.beta2=1: must be in [0, 1)"),
        ("optim.momentum=-1", "optim.momentum in --set optim.momentum=-1: must be a finite "
         "number, at least 0"),
        ("optim.momentum=inf", "must be a finite number, at least 0"),
        ("seed=-1", "bad value -1 for seed in --set seed=-1: must be from 0 to 4,294,967,295"),
        ("train.threads=-3", "train.threads in --set train.threads=-3: must be at least 0"),
        ("model.leaky_slope=nan", "model.leaky_slope in --set model.leaky_slope=nan: must be a "
         "finite number"),
        ("data.noise_level=-1", "data.noise_level in --set data.noise_level=-1: must be a finite "
         "number, at least 0"),
        ("eval.n_samples=0", "eval.n_samples in --set eval.n_samples=0: must be from 10 to "
         "10,000,000"),
        ("eval.w1_points=0", "eval.w1_points in --set eval.w1_points=0: must be from 1 to 20,000"),
        ("viz.points=0", "viz.points in --set viz.points=0: must be from 1 to 100,000"),
        ("viz.images=0", "viz.images in --set viz.images=0: must be from 1 to 1,024"),
        ("viz.grid=0", "viz.grid in --set viz.grid=0: must be from 2 to 1,000"),
        ("viz.fps=0", "viz.fps in --set viz.fps=0: must be above 0 and at most 100"),
        ("viz.fps=nan", "viz.fps in --set viz.fps=nan: must be above 0 and at most 100"),
        ("data.n=1", "data.n in --set data.n=1: must be from 2 to 10,000,000"),
        ("train.steps=true", "bad value True for train.steps in --set train.steps=true: must be "
         "a number, not true or false"),
        ("optim.g_lr=false", "optim.g_lr in --set optim.g_lr=false: must be a number, not true"),
        ("model.g_hidden=[true,8]", "model.g_hidden in --set model.g_hidden=[true,8]: must be a "
         "number, not true or false"),
        ("loss.r1=-1", "loss.r1 in --set loss.r1=-1: must be a finite number, at least 0"),
        ("loss.r1=inf", "loss.r1 in --set loss.r1=inf: must be a finite number, at least 0"),
        ("loss.clip=-1", "loss.clip in --set loss.clip=-1: must be a finite number above 0"),
        ("loss.clip=0", "loss.clip in --set loss.clip=0: must be a finite number above 0"),
        ("train.batch_size=1000000000000", "train.batch_size in --set "
         "train.batch_size=1000000000000: must be from 1 to 65,536 (a larger batch does not fit "
         "in memory)"),
        ("model.latent_dim=100000000000", "model.latent_dim in --set "
         "model.latent_dim=100000000000: must be from 1 to 4,096"),
        ("model.g_hidden=[100000000000]", "must be a list of widths from 1 to 65,536"),
        ("model.d_hidden=[0]", "must be a list of widths from 1 to 65,536, like [128, 128], or "
         "[] for no hidden layer"),
        ("data.size=[100000,100000]", "each from 4 to 4,096"),
    ],
)  # fmt: skip
def test_every_value_is_checked_at_the_door_with_its_limit(override, fragment):
    with pytest.raises(UserError) as err:
        load_config("sine", [override])
    msg = str(err.value)
    assert fragment in msg
    assert "\n" not in msg and msg.endswith(".")


def test_a_negative_seed_is_refused():
    with pytest.raises(UserError, match=r"bad value -1 for seed in --seed: must be from 0 to"):
        load_config("sine", seed=-1)
    assert load_config("sine", seed=2**32 - 1).seed == 2**32 - 1


def _float_keys() -> list[str]:
    return [
        f"{section}.{name}"
        for section, f in Config.model_fields.items()
        if hasattr(f.annotation, "model_fields")
        for name, g in f.annotation.model_fields.items()
        if g.annotation is float
    ]


@pytest.mark.parametrize("key", _float_keys())
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_no_float_key_takes_nan_or_infinity(key, value):
    # JSON has no NaN or infinity: none may reach config.json (or the engines)
    with pytest.raises(UserError, match=rf"for {key} in --set {key}={value}: must "):
        load_config("sine", [f"{key}={value}"])


def test_defaults_and_every_preset_pass_the_checks():
    Config()  # the defaults themselves
    for name in preset_names():
        cfg = load_config(name)
        Config.model_validate(cfg.model_dump())  # and what a run saves of them reads back
