"""Engines: the same G and D, trained by PyTorch (and, later, Keras and NumPy)."""

from __future__ import annotations

import numpy as np

from gankit.config import Config
from gankit.engines.base import Engine


def make_engine(cfg: Config, train_data: np.ndarray) -> Engine:
    if cfg.train.engine == "torch":
        from gankit.engines.torch.engine import TorchEngine

        return TorchEngine(cfg, train_data)
    raise AssertionError(f"unhandled engine {cfg.train.engine}")  # the config allows no other
