"""Signals for the doctor beyond the losses: measured by the training loop on every logged row,
on fixed batches, so they cost no random draw and a resumed run logs the same numbers.

* ``diversity``: the mean pairwise distance of G's samples over that of as many real ones.
  Near 1 for a healthy G; a collapsed G, making nearly the same sample for every z, drives it
  towards 0. Measured on the same fixed latent batch every time, so its curve is G's own
  change, not sampling noise.
* ``drift``: how far G's samples for the same latent batch moved since the last logged row,
  on the same scale (mean distance over the real data's mean pairwise distance). A run that
  converges moves less and less; 1 means every sample became an unrelated one.
* ``modes`` / ``mode_kl`` / ``high_quality`` (ring8, grid25): how many mixture components the
  samples reach and how evenly (gankit.metrics.toy.mode_scores).
* ``classes`` / ``class_kl`` (digits): how many digit classes the classifier reads in the
  samples and how evenly (gankit.metrics.digit_classifier.class_counts).
* ``layer_grads``: each layer's gradient norm at the last D and G updates
  (Engine.layer_grad_norms), so a vanishing or exploding gradient can be placed in a layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gankit import streams
from gankit.config import Config
from gankit.data import Data, ImageData
from gankit.engines.base import Engine

# Samples per measurement: 1,000 points give each of grid25's modes 40 expected samples, so a
# mode reads as lost only when G really misses it; 256 images keep the cost per logged row
# near one forward pass of G over a few batches.
POINT_SAMPLES = 1000
IMAGE_SAMPLES = 256


def mean_pairwise_distance(x: np.ndarray) -> float:
    """Mean Euclidean distance over all pairs of rows of ``x`` (flattened per sample), from
    the Gram matrix: one matrix product, no (n, n, d) intermediate."""
    f = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    sq = np.einsum("ij,ij->i", f, f)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (f @ f.T), 0.0)
    n = len(f)
    return float(np.sqrt(d2).sum() / max(n * (n - 1), 1))


class Signals:
    """The doctor's signals of one run: call it after a chunk of training for a dict of
    floats (and ``layer_grads``) to log beside the engine's statistics."""

    def __init__(self, cfg: Config, engine: Engine, data: Data) -> None:
        self.engine = engine
        rng = streams.rng(cfg.seed, streams.SIGNALS)  # its own: training's streams untouched
        images = isinstance(data, ImageData)
        n = min(IMAGE_SAMPLES if images else POINT_SAMPLES, len(data.holdout))
        self.z = engine.latent(n, rng)
        real = data.holdout[rng.permutation(len(data.holdout))[:n]]
        self.scale = 1.0 / 255.0 if images else 1.0
        self.real_spread = mean_pairwise_distance(real * self.scale)
        self.modes: tuple[np.ndarray, float] | None = None
        info = getattr(data, "info", {}) or {}
        if not images and "centres" in info:
            self.modes = (np.asarray(info["centres"], dtype=np.float64), float(info["sigma"]))
        # per-digit classes only where every image is one digit (not stacked digits, whose
        # 1,000 modes need far more samples than a logged row can afford)
        self.digits = images and cfg.data.name == "digits" and cfg.data.channels == 1
        # G's samples when the loop starts (step 0, or the checkpoint a resumed run starts
        # from, which is also its last logged row): what the first drift is measured from
        self.previous = self._sample()

    def _sample(self) -> np.ndarray:
        return self.engine.sample(self.z).astype(np.float64) * self.scale

    def __call__(self) -> dict[str, Any]:
        fake = self._sample()
        out: dict[str, Any] = {}
        spread = max(self.real_spread, 1e-12)
        if not np.all(np.isfinite(fake)):
            out["diversity"] = out["drift"] = float("nan")
        else:
            out["diversity"] = mean_pairwise_distance(fake) / spread
            moved = (fake - self.previous).reshape(len(fake), -1)
            out["drift"] = float(np.mean(np.linalg.norm(moved, axis=1))) / spread
        self.previous = fake
        if self.modes is not None and np.all(np.isfinite(fake)):  # points: scale is 1
            from gankit.metrics.toy import mode_scores

            m = mode_scores(fake, *self.modes)
            out.update(modes=m["modes"], mode_kl=m["reverse_kl"], high_quality=m["high_quality"])
        if self.digits and np.all(np.isfinite(fake)):
            from gankit.metrics.digit_classifier import class_counts

            c = class_counts(np.round(fake * 255).astype(np.uint8))
            out.update(classes=c["coverage"], class_kl=c["reverse_kl"])
        grads = self.engine.layer_grad_norms()
        if grads:
            out["layer_grads"] = grads
        return out
