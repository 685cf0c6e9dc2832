"""A run's random streams, in one place: one seed splits into independent NumPy
``SeedSequence([seed, stream])`` streams, so drawing more from one never shifts another, and
every engine draws its weights, batches and noise from the same numbered streams.
"""

from __future__ import annotations

import numpy as np

DATA = 1  # toy points, the held-out split of images, the benchmarks' random data
WEIGHTS = 2  # G's and D's initial weights: the same networks in every engine
BATCHES = 3  # training batches, latent noise, penalty mixes, augmentations
DROPOUT = 4  # D's dropout masks
EVAL_LATENT = 5  # the latent draws gankit eval scores
SHOWN_REAL = 6  # the real samples shown beside the generated ones
SNAPSHOT_LATENT = 7  # the snapshots' fixed latent batch: one GIF frame to the next
SIGNALS = 8  # the fixed batches the live signals measure
FLOOR = 9  # the real training sample a score's real-data floor is measured on


def rng(seed: int, stream: int) -> np.random.Generator:
    """A NumPy generator of ``stream`` under ``seed``."""
    return np.random.default_rng([seed, stream])


def int_seed(seed: int, stream: int) -> int:
    """``stream`` under ``seed`` as one 32-bit integer (to seed torch and Keras)."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])
