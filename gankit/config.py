"""The typed config: every default of gankit lives here, once, with a one-line comment.

A preset (``gankit/preset_files/NAME.toml``) overrides only the keys that differ; a config file
(``--config FILE``) and ``--set section.key=value`` override on top, in that order.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from gankit.errors import UserError
from gankit.losses import LOSSES

DataName = Literal[
    "sine",
    "ring8",
    "grid25",
    "gaussian1d",
    "spiral",
    "moons",
    "points",
    "atari",
    "folder",
    "array",
    "digits",
    "stacked-digits",
]
# the torch engine's fast paths (gankit/engines/torch/fast_paths.py says what each does)
FastPath = Literal["by_hand", "transpose", "direct_adam"]
FAST_PATHS: tuple[str, ...] = get_args(FastPath)
IMAGE_DATA = ("atari", "folder", "array", "digits", "stacked-digits")
Augment = Literal["translation", "color", "cutout"]
Activation = Literal["leaky_relu", "relu", "tanh", "elu", "sigmoid"]

# The largest sizes accepted, each far above what any preset uses: a mistyped size fails
# here, in one sentence, not as an out-of-memory error minutes into a run
MAX_SEED = 2**32 - 1  # NumPy's legacy seeding and most other libraries take 32-bit seeds
MAX_BATCH = 65_536  # 65,536 images of 64x64x3 are 3 GiB of float32 per batch, before D
MAX_LATENT = 4_096  # the largest published GANs draw z of 512
MAX_WIDTH = 65_536  # units or channels of one layer: a 65,536-wide square layer is 16 GiB
MAX_SAMPLES = 10_000_000  # training, held-out and scored samples: 10 M points are 80 MB
MAX_W1_POINTS = 20_000  # the exact W1's (n, n) float64 cost matrix: 3.2 GB at 20,000
MAX_IMAGE_SIDE = 4_096  # data.size: a 4,096 x 4,096 RGB image is 200 MB of float32
MAX_GRID = 1_000  # D's heat-map: grid^2 evaluations per snapshot
MAX_VIZ_POINTS = 100_000  # points drawn in each frame
MAX_VIZ_IMAGES = 1_024  # images in each snapshot grid
MAX_FPS = 100.0  # a GIF counts frame delays in hundredths of a second
MIN_DATA = 2  # a distribution is learnt from more than one sample (point files: N >= 2 too)
MIN_EVAL_SAMPLES = 10  # density and coverage compare each sample with its 5 nearest others


def _count(v: int, lo: int, hi: int | None = None, why: str = "") -> int:
    """``v`` if it is a whole number in [lo, hi] (hi None: no upper limit), else the limit."""
    if v >= lo and (hi is None or v <= hi):
        return v
    limit = f"at least {lo:,}" if hi is None else f"from {lo:,} to {hi:,}"
    raise ValueError(f"must be {limit}" + (f" ({why})" if why else ""))


def _finite(v: float, above: float | None = None, at_least: float | None = None) -> float:
    """``v`` if it is a finite number above ``above`` / at least ``at_least``, else the limit
    (NaN and infinities never reach config.json: JSON has no spelling for them)."""
    ok = math.isfinite(v) and (above is None or v > above) and (at_least is None or v >= at_least)
    if ok:
        return v
    if above is not None:
        raise ValueError(f"must be a finite number above {above:g}")
    if at_least is not None:
        raise ValueError(f"must be a finite number, at least {at_least:g}")
    raise ValueError("must be a finite number")


class Section(BaseModel):
    """A config section: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_not_bools(cls, v: Any, info: ValidationInfo) -> Any:
        # pydantic would read true as 1 and false as 0: a count or rate given as true/false
        # is a slip, never meant
        kind = cls.model_fields[info.field_name].annotation
        slip = isinstance(v, bool) and kind in (int, float)
        slip |= kind == list[int] and isinstance(v, list) and any(isinstance(w, bool) for w in v)
        if slip:
            raise ValueError("must be a number, not true or false")
        return v

    @model_validator(mode="after")
    def _finite_floats(self) -> Section:
        # a safety net under the fields' own ranges: nothing NaN or infinite is ever saved
        for name in type(self).model_fields:
            v = getattr(self, name)
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"{name} = {v} is not a finite number")
        return self


class DataConfig(Section):
    # what to learn. Points: a toy distribution, or points = the user's CSV/NPY (data.path).
    # Images: atari = frames of data.game; folder = every image under data.path; array = a
    # .npy/.npz of images (MNIST, ...); digits = scikit-learn's 8x8 digits; stacked-digits =
    # three digits as the three channels (1,000 classes, the offline Stacked MNIST)
    name: DataName = "sine"
    path: str | None = None  # the user's file or folder, for points, folder and array
    # training samples drawn (toy points, stacked digits) or frames collected (atari)
    n: int = 6000
    # real samples kept aside for evaluation, never trained on; for images read from disk at
    # most a fifth of them, so a small folder still trains on most of its images; for atari
    # frames of games of their own (gankit/data/__init__.py says why)
    holdout: int = 2500
    game: str = "breakout"  # atari: any game ale-py ships (gankit collect --help lists them)
    frameskip: int = 4  # atari: emulator frames per action; one kept frame per action
    dedupe: bool = True  # atari: drop frames identical to one already collected
    size: list[int] | None = None  # images: [height, width] to resize/crop to; None = as stored
    channels: Literal[1, 3] = 3  # images: 1 = grayscale, 3 = RGB (others are converted)
    noise: Literal["uniform", "normal"] = "uniform"  # sine/spiral/moons: kind of the added noise
    noise_level: float = 0.1  # uniform: noise in [0, level); normal: standard deviation level

    @field_validator("n")
    @classmethod
    def _enough(cls, v: int) -> int:
        return _count(v, MIN_DATA, MAX_SAMPLES, "a GAN learns a distribution from several samples")

    @field_validator("holdout")
    @classmethod
    def _held_out(cls, v: int) -> int:
        return _count(v, 1, MAX_SAMPLES)

    @field_validator("frameskip")
    @classmethod
    def _positive(cls, v: int) -> int:
        return _count(v, 1)

    @field_validator("noise_level")
    @classmethod
    def _noise_level(cls, v: float) -> float:
        return _finite(v, at_least=0)

    @field_validator("size")
    @classmethod
    def _size(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (len(v) != 2 or any(not 4 <= s <= MAX_IMAGE_SIDE for s in v)):
            raise ValueError(
                f"must be [height, width], each from 4 to {MAX_IMAGE_SIDE:,}, like [64, 64]"
            )
        return v

    @property
    def is_image(self) -> bool:
        return self.name in IMAGE_DATA


class ModelConfig(Section):
    # mlp: fully connected G and D (points; images flattened, the seed's MNIST GAN);
    # upconv: the Breakout seed's G (Linear to a small grid, [upsample x2, conv 3x3, BN, ReLU]
    # blocks, resize to the exact size, conv to the channels, tanh) and its strided-conv D;
    # dcgan: Radford et al.'s transposed-conv G and strided-conv D, square power-of-2 images
    arch: Literal["mlp", "upconv", "dcgan"] = "mlp"
    latent_dim: int = 8  # size of G's input noise z (1 to 100+)
    latent_dist: Literal["normal", "uniform"] = "normal"  # N(0, 1) or U[-1, 1] per component
    g_hidden: list[int] = [128, 128, 128]  # widths of G's hidden layers ([]: G is linear)
    d_hidden: list[int] = [128, 128, 128]  # widths of D's hidden layers ([]: a linear score)
    # G's hidden activation; tanh saturates, so G makes plateaus (a latent cell onto one
    # tight mode) with steep steps between them: far fewer samples between modes
    g_activation: Activation = "tanh"
    d_activation: Activation = "leaky_relu"  # D's hidden activation
    leaky_slope: float = 0.2  # negative slope of leaky_relu
    g_batchnorm: bool = False  # mlp: batch-norm after each hidden linear layer of G
    # upconv/dcgan: channels of G's blocks, widest first (one x2 upsampling each)
    g_channels: list[int] = [128, 64, 32]
    # upconv/dcgan: channels of D's strided convolutions (one /2 downsampling each)
    d_channels: list[int] = [64, 128]
    d_batchnorm: bool = False  # upconv/dcgan: batch-norm after D's convolutions but the first
    # spectral normalisation of D's layers (Miyato et al.): a 1-Lipschitz D without a penalty
    d_spectral_norm: bool = False
    # minibatch standard deviation (Karras et al.): D sees how varied its batch is, so a
    # collapsed G is easy to spot (groups of 4 samples)
    d_mbstd: bool = False
    # upconv/dcgan: widths of hidden dense layers between D's flattened features and its score
    # (the seeds have none). A single linear layer scores the sum of what the convolutions
    # found, so it can only ask for more or less of something; a hidden layer can judge
    # combinations across the whole image
    d_head: list[int] = []
    # DiffAugment (Zhao et al. 2020): the same differentiable augmentations of real and fake
    # images before D, so D cannot memorise a small dataset; any of translation, color, cutout
    augment: list[Augment] = []
    d_dropout: float = 0.0  # dropout after each hidden activation of D (inverted, off at eval)
    pack: int = 1  # PacGAN: D judges m samples at once, all real or all fake
    # decay of an exponential moving average of G's weights, used for sampling and scores
    # (0 = off; 0.999 averages over the last ~1,000 steps, cancelling the players' jitter)
    g_ema: float = 0.999
    # points: share of latent draws kept for scores and `gankit sample`, those where G is
    # flattest (smallest Jacobian norm), which drops the samples on bridges between modes
    # (Tanielian et al. 2020; gankit/sampling.py). 1 = every draw, as G makes them
    jacobian_keep: float = 1.0

    @field_validator("jacobian_keep")
    @classmethod
    def _share(cls, v: float) -> float:
        if not 0.0 < v <= 1.0:
            raise ValueError("must be in (0, 1]")
        return v

    @field_validator("latent_dim")
    @classmethod
    def _latent(cls, v: int) -> int:
        return _count(v, 1, MAX_LATENT)

    @field_validator("pack")
    @classmethod
    def _at_least_one(cls, v: int) -> int:
        return _count(v, 1)

    @field_validator("g_channels", "d_channels")
    @classmethod
    def _channels(cls, v: list[int]) -> list[int]:
        # a convolutional net needs a block at least: G's first sets its starting grid
        if not v or any(not 1 <= w <= MAX_WIDTH for w in v):
            raise ValueError(
                f"must be a non-empty list of widths from 1 to {MAX_WIDTH:,}, like [128, 128]"
            )
        return v

    @field_validator("g_hidden", "d_hidden")
    @classmethod
    def _hidden(cls, v: list[int]) -> list[int]:
        # [] is an MLP with no hidden layer, as GAN Lab allows: G one linear map from the
        # latent to the data, D logistic regression on the sample (a linear score)
        if any(not 1 <= w <= MAX_WIDTH for w in v):
            raise ValueError(
                f"must be a list of widths from 1 to {MAX_WIDTH:,}, like [128, 128], or [] "
                "for no hidden layer"
            )
        return v

    @field_validator("d_head")
    @classmethod
    def _head(cls, v: list[int]) -> list[int]:
        if any(not 1 <= w <= MAX_WIDTH for w in v):
            raise ValueError(
                f"must be a list of widths from 1 to {MAX_WIDTH:,}, like [128], or [] for none"
            )
        return v

    @field_validator("leaky_slope")
    @classmethod
    def _slope(cls, v: float) -> float:
        return _finite(v)

    @model_validator(mode="after")
    def _head_needs_conv(self) -> ModelConfig:
        if self.d_head and self.arch == "mlp":
            raise ValueError(
                "d_head adds hidden layers to a convolutional D (arch upconv or dcgan); "
                "an MLP D's hidden layers are d_hidden"
            )
        return self

    @field_validator("g_ema", "d_dropout")
    @classmethod
    def _unit_interval(cls, v: float) -> float:
        if not 0.0 <= v < 1.0:
            raise ValueError("must be in [0, 1)")
        return v


class LossConfig(Section):
    # the loss (gankit/losses.py's table): bce = non-saturating; minimax = the original
    # saturating loss; wgan, wgan-gp; hinge; lsgan; rpgan = relativistic pairing (with r1 and
    # r2 the R3GAN baseline); ragan = relativistic average
    name: str = "bce"
    clip: float = 0.01  # wgan: D's weights clipped to [-clip, clip] after each step
    gp_weight: float = 10.0  # wgan-gp: weight of the gradient penalty
    gp_every: int = 1  # wgan-gp: the gradient penalty every k-th iteration, weighted by k
    # R1 (Mescheder et al. 2018): gamma/2 * E||grad D(x_real)||^2 added to D's loss, any
    # loss; makes training converge instead of circle, which keeps mode weights even
    # (docs/toy-recipe.md); too large a gamma blurs D (0 = off)
    r1: float = 0.003
    # apply R1 every k-th iteration, weighted by k: StyleGAN2's lazy regularisation, nearly
    # the same effect for a k-th of the cost of its double backward
    r1_every: int = 4
    # R2: the same penalty on the fake packs (R3GAN pairs it with R1 and rpgan; 0 = off)
    r2: float = 0.0
    r2_every: int = 4  # apply R2 every k-th iteration, weighted by k

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in LOSSES:
            raise ValueError("accepted: " + ", ".join(repr(k) for k in LOSSES))
        return v

    @field_validator("r1_every", "r2_every", "gp_every")
    @classmethod
    def _at_least_one(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be at least 1")
        return v

    @field_validator("r1", "r2", "gp_weight")
    @classmethod
    def _not_negative(cls, v: float) -> float:
        return _finite(v, at_least=0)

    @field_validator("clip")
    @classmethod
    def _clip(cls, v: float) -> float:  # a clip of 0 would zero all of D's weights
        return _finite(v, above=0)


class OptimConfig(Section):
    name: Literal["adam", "rmsprop", "sgd"] = "adam"  # same optimiser kind for G and D
    g_lr: float = 2e-3  # G's learning rate
    d_lr: float = 2e-3  # D's learning rate
    beta1: float = 0.5  # adam: first-moment decay
    beta2: float = 0.999  # adam: second-moment decay
    momentum: float = 0.0  # sgd and rmsprop: momentum
    # learning rates fall to 0 by the last step: fast early, precise late (the toy presets
    # gain 3x in high-quality samples over a constant rate)
    lr_decay: Literal["none", "linear", "cosine"] = "linear"

    @field_validator("g_lr", "d_lr")
    @classmethod
    def _rate(cls, v: float) -> float:
        return _finite(v, above=0)

    @field_validator("beta1", "beta2")
    @classmethod
    def _decay(cls, v: float) -> float:  # Adam's moments never forget at 1
        if not 0.0 <= v < 1.0:
            raise ValueError("must be in [0, 1)")
        return v

    @field_validator("momentum")
    @classmethod
    def _momentum(cls, v: float) -> float:
        return _finite(v, at_least=0)


class TrainConfig(Section):
    # the engine that runs G and D: torch, keras (Keras 3) or numpy (from scratch, MLPs);
    # all write the same run directory and read each other's checkpoints
    engine: Literal["torch", "keras", "numpy"] = "torch"
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto = cuda when available
    dtype: Literal["float32", "float64"] = "float32"  # precision of weights and maths
    # torch engine: bf16 runs the networks' forward passes under bf16 autocast (weights,
    # optimiser and losses stay in dtype); auto = bf16 where the device computes it natively
    # (a GPU with bf16, a CPU with AVX-512 BF16 or AMX), float32 elsewhere, so a preset that
    # sets it never runs emulated bf16. The keras engine trains in dtype and says so.
    # breakout-fast sets auto: 1.5x faster on this project's CPU, the same frames
    precision: Literal["float32", "bf16", "auto"] = "float32"
    # torch engine: its fast paths (steps by hand for CPU MLPs, D's transpose for penalties,
    # R1 from the step's own pass, Adam's kernel called straight), each exact up to float
    # rounding: true = each that applies, false = none (plain autograd), or a list of them
    fast_paths: bool | list[FastPath] = True

    @field_validator("fast_paths", mode="before")
    @classmethod
    def _fast_paths(cls, v: Any) -> Any:
        if isinstance(v, bool) or (isinstance(v, list) and all(p in FAST_PATHS for p in v)):
            return v
        raise ValueError(f"must be true, false or a list of {', '.join(FAST_PATHS)}")

    # CPU threads; 0 = auto: 1 for MLPs (dispatch-bound: more threads only spin; the torch
    # engine's 8x8 digits too), all cores for convolutional networks
    threads: int = 0
    steps: int = 2000  # iterations; each is d_steps updates of D, then g_steps of G
    batch_size: int = 256  # samples per update (real and fake each)
    d_steps: int = 1  # D updates per iteration
    g_steps: int = 1  # G updates per iteration
    log_every: int = 50  # iterations between lines of metrics.jsonl (means over the interval)
    snapshot_every: int = 100  # iterations between snapshots (one GIF frame each)
    checkpoint_every: int = 1000  # iterations between checkpoints (the last one is always kept)
    keep_checkpoints: int = 2  # how many of the newest checkpoints to keep

    @field_validator(
        "steps",
        "d_steps",
        "g_steps",
        "log_every",
        "snapshot_every",
        "checkpoint_every",
        "keep_checkpoints",
    )
    @classmethod
    def _positive(cls, v: int) -> int:
        return _count(v, 1)

    @field_validator("batch_size")
    @classmethod
    def _batch(cls, v: int) -> int:
        return _count(v, 1, MAX_BATCH, "a larger batch does not fit in memory")

    @field_validator("threads")
    @classmethod
    def _threads(cls, v: int) -> int:
        return _count(v, 0, why="0 = auto")


class EvalConfig(Section):
    # generated samples scored (the PacGAN protocol uses 2,500; Stacked MNIST 26,000); image
    # scores compare them with the held-out real images
    n_samples: int = 2500
    w1_points: int = 2000  # points per side in the exact Wasserstein-1 (cost grows as n^2)
    # images: the feature space of FD/KID/precision/recall. auto = inception when
    # eval.inception_weights is given, the shipped digit classifier for digits, else encoder
    # (a network gankit trains on the real images, cached per dataset: works offline)
    features: Literal["auto", "encoder", "classifier", "inception"] = "auto"
    # torch-fidelity's weights-inception-2015-12-05-6726825d.pth, for the standard FID space
    inception_weights: str | None = None

    @field_validator("n_samples")
    @classmethod
    def _n_samples(cls, v: int) -> int:
        return _count(v, MIN_EVAL_SAMPLES, MAX_SAMPLES)

    @field_validator("w1_points")
    @classmethod
    def _w1_points(cls, v: int) -> int:
        return _count(v, 1, MAX_W1_POINTS, "its cost matrix grows as n^2")


class VizConfig(Section):
    points: int = 1000  # generated points drawn in each frame (a fixed latent batch)
    images: int = 36  # images: generated images per snapshot grid (a fixed latent batch)
    grid: int = 120  # resolution of D's heat-map (grid x grid evaluations)
    fps: float = 10.0  # frames per second of training.gif
    # colours of real / fooled-D / caught points: seed = orange, green, red (the seed's);
    # colorblind = Okabe-Ito orange, blue, vermillion (gankit/viz/palette.py says why)
    palette: Literal["seed", "colorblind"] = "seed"

    @field_validator("points")
    @classmethod
    def _points(cls, v: int) -> int:
        return _count(v, 1, MAX_VIZ_POINTS)

    @field_validator("images")
    @classmethod
    def _images(cls, v: int) -> int:
        return _count(v, 1, MAX_VIZ_IMAGES)

    @field_validator("grid")
    @classmethod
    def _grid(cls, v: int) -> int:
        return _count(v, 2, MAX_GRID)

    @field_validator("fps")
    @classmethod
    def _fps(cls, v: float) -> float:
        if not 0.0 < v <= MAX_FPS:
            raise ValueError(
                f"must be above 0 and at most {MAX_FPS:g} (a GIF counts frame delays in "
                "hundredths of a second)"
            )
        return v


class Config(Section):
    preset: str = "sine"  # the preset this config started from
    seed: int = 0  # seeds data, weights, batches and noise: same seed, same run
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    loss: LossConfig = LossConfig()
    optim: OptimConfig = OptimConfig()
    train: TrainConfig = TrainConfig()
    eval: EvalConfig = EvalConfig()
    viz: VizConfig = VizConfig()

    @field_validator("seed")
    @classmethod
    def _seed(cls, v: int) -> int:
        return _count(v, 0, MAX_SEED)

    # rules across sections, here once rather than in each engine

    @model_validator(mode="after")
    def _whole_packs(self) -> Config:
        b, m = self.train.batch_size, self.model.pack
        if b % m:
            raise ValueError(
                f"train.batch_size = {b} is not a multiple of model.pack = {m}; D judges "
                "whole packs"
            )
        return self


PRESET_DIR = Path(__file__).parent / "preset_files"  # not "presets": gankit.presets() is a function


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def preset_summary(name: str) -> str:
    """The preset's first comment line: what it is for, in one line."""
    for line in (PRESET_DIR / f"{name}.toml").read_text().splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{what} {path} does not exist; give the path of a TOML file.") from None
    except IsADirectoryError:
        raise UserError(f"{what} {path} is a folder; give the path of a TOML file.") from None
    except OSError as e:  # unreadable: permissions, a device, an I/O error
        raise UserError(
            f"{what} {path} cannot be read ({e.strerror or e}); give the path of a TOML file."
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{what} {path} is not valid TOML ({e}).") from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def parse_override(text: str) -> tuple[list[str], Any]:
    """``section.key=value`` -> (["section", "key"], value); the value is read as TOML
    (numbers, true/false, [lists], "strings") and falls back to a bare string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise UserError(
            f"--set {text!r} is not of the form section.key=value, like train.steps=500."
        )
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.strip().split("."), value


def _nest(path: list[str], value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {path[-1]: value}
    for part in reversed(path[:-1]):
        out = {part: out}
    return out


def _explain(err: ValidationError, source: str) -> UserError:
    """Turn pydantic's report into one sentence naming the key and what is accepted."""
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"])
    if first["type"] == "extra_forbidden":
        section = first["loc"][0] if len(first["loc"]) > 1 else None
        fields = (
            Config.model_fields[section].annotation.model_fields  # type: ignore[union-attr]
            if section in Config.model_fields and len(first["loc"]) > 1
            else Config.model_fields
        )
        known = ", ".join(fields)
        return UserError(f"unknown config key {key!r} in {source}; known keys here: {known}.")
    if first["type"] == "literal_error":
        allowed = first["ctx"]["expected"]
        return UserError(
            f"bad value {first['input']!r} for {key} in {source}; accepted: {allowed}."
        )
    msg = first["msg"].removeprefix("Value error, ").rstrip(".")
    if not key:  # a rule across sections: its message names the keys
        return UserError(f"in {source}: {msg}.")
    if isinstance(first["input"], dict):  # a rule across a section's keys: the rule says which
        return UserError(f"in {source}: {key}.{msg}.")
    return UserError(f"bad value {first['input']!r} for {key} in {source}: {msg}.")


def load_config(
    preset: str,
    overrides: list[str] | None = None,
    config_file: str | Path | None = None,
    seed: int | None = None,
) -> Config:
    """Defaults <- preset <- config file <- --set overrides <- --seed."""
    if preset not in preset_names():
        raise UserError(f"unknown preset {preset!r}; available: {', '.join(preset_names())}.")
    layers: list[tuple[dict[str, Any], str]] = [
        (_read_toml(PRESET_DIR / f"{preset}.toml", "preset"), f"preset {preset}")
    ]
    if config_file is not None:
        path = Path(config_file)
        layers.append((_read_toml(path, "config file"), f"config file {path}"))
    for text in overrides or []:
        key, value = parse_override(text)
        layers.append((_nest(key, value), f"--set {text}"))
    if seed is not None:
        layers.append(({"seed": seed}, "--seed"))
    merged: dict[str, Any] = {"preset": preset}
    for layer, source in layers:
        merged = _merge(merged, layer)
        try:  # validate layer by layer so an error names the layer that caused it
            Config.model_validate(merged)
        except ValidationError as e:
            raise _explain(e, source) from None
    return Config.model_validate(merged)


def config_from_dict(data: dict[str, Any], source: str) -> Config:
    """Rebuild a config saved in a run directory."""
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        raise _explain(e, source) from None
