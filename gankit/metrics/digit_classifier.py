"""A digit classifier for 8x8 digits, shipped with gankit, and the mode scores built on it.

Stacked MNIST (PacGAN, Lin et al. 2018) counts how many of 1,000 classes a generator covers: three
digits stacked as the RGB channels, each channel read by a trained digit classifier. MNIST cannot
be downloaded here, so gankit uses scikit-learn's 1,797 8x8 digits for the same construction and
ships a small CNN trained on them (``weights/digit_classifier.safetensors``, about 140 KB, made by
``benchmarks/train_digit_classifier.py``). The JSON beside the weights records how it was trained
and its held-out accuracy; every score here copies that into its ``protocol`` so that a mode count
is never separated from the classifier that produced it.

Images are ``uint8 (N, 8, 8, C)`` arrays with values 0..255, the layout of
``gankit.data.images.digits()`` (scikit-learn's 0..16 scaled by 255/16 and rounded).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

__all__ = [
    "WEIGHTS_JSON",
    "WEIGHTS_PATH",
    "DigitClassifier",
    "DigitNet",
    "class_counts",
    "stacked_modes",
]

WEIGHTS_PATH = Path(__file__).resolve().parent / "weights" / "digit_classifier.safetensors"
WEIGHTS_JSON = WEIGHTS_PATH.with_suffix(".json")
N_CLASSES = 10
FEATURE_DIM = 64
BATCH = 4096  # images per forward pass: bounds memory for 26,000-sample evaluations


class DigitNet(nn.Module):
    """Two 3x3 convolutions (8x8 -> 4x4 -> 2x2), a 64-unit hidden layer, 10 logits.

    Small on purpose: 36 k parameters are enough for 8x8 digits (99.3% held out), keep the shipped
    file small and classify the 78,000 channels of a 26,000-sample Stacked-MNIST count in a few
    CPU-seconds. The 64 hidden units double as the feature space of ``features``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(64 * 2 * 2, FEATURE_DIM), nn.ReLU())
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(FEATURE_DIM, N_CLASSES)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 8, 8) floats in [0, 1] -> (N, 64) penultimate activations."""
        return self.hidden(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.embed(x)))


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, 8, 8, 1) -> float32 (N, 1, 8, 8) in [0, 1]: the network's input scaling."""
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).float() / 255.0


def _check(images: Any, channels: int | None, name: str = "images") -> np.ndarray:
    arr = np.asarray(images)
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[1:3] != (8, 8) or len(arr) < 1:
        raise ValueError(
            f"{name} must be uint8 (N, 8, 8, C) digits with N >= 1; got {arr.dtype} {arr.shape}."
        )
    if channels is not None and arr.shape[3] != channels:
        raise ValueError(f"{name} must have {channels} channel(s); got shape {arr.shape}.")
    return arr


class DigitClassifier:
    """The shipped digit classifier: class probabilities and penultimate features of 8x8 digits."""

    name = "digit-classifier"

    def __init__(self, net: DigitNet, info: dict[str, Any]) -> None:
        self.net = net.eval()
        self.info = info

    @classmethod
    def load(cls) -> DigitClassifier:
        """The classifier from the package's weights (loaded once per process)."""
        return _load()

    @property
    def held_out_accuracy(self) -> float:
        return float(self.info["held_out_accuracy"])

    def describe(self) -> dict[str, Any]:
        """What goes into a score's protocol: the name, the accuracy and how it was trained."""
        keys = ("held_out_accuracy", "n_test", "split", "seed", "date")
        return {"name": self.name, **{k: self.info[k] for k in keys if k in self.info}}

    @property
    def protocol(self) -> dict[str, Any]:
        """The feature space as recorded with FD / KID scores computed in it."""
        return {
            **self.describe(),
            "layer": "penultimate (64 ReLU units); 3-channel images: per channel, concatenated",
            "feature_dim_per_channel": FEATURE_DIM,
            "input_size": [8, 8],
        }

    @torch.no_grad()
    def _run(self, images: np.ndarray, embed: bool) -> np.ndarray:
        out = []
        for start in range(0, len(images), BATCH):
            x = to_tensor(images[start : start + BATCH])
            y = self.net.embed(x) if embed else torch.softmax(self.net(x), dim=1)
            out.append(y.double().numpy())
        return np.concatenate(out)

    def probs(self, images: np.ndarray) -> np.ndarray:
        """uint8 (N, 8, 8, 1) -> (N, 10) float64 class probabilities."""
        return self._run(_check(images, 1), embed=False)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """uint8 (N, 8, 8, 1) -> (N,) int64 predicted digits."""
        return self.probs(images).argmax(axis=1)

    def features(self, images: np.ndarray) -> np.ndarray:
        """uint8 (N, 8, 8, C) -> (N, 64 * C) float64 penultimate features.

        Each channel is read as one digit and the per-channel features are concatenated, so a
        stacked (RGB) digit gets 192 features: a Fréchet distance in this space compares all three
        digits of a sample."""
        arr = _check(images, None)
        per_channel = [self._run(arr[..., c : c + 1], embed=True) for c in range(arr.shape[3])]
        return np.concatenate(per_channel, axis=1)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """``features``: so that the classifier is a feature space like the others."""
        return self.features(images)


@lru_cache(maxsize=1)
def _load() -> DigitClassifier:
    if not WEIGHTS_PATH.exists():
        raise FileNotFoundError(
            f"{WEIGHTS_PATH} is missing; run `python -m benchmarks.train_digit_classifier`."
        )
    net = DigitNet()
    net.load_state_dict(load_file(WEIGHTS_PATH))
    info = json.loads(WEIGHTS_JSON.read_text()) if WEIGHTS_JSON.exists() else {}
    return DigitClassifier(net, info)


def _histogram_scores(labels: np.ndarray, n_classes: int) -> tuple[np.ndarray, int, float]:
    """Counts per class, classes with >= 1 sample, KL(histogram || uniform) in nats."""
    counts = np.bincount(labels, minlength=n_classes)
    p = counts[counts > 0] / len(labels)
    kl = float(np.sum(p * np.log(p * n_classes)))
    return counts, int(np.count_nonzero(counts)), max(kl, 0.0)


def class_counts(images: np.ndarray) -> dict[str, Any]:
    """How a set of one-channel digits spreads over the 10 classes, as the classifier reads them.

    A generator trained on all ten digits that draws only a few of them has collapsed; the
    histogram shows which, ``coverage`` how many and ``reverse_kl`` how unevenly
    (KL(histogram || uniform over 10), 0 when balanced, ln 10 for one class)."""
    arr = _check(images, 1)
    clf = DigitClassifier.load()
    counts, covered, kl = _histogram_scores(clf.predict(arr), N_CLASSES)
    return {
        "counts": [int(c) for c in counts],
        "shares": [float(c / len(arr)) for c in counts],
        "coverage": covered,
        "n_classes": N_CLASSES,
        "reverse_kl": kl,
        "protocol": {"n_samples": len(arr), "classifier": clf.describe()},
    }


def stacked_modes(images: np.ndarray) -> dict[str, Any]:
    """Stacked-MNIST mode count of uint8 (N, 8, 8, 3) stacked digits.

    Each channel is classified on its own and the sample's class is 100 r + 10 g + b. As in
    PacGAN: ``modes`` is the number of the 1,000 classes with at least one sample (PacGAN uses
    26,000 samples), ``reverse_kl`` is KL(predicted class histogram || uniform over 1,000) in nats:
    0 for a perfectly even spread, ln 1000 = 6.91 when every sample is the same triple. With N
    samples from a perfect generator the KL is still about 999 / (2 N) (0.019 at 26,000), the
    multinomial noise of the histogram itself."""
    arr = _check(images, 3)
    clf = DigitClassifier.load()
    r, g, b = (clf.predict(arr[..., c : c + 1]) for c in range(3))
    _, covered, kl = _histogram_scores(100 * r + 10 * g + b, 1000)
    return {
        "modes": covered,
        "n_modes": 1000,
        "reverse_kl": kl,
        "protocol": {
            "n_samples": len(arr),
            "classes": "100 * red digit + 10 * green digit + blue digit",
            "kl": "KL(predicted histogram || uniform over 1000), nats",
            "perfect_generator_kl": (1000 - 1) / (2 * len(arr)),
            "reference": "PacGAN (Lin et al. 2018): 26,000 samples, 1,000 modes",
            "classifier": clf.describe(),
        },
    }
