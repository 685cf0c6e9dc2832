"""Engines: the same G and D, trained by PyTorch, Keras 3 or plain NumPy."""

from __future__ import annotations

import numpy as np

from gankit.config import Config
from gankit.engines.base import Engine


def make_engine(cfg: Config, train_data: np.ndarray) -> Engine:
    if cfg.train.engine == "torch":
        from gankit.engines.torch.engine import TorchEngine

        return TorchEngine(cfg, train_data)
    if cfg.train.engine == "numpy":
        from gankit.engines.numpy.engine import NumpyEngine

        return NumpyEngine(cfg, train_data)
    if cfg.train.engine == "keras":
        from gankit.engines.keras.engine import KerasEngine

        return KerasEngine(cfg, train_data)
    raise AssertionError(f"unhandled engine {cfg.train.engine}")  # the config allows no other


def check_engine(cfg: Config) -> None:
    """Refuse, in one sentence, a config the chosen engine (or the sampler) cannot run,
    before any data is loaded or collected."""
    from gankit.sampling import check

    check(cfg)
    if cfg.train.engine == "numpy":
        from gankit.engines.numpy.engine import check_supported

        check_supported(cfg)
    elif cfg.train.engine == "keras":
        from gankit.engines.keras.engine import check_supported as keras_check

        keras_check(cfg)
