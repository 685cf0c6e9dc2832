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


@pytest.mark.parametrize(
    ("preset", "overrides", "fragment"),
    [
        ("nope", [], "unknown preset 'nope'; available:"),
        ("sine", ["train.stepz=5"], "unknown config key 'train.stepz'"),
        ("sine", ["nosection.a=1"], "unknown config key 'nosection'"),
        ("sine", ["loss.name=foo"], "bad value 'foo' for loss.name"),
        ("sine", ["train.steps=0"], "bad value 0 for train.steps"),
        ("sine", ["train.steps=abc"], "bad value 'abc' for train.steps"),
        ("sine", ["model.g_hidden=[]"], "model.g_hidden"),
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
