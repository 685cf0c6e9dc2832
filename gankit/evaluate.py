"""``gankit eval RUN``: score the newest checkpoint of a run against held-out real samples.

Reads only the run directory (config.json + checkpoint); the data are rebuilt from the saved
config and seed (game frames and feature networks come from the cache). Each score carries its
protocol, and the same protocol applied to real training samples against the held-out ones
gives what a perfect generator scores up to sampling noise (a generator tighter or more even
than a random sample can do a little better). Which scores a run gets is the registry's
(gankit.scores): points get the toy scores; images get FD, KID, precision/recall and
density/coverage in a feature space (EvalConfig.features).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from gankit import streams
from gankit.config import Config
from gankit.data import Data, ImageData, load_data
from gankit.engines import make_engine
from gankit.engines.base import Engine
from gankit.errors import UserError
from gankit.run import RunDir, write_json
from gankit.sampling import draw
from gankit.scores import ScoreInput, registry


def load_trained(run: RunDir, progress: bool = False) -> tuple[Engine, Data, int]:
    """The run's engine with its newest checkpoint loaded, its data, and that step."""
    cfg = run.config()
    step, state, _ = run.finite_checkpoint()
    data = load_data(cfg.data, cfg.seed, progress)
    engine = make_engine(cfg, data.train)
    engine.load_state(state)
    return engine, data, step


def score_samples(
    x: np.ndarray,
    data: Data,
    cfg: Config,
    features: Any = None,
    real_f: np.ndarray | None = None,
) -> dict[str, Any]:
    """Every score of the registry (gankit.scores) that applies to this data, of samples
    ``x``; image scores read ``features`` and its features of the held-out images,
    ``real_f``, and their protocols name that feature space."""
    given = ScoreInput(x, data, cfg, features, real_f)
    out: dict[str, Any] = {}
    for score in registry.for_data(data):
        fields = score.compute(given)
        if score.feature_space:
            fields["protocol"].update(features=features.protocol, real="held-out images")
        out[score.key] = fields
    return out


def _eval_rng(seed: int) -> np.random.Generator:
    """The eval's latent stream: the scored samples and, beside truncated ones, the
    untruncated draws they are compared with start from the same noise."""
    return streams.rng(seed, streams.EVAL_LATENT)


def eval_samples(engine: Engine) -> tuple[np.ndarray, dict[str, Any]]:
    """The generated samples the scores are computed on, and how they were drawn."""
    cfg = engine.cfg
    return draw(engine, cfg.eval.n_samples, _eval_rng(cfg.seed))


def floor_sample(data: Data, n: int, seed: int) -> np.ndarray:
    """The real samples of the floor: ``n`` training samples in a random order fixed by seed."""
    return data.train[streams.rng(seed, streams.FLOOR).permutation(len(data.train))[:n]]


def feature_space(cfg: Config, data: ImageData) -> Any:
    """The feature network of the image scores (see EvalConfig.features)."""
    choice = cfg.eval.features
    if choice == "auto":
        if cfg.eval.inception_weights:
            choice = "inception"
        elif data.kind in ("digits", "stacked-digits") and data.train.shape[1:3] == (8, 8):
            choice = "classifier"
        else:
            choice = "encoder"
    if choice == "inception":
        from gankit.metrics.inception import InceptionV3Features

        if not cfg.eval.inception_weights:
            raise UserError(
                "eval.features = inception needs eval.inception_weights, the path of "
                "torch-fidelity's weights-inception-2015-12-05-6726825d.pth."
            )
        return InceptionV3Features(cfg.eval.inception_weights)
    if choice == "classifier":
        from gankit.metrics.digit_classifier import DigitClassifier

        if data.train.shape[1:3] != (8, 8):
            raise UserError(
                "eval.features = classifier reads 8x8 digits only; use encoder for these images."
            )
        return DigitClassifier.load()
    from gankit.metrics.features import EncoderFeatures

    return EncoderFeatures.for_data(data.train, seed=0)


def evaluate(run: RunDir, log: bool = True) -> dict[str, Any]:
    """Score the run, write ``eval.json`` and (when ``log``) an ``eval`` line in metrics.jsonl."""
    engine, data, step = load_trained(run)
    cfg = engine.cfg
    n = cfg.eval.n_samples
    x, sampler = eval_samples(engine)
    result: dict[str, Any] = {
        "step": step,
        "n_samples": n,
        "sampler": sampler,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    features, real_f = None, None
    if isinstance(data, ImageData):  # held-out features serve the scores and the floor
        features = feature_space(cfg, data)
        real_f = features(data.holdout)
    if not np.isfinite(x).all():
        result["diverged"] = True
        result["scores"] = {}
    else:
        result["scores"] = score_samples(x, data, cfg, features, real_f)
        if "jacobian_keep" in sampler:  # what G makes untruncated, for comparison
            every = engine.sample(engine.latent(n, _eval_rng(cfg.seed)))
            result["scores_every_draw"] = score_samples(every, data, cfg, features, real_f)
    # the floor: the same protocol on real samples the model never saw (train vs holdout)
    real = floor_sample(data, n, cfg.seed)
    result["real_floor"] = score_samples(real, data, cfg, features, real_f)
    write_json(run.path / "eval.json", result)
    if log:
        run.log_metrics({"step": step, "eval": result["scores"]})
    return result
