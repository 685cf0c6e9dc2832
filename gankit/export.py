"""``gankit export RUN --out DIR``: a trained generator alone, sampled without the run.

An export directory holds

```
DIR/generator.safetensors   G's weights (the EMA copy when the run keeps one), named G.<...>
DIR/config.json             the run's resolved config and meta, plus "export": the step, which
                            weights, their SHA-256, the sample shape and how G's output maps
                            to data space
DIR/README.md               the model card: data, preset, steps, engine, seed, the scores with
                            their protocols and real-data floors, sample.png
DIR/sample.png              samples of the exported G (seed 0)
```

:func:`load_generator` rebuilds the run's engine (torch, keras or numpy, as the run trained)
from config.json alone: no data, no run directory. The engine is built on one blank sample of
the recorded shape, its G (and EMA copy) get the exported weights, and D keeps its fresh
initial weights, which sampling never reads. Samples are then drawn exactly as ``gankit sample
RUN`` draws them (gankit/sampling.py ``draw``), so the same seed gives the same array, bit for
bit on the same machine; with ``model.jacobian_keep`` < 1 that includes the truncation, whose
Jacobian norms are measured on the exported G itself.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from gankit.config import Config, config_from_dict
from gankit.engines import make_engine
from gankit.engines.base import Engine
from gankit.errors import UserError
from gankit.run import RunDir, write_json
from gankit.sampling import draw

FORMAT = "gankit-generator"  # config.json's export.format: what marks an export directory
VERSION = 1
WEIGHTS = "generator.safetensors"
CONFIG = "config.json"
CARD = "README.md"
PICTURE = "sample.png"
STAGING = ".export.tmp"  # where an export is written before it is moved in
FILES = (WEIGHTS, PICTURE, CARD, CONFIG)  # in the order they are moved in: config.json last


class Generator:
    """A trained G from an export directory (or a run, at export time).

    ``sample(n, seed)`` gives float32 points ``(n, d)`` or uint8 images ``(n, H, W, C)``,
    what ``gankit sample RUN -n n --seed seed`` writes. A run with ``model.jacobian_keep`` = k
    < 1 samples truncated, as the run's scores and ``gankit sample`` do: of n / k latent draws
    the n where G is flattest; ``sample(n, seed, truncate=False)`` gives G's first n draws.
    ``config`` is the run's resolved config, ``info`` the export's own section of config.json
    (step, weights, sample shape and value range)."""

    def __init__(self, config: Config, info: dict[str, Any], weights: dict[str, np.ndarray]):
        self.config = config
        self.info = info
        self.step = int(info["step"])
        self.engine = _engine_with(config, tuple(info["sample"]["shape"]), weights)

    @property
    def images(self) -> bool:
        return self.config.data.is_image

    @property
    def shape(self) -> tuple[int, ...]:
        """One sample's shape: (d,) for points, (H, W, C) for images."""
        return tuple(self.info["sample"]["shape"])

    def sample(self, n: int, seed: int = 0, *, truncate: bool = True) -> np.ndarray:
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise UserError(f"n = {n!r} asks for no samples; give a positive count.")
        rng = np.random.default_rng(seed)
        if not truncate:
            return self.engine.sample(self.engine.latent(int(n), rng))
        return draw(self.engine, int(n), rng)[0]

    def __repr__(self) -> str:
        kind = "images" if self.images else "points"
        return (
            f"Generator({self.config.preset}, {kind} {list(self.shape)}, step {self.step:,}, "
            f"{self.config.train.engine} engine, {self.info['weights']} weights)"
        )


def _engine_with(cfg: Config, shape: tuple[int, ...], weights: dict[str, np.ndarray]) -> Engine:
    """The run's engine on one blank sample of ``shape``, G and its EMA copy set to
    ``weights``. Through the engine's own state and load_state, so every engine reads the
    weights as it reads a checkpoint of any engine."""
    blank = np.zeros((1, *shape), np.uint8 if cfg.data.is_image else np.float32)
    # the machine that loads an export need not be the one that trained it (a GPU run's
    # generator sampled on a laptop): its device and maths are this machine's
    train = cfg.train.model_copy(update={"device": "auto", "precision": "auto"})
    engine = make_engine(cfg.model_copy(update={"train": train}), blank)
    state = engine.state()
    for prefix in ("G", "G_ema"):
        for key in [k for k in state if k.startswith(f"{prefix}.")]:
            name = f"G.{key[len(prefix) + 1 :]}"
            if name not in weights:
                raise UserError(
                    f"{WEIGHTS} has no {name}, which this config's G needs: the export is "
                    "damaged or was edited; export the run again."
                )
            state[key] = weights[name]
    engine.load_state(state)
    return engine


# --- reading ------------------------------------------------------------------------------


def _export_section(path: Path) -> dict[str, Any] | None:
    """config.json's export section when ``path`` is an export directory, else None."""
    try:
        raw = json.loads((path / CONFIG).read_text())
    except (OSError, ValueError):
        return None
    info = raw.get("export") if isinstance(raw, dict) else None
    return info if isinstance(info, dict) and info.get("format") == FORMAT else None


def is_export(path: str | Path) -> bool:
    return Path(path).is_dir() and _export_section(Path(path)) is not None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_generator(path: str | Path) -> Generator:
    """The generator of an export directory written by ``gankit export`` / :func:`export_run`;
    needs only that directory (not the run, not the data)."""
    path = Path(path)
    info = _export_section(path)
    if info is None:
        raise UserError(
            f"{path} is not a gankit export (no {CONFIG} with an export section); make one with "
            f"gankit export RUN --out {path}."
        )
    weights_file = path / WEIGHTS
    if not weights_file.is_file():
        raise UserError(f"the export {path} is damaged: {WEIGHTS} is missing; export it again.")
    if _sha256(weights_file) != info.get("sha256"):
        raise UserError(
            f"the export {path} is damaged: {WEIGHTS} does not match the checksum in {CONFIG}; "
            "export the run again."
        )
    try:
        weights = load_file(str(weights_file))
        raw = json.loads((path / CONFIG).read_text())
        shape = [int(s) for s in info["sample"]["shape"]]
        int(info["step"])
    except (SafetensorError, OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"the export {path} is damaged ({e}); export the run again.") from None
    info = {**info, "sample": {**info["sample"], "shape": shape}}
    cfg = config_from_dict(
        {k: v for k, v in raw.items() if k not in ("meta", "export")}, str(path / CONFIG)
    )
    return Generator(cfg, info, weights)


def sampler_config(path: str | Path) -> Config:
    """The config of an export directory or a run directory (for ``gankit sample``)."""
    if is_export(path):
        raw = json.loads((Path(path) / CONFIG).read_text())
        return config_from_dict(
            {k: v for k, v in raw.items() if k not in ("meta", "export")}, str(path)
        )
    return RunDir.open(path).config()


def load_sampler(path: str | Path) -> tuple[Engine, int]:
    """The trained engine of an export directory or a run's newest checkpoint, and its step."""
    if is_export(path):
        gen = load_generator(path)
        return gen.engine, gen.step
    from gankit.evaluate import load_trained

    engine, _, step = load_trained(RunDir.open(path))
    return engine, step


# --- writing ------------------------------------------------------------------------------


def _sample_shape(run: RunDir) -> list[int]:
    """One sample's shape, from the real reference every run saves beside its snapshots (the
    data itself may be a folder or game frames the export must not need)."""
    for name in ["real.npz", *reversed([f"step_{s:07d}.npz" for s in run.snapshot_steps()])]:
        try:
            with np.load(run.snapshots / name, allow_pickle=False) as z:
                key = "real" if "real" in z.files else "fake"
                return [int(s) for s in z[key].shape[1:]]
        except (OSError, ValueError, KeyError):
            continue
    raise UserError(
        f"{run.path} has no snapshots/real.npz to read the sample shape from; it is not a "
        "complete run directory."
    )


def _value_space(cfg: Config, shape: list[int]) -> dict[str, Any]:
    """How G's output maps to data space, as every engine's ``sample`` does it."""
    m = cfg.model
    latent = {"dim": m.latent_dim, "dist": m.latent_dist}
    if cfg.data.is_image:
        return {
            "kind": "images",
            "shape": shape,
            "dtype": "uint8",
            "layout": "HWC",
            "range": [0, 255],
            "from_generator": "G ends in tanh (values in [-1, 1], NCHW inside the torch and "
            "numpy engines); pixel = clip(round((g + 1) * 127.5), 0, 255), half to even",
            "latent": latent,
        }
    return {
        "kind": "points",
        "shape": shape,
        "dtype": "float32",
        "range": None,
        "from_generator": "G's output as it is: no engine normalises points, so G works in "
        "the data's own units",
        "latent": latent,
    }


def _truncation(cfg: Config) -> dict[str, Any]:
    keep = cfg.model.jacobian_keep
    if keep >= 1.0:
        return {"name": "latent draws, all kept"}
    return {
        "name": "jacobian truncation (Tanielian et al. 2020)",
        "jacobian_keep": keep,
        "how": f"sample(n) draws ceil(n / {keep}) latents and keeps the n with the smallest "
        "||dG/dz||_F, measured on the exported G (gankit/sampling.py); sample(n, seed, "
        "truncate=False) gives every draw",
    }


def _check_out(out: Path, source: dict[str, Any]) -> None:
    """Refuse an --out that is a file, or a folder holding anything but this same export."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a new folder or an earlier export of it.")
    if not out.is_dir() or not [p for p in out.iterdir() if p.name != STAGING]:
        return
    info = _export_section(out)
    if info is None:
        raise UserError(
            f"--out {out} already holds files that are not a gankit export; give a new folder."
        )
    if info.get("source") != source:
        was = info.get("source") or {}
        raise UserError(
            f"--out {out} already holds the export of {was.get('run', '?')} at step "
            f"{was.get('step', '?')}; give a new folder or delete that one."
        )


def export_run(run_path: str | Path, out_dir: str | Path) -> Path:
    """Write the export directory of a run's newest checkpoint; returns ``out_dir``.
    Exporting the same run and step again into the same folder rewrites it."""
    from gankit.export_card import model_card, sample_picture

    run = RunDir.open(run_path)
    cfg = run.config()
    step, state, _ = run.finite_checkpoint()  # NaN weights would export NaN samples
    out = Path(out_dir)
    source = {"run": str(run.path.resolve()), "step": step}
    _check_out(out, source)
    which = "G_ema" if cfg.model.g_ema and any(k.startswith("G_ema.") for k in state) else "G"
    weights = {
        f"G.{k[len(which) + 1 :]}": np.ascontiguousarray(v)
        for k, v in state.items()
        if k.startswith(f"{which}.")
    }
    shape = _sample_shape(run)
    raw = run.raw_config()
    info: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "step": step,
        "weights": which,
        "source": source,
        "sample": _value_space(cfg, shape),
        "sampler": _truncation(cfg),
    }
    generator = Generator(cfg, info, weights)  # refuses weights its own config cannot load
    out.mkdir(parents=True, exist_ok=True)
    staging = out / STAGING  # written whole, then moved in; config.json last
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        save_file(weights, str(staging / WEIGHTS))
        info["sha256"] = _sha256(staging / WEIGHTS)
        sample_picture(generator, run, staging / PICTURE)
        (staging / CARD).write_text(
            model_card(run, generator, raw.get("meta", {}), out.resolve().name)
        )
        write_json(staging / CONFIG, {**raw, "export": info})
        (out / CONFIG).unlink(missing_ok=True)  # a rewrite cut short leaves no export at all
        for name in FILES:
            (staging / name).replace(out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out
