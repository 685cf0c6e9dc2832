"""The lab's controls: which config keys the page may change while it trains, and the config
each change makes, checked by gankit.config's own validation, so a value the CLI refuses the
lab refuses with the same sentence.

A few limits are the lab's own, far below the config's: the lab trains live on a CPU and
redraws many times a second, so a 65,536-wide layer (which the config allows) would freeze
the page instead of teaching anything.
"""

from __future__ import annotations

from typing import Any

from gankit.config import Config, config_from_dict, load_config, parse_override
from gankit.errors import UserError

# The point data sets the lab offers, each gankit's preset of that name (the presets' nets
# and rates are tuned for their data), and the two the user brings
TOY_DATA = ("sine", "ring8", "grid25", "gaussian1d", "spiral", "moons")
ENGINES = ("torch", "numpy")

# What the lab sets on top of every preset: live training has no last step, so the rates do
# not decay; the views show G itself as it learns (an EMA copy lags behind the arrows that
# push G: EMA is one click away); the live scores use small samples, cheap enough to
# recompute every second. Rows and doctor checks come as often as in gankit train (the
# same costs, so the lab trains as fast as gankit train does).
LAB_DEFAULTS = [
    "optim.lr_decay=none",
    "model.g_ema=0",
    "eval.n_samples=500",
    "eval.w1_points=300",
]

# Every key a control may set: the page's controls, the doctor's remedies and scenarios
CONTROL_KEYS = frozenset(
    {
        "seed",
        "train.engine", "train.batch_size", "train.d_steps", "train.g_steps",
        "optim.name", "optim.d_lr", "optim.g_lr", "optim.beta1", "optim.beta2", "optim.momentum",
        "loss.name", "loss.r1", "loss.r1_every", "loss.r2", "loss.r2_every", "loss.gp_weight",
        "loss.gp_every", "loss.clip",
        "model.latent_dim", "model.latent_dist", "model.g_hidden", "model.d_hidden",
        "model.g_activation", "model.d_activation", "model.pack", "model.d_spectral_norm",
        "model.g_ema", "model.g_batchnorm", "model.d_dropout", "model.d_mbstd",
        "viz.palette",
    }
)  # fmt: skip
# Keys a remedy may name that change nothing the lab trains (it has no last step)
IGNORED_KEYS = frozenset({"train.steps", "optim.lr_decay", "train.log_every"})

LAB_MAX = {
    "model.latent_dim": 100,  # the range, and the manifold slice stays meaningful
    "train.batch_size": 4096,
    "train.d_steps": 20,
    "train.g_steps": 20,
}
LAB_MAX_WIDTH = 512  # units per hidden layer
LAB_MAX_LAYERS = 6  # hidden layers per network (0 too: G one linear map, D a linear score)


def lab_config(preset: str = "ring8", seed: int = 0, overrides: list[str] | None = None) -> Config:
    """A preset's config as the lab trains it (LAB_DEFAULTS on top, then ``overrides``)."""
    if preset not in TOY_DATA:
        raise UserError(f"the lab trains point data; choose one of {', '.join(TOY_DATA)}.")
    return load_config(preset, [*LAB_DEFAULTS, *(overrides or [])], seed=seed)


def _value(cfg: Config, key: str, value: Any) -> Any:
    """A control's value as the config takes it: text (an input box, a remedy's ``--set``)
    read as gankit's ``--set`` reads it (TOML, else a bare string), and widths typed as
    ``64, 64`` read as a list: ``64`` as one layer, an empty box as none."""
    if not isinstance(value, str):
        return value
    parsed = parse_override(f"{key}={value}")[1]
    if isinstance(_get(cfg, key), list) and type(parsed) is int:
        return [parsed]
    if isinstance(_get(cfg, key), list) and isinstance(parsed, str):
        try:
            return [int(w) for w in parsed.strip().strip("[]").split(",") if w.strip()]
        except ValueError:
            raise UserError(
                f"bad value {value!r} for {key}: give widths as whole numbers, like 64, 64."
            ) from None
    return parsed


def _get(cfg: Config, key: str) -> Any:
    obj: Any = cfg
    for part in key.split("."):
        obj = getattr(obj, part)
    return obj


def get(cfg: Config, key: str) -> Any:
    """The config's value for a control key."""
    return _get(cfg, key)


def _check_lab_limits(key: str, value: Any) -> None:
    top = LAB_MAX.get(key)
    if top is not None and isinstance(value, int) and value > top:
        raise UserError(f"bad value {value!r} for {key} in the lab: must be at most {top:,}.")
    widths = key in ("model.g_hidden", "model.d_hidden") and isinstance(value, list)
    if widths and (
        len(value) > LAB_MAX_LAYERS or any(isinstance(w, int) and w > LAB_MAX_WIDTH for w in value)
    ):
        raise UserError(
            f"bad value {value!r} for {key} in the lab: at most {LAB_MAX_LAYERS} layers of "
            f"at most {LAB_MAX_WIDTH} units each (the lab trains live on a CPU)."
        )


def changed(cfg: Config, changes: dict[str, Any]) -> Config:
    """``cfg`` with ``changes`` (control key -> value) applied and validated as one, or a
    UserError naming the first bad one; ``cfg`` itself is never modified."""
    data = cfg.model_dump()
    for key, raw in changes.items():
        if key in IGNORED_KEYS:
            continue
        if key not in CONTROL_KEYS:
            raise UserError(f"the lab has no control {key!r}.")
        value = _value(cfg, key, raw)
        _check_lab_limits(key, value)
        *sections, last = key.split(".")
        target = data
        for s in sections:
            target = target[s]
        target[last] = value
    if data["train"]["engine"] not in ENGINES:
        raise UserError(f"the lab trains with the {' or '.join(ENGINES)} engine.")
    new = config_from_dict(data, "the lab's controls")
    if new.train.engine == "numpy":
        from gankit.engines.numpy.engine import check_supported

        check_supported(new)
    return new


def sets_of_command(command: str) -> dict[str, str]:
    """The ``--set key=value`` pairs of a doctor's remedy (``gankit train PRESET --set ...``)
    that the lab has a control for: what its remedy button applies (a remedy repeats the
    run's other overrides too, some of them keys the lab sets for itself, like eval.*)."""
    import shlex

    words = shlex.split(command)
    out: dict[str, str] = {}
    for i, w in enumerate(words):
        if w == "--set" and i + 1 < len(words):
            key, _, value = words[i + 1].partition("=")
            if key in CONTROL_KEYS:
                out[key] = value
        elif w == "--seed" and i + 1 < len(words):
            out["seed"] = words[i + 1]
    return out
