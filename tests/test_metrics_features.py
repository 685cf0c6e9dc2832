"""The shipped digit classifier, Stacked-MNIST mode counts, and the offline encoder features.

The encoder tests check the property a feature space for FID-style scores must have (the check of
Heusel et al. 2017 and the "quality of features" studies): the Fréchet distance between real
images and corrupted real images grows strictly with the strength of the corruption, and two
disjoint real sets are closer than the weakest corruption. Encoders are trained for a few hundred
steps here to keep the file fast; the defaults train longer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from itertools import pairwise

import numpy as np
import pytest
import torch
from scipy import ndimage
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from gankit.metrics import features as feat
from gankit.metrics.digit_classifier import (
    WEIGHTS_JSON,
    WEIGHTS_PATH,
    DigitClassifier,
    class_counts,
    stacked_modes,
)
from gankit.metrics.features import EncoderFeatures

torch.set_num_threads(1)


# --------------------------------------------------------------------------- data and helpers


def sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """uint8 (1797, 8, 8, 1) 0..255 and labels, as gankit.data.images.digits() gives them."""
    d = load_digits()
    return np.round(d.images * 255.0 / 16.0).astype(np.uint8)[..., None], d.target


def held_out_digits() -> tuple[np.ndarray, np.ndarray]:
    """The classifier's held-out split, rebuilt from the protocol stored beside its weights."""
    images, labels = sklearn_digits()
    split = json.loads(WEIGHTS_JSON.read_text())["split"]
    _, test = train_test_split(
        np.arange(len(labels)),
        test_size=split["test_size"],
        random_state=split["random_state"],
        stratify=labels if split["stratify"] else None,
    )
    return images[test], labels[test]


def stack(images: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n stacked digits: three independently drawn digits as the R, G and B channels."""
    idx = np.random.default_rng(seed).integers(0, len(images), (n, 3))
    return np.concatenate([images[idx[:, c]] for c in range(3)], axis=3)


def shapes(n: int, seed: int, size: int = 64) -> np.ndarray:
    """uint8 (n, size, size, 3): up to three coloured circles, squares and triangles on a
    tilted colour background; structured like real images (edges, flat regions, objects)."""
    rng = np.random.default_rng(seed)
    yy, xx = (np.mgrid[0:size, 0:size] + 0.5) / size
    img = rng.uniform(0.0, 0.6, (n, 1, 1, 3)) + rng.uniform(-0.3, 0.3, (n, 1, 1, 3)) * xx[..., None]
    for _ in range(3):
        cx, cy = rng.uniform(0.2, 0.8, (2, n, 1, 1))
        r = rng.uniform(0.08, 0.25, (n, 1, 1))
        kind = rng.integers(0, 3, (n, 1, 1))
        dx, dy = xx - cx, yy - cy
        circle = dx**2 + dy**2 < r**2
        square = (np.abs(dx) < r) & (np.abs(dy) < r)
        triangle = (dy < r) & (np.abs(dx) < (dy + r) / 2)
        mask = np.where(kind == 0, circle, np.where(kind == 1, square, triangle))
        present = rng.uniform(size=(n, 1, 1)) < 0.8
        img = np.where((mask & present)[..., None], rng.uniform(0.2, 1.0, (n, 1, 1, 3)), img)
    return np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)


def corrupt(images: np.ndarray, kind: str, level: float, seed: int = 1) -> np.ndarray:
    """Gaussian noise (sd as a share of 255), Gaussian blur (sigma in pixels) or a black square
    (side in pixels) at a random place in each image."""
    rng = np.random.default_rng(seed)
    x = images.astype(np.float64)
    if kind == "noise":
        x += rng.normal(0.0, level * 255.0, x.shape)
    elif kind == "blur":
        x = ndimage.gaussian_filter(x, sigma=(0, level, level, 0))
    elif kind == "occlusion":
        n, h, w, _ = x.shape
        side = int(level)
        ys, xs = rng.integers(0, h - side + 1, n), rng.integers(0, w - side + 1, n)
        for i in range(n):
            x[i, ys[i] : ys[i] + side, xs[i] : xs[i] + side] = 0.0
    else:
        raise ValueError(kind)
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (FID's formula).

    tr sqrt(S1 S2) is taken as the sum of the square roots of the eigenvalues of the symmetric
    r S2 r with r = sqrt(S1): the same number as scipy's sqrtm, in milliseconds instead of
    seconds for 240 features."""
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(s1)
    r = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh(r @ s2 @ r), 0.0, None)).sum()
    return float(
        np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(s1) + np.trace(s2) - 2 * tr_covmean
    )


LEVELS = {  # five strengths per corruption, the weakest already well above real-vs-real
    "digits": {
        "noise": [0.1, 0.15, 0.2, 0.3, 0.4],
        "blur": [0.5, 0.75, 1.0, 1.5, 2.0],
        "occlusion": [2, 3, 4, 5, 6],
    },
    "shapes": {
        "noise": [0.1, 0.15, 0.2, 0.3, 0.4],
        "blur": [3, 4, 6, 8, 12],  # sigma 2 px is within sampling noise at 500 images
        "occlusion": [20, 26, 32, 40, 48],
    },
}


def corruption_table(
    enc: EncoderFeatures, reference: np.ndarray, other: np.ndarray, levels: dict
) -> tuple[float, dict[str, list[float]]]:
    """FD(reference, other) and FD(reference, corrupted other) per corruption and level."""
    ref = enc(reference)
    floor = frechet(ref, enc(other))
    table = {
        kind: [frechet(ref, enc(corrupt(other, kind, lv))) for lv in lvs]
        for kind, lvs in levels.items()
    }
    return floor, table


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread() -> Iterator[None]:
    """NumPy's BLAS on one thread: on a busy two-core machine two threads make each 240x240
    eigendecomposition 50 times slower."""
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A private GANKIT_CACHE for the whole module, so encoders trained once are shared."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANKIT_CACHE", str(tmp_path_factory.mktemp("gankit-cache")))
        yield


# --------------------------------------------------------------------------- digit classifier


def test_classifier_weights_are_small_and_documented() -> None:
    assert WEIGHTS_PATH.stat().st_size < 200_000
    info = json.loads(WEIGHTS_JSON.read_text())
    assert info["held_out_accuracy"] >= 0.98
    assert {"split", "seed", "date", "command"} <= info.keys()


def test_classifier_held_out_accuracy() -> None:
    clf = DigitClassifier.load()
    images, labels = held_out_digits()
    probs = clf.probs(images)
    assert probs.shape == (len(images), 10) and probs.dtype == np.float64
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    assert np.mean(probs.argmax(axis=1) == labels) >= 0.97


def test_classifier_features_concatenate_channels() -> None:
    clf = DigitClassifier.load()
    images, _ = held_out_digits()
    one = clf.features(images[:20])
    three = clf.features(stack(images, 20, seed=0))
    assert one.shape == (20, 64) and three.shape == (20, 192)
    np.testing.assert_array_equal(clf(images[:20]), one)
    assert clf.protocol["name"] == "digit-classifier" and clf.protocol["held_out_accuracy"] > 0.98
    rgb = np.concatenate([images[:5]] * 3, axis=3)
    np.testing.assert_allclose(
        clf.features(rgb), np.tile(clf.features(images[:5]), 3), rtol=1e-4, atol=1e-5
    )


def test_classifier_rejects_wrong_shapes() -> None:
    clf = DigitClassifier.load()
    with pytest.raises(ValueError, match="uint8"):
        clf.probs(np.zeros((2, 8, 8, 1), dtype=np.float32))
    with pytest.raises(ValueError, match="1 channel"):
        clf.probs(np.zeros((2, 8, 8, 3), dtype=np.uint8))


def test_class_counts_on_held_out_digits() -> None:
    images, _ = held_out_digits()
    scores = class_counts(images)
    assert scores["coverage"] == 10 and sum(scores["counts"]) == len(images)
    assert scores["reverse_kl"] < 0.01
    assert scores["protocol"]["classifier"]["name"] == "digit-classifier"
    json.dumps(scores)


def test_stacked_modes_on_genuine_stacked_digits() -> None:
    images, _ = held_out_digits()  # digits the classifier never saw
    scores = stacked_modes(stack(images, 26_000, seed=0))
    assert scores["modes"] >= 990 and scores["n_modes"] == 1000
    assert scores["reverse_kl"] < 0.1
    assert scores["protocol"]["n_samples"] == 26_000
    assert scores["protocol"]["classifier"]["held_out_accuracy"] >= 0.98
    json.dumps(scores)


def test_stacked_modes_of_one_triple() -> None:
    images, labels = held_out_digits()
    clf = DigitClassifier.load()
    right = np.flatnonzero(clf.predict(images) == labels)
    triple = np.concatenate([images[right[i : i + 1]] for i in (0, 1, 2)], axis=3)
    scores = stacked_modes(np.repeat(triple, 500, axis=0))
    assert scores["modes"] == 1
    assert scores["reverse_kl"] == pytest.approx(math.log(1000), abs=1e-6)


# --------------------------------------------------------------------------- encoder features


def test_encoder_is_cached_and_deterministic(
    cache: None, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    images, _ = sklearn_digits()
    threads = torch.get_num_threads()
    EncoderFeatures.for_data(images[:64], steps=1, threads=threads + 1)
    assert torch.get_num_threads() == threads  # the caller's setting is given back
    first = EncoderFeatures.for_data(images[:600], steps=40)
    fp = first.protocol["fingerprint"]
    assert (feat.cache_dir("features") / f"{fp}.safetensors").exists()
    assert first.protocol["name"] == "gankit-encoder-v1" and first.protocol["steps"] == 40

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached encoder should have been loaded")

    with monkeypatch.context() as mp:
        mp.setattr(feat, "_train", no_training)
        again = EncoderFeatures.for_data(images[:600], steps=40)
    np.testing.assert_array_equal(first(images), again(images))
    assert again.protocol == first.protocol

    # A fresh cache trains again, from scratch, to the same weights and features.
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path_factory.mktemp("other-cache")))
    retrained = EncoderFeatures.for_data(images[:600], steps=40)
    out = retrained(images)
    assert out.dtype == np.float64 and out.shape == (len(images), 240)
    np.testing.assert_array_equal(first(images), out)

    # Other data, seed or steps: another fingerprint.
    assert EncoderFeatures.for_data(images[:600], steps=41).protocol["fingerprint"] != fp
    assert EncoderFeatures.for_data(images[1:601], steps=40).protocol["fingerprint"] != fp


def test_encoder_rejects_other_shapes(cache: None) -> None:
    images, _ = sklearn_digits()
    enc = EncoderFeatures.for_data(images[:300], steps=5)
    with pytest.raises(ValueError, match="trained on"):
        enc(np.zeros((2, 16, 16, 1), dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        EncoderFeatures.for_data(images.astype(np.float32), steps=5)


def test_unreadable_cache_is_retrained(cache: None) -> None:
    images, _ = sklearn_digits()
    enc = EncoderFeatures.for_data(images[:200], steps=3)
    path = feat.cache_dir("features") / f"{enc.protocol['fingerprint']}.safetensors"
    path.write_bytes(b"not a safetensors file")
    again = EncoderFeatures.for_data(images[:200], steps=3)
    np.testing.assert_array_equal(enc(images[:50]), again(images[:50]))
    assert path.stat().st_size > 1000


def test_atari_sized_frames_are_downsampled(cache: None) -> None:
    frames = np.zeros((40, 210, 160, 3), dtype=np.uint8)
    frames[:, 100:110] = 200
    enc = EncoderFeatures.for_data(frames, steps=2)
    assert enc.protocol["input_size"] == [64, 49]
    assert enc(frames[:3]).shape == (3, 240)


def _assert_monotone(floor: float, table: dict[str, list[float]]) -> None:
    for kind, fds in table.items():
        assert all(a < b for a, b in pairwise(fds)), (kind, fds)
        assert fds[0] > 2.0 * floor, (kind, floor, fds)


def test_fd_grows_with_corruption_on_digits(cache: None) -> None:
    images, _ = sklearn_digits()
    order = np.random.default_rng(0).permutation(len(images))
    train, reference, other = np.split(images[order], [897, 1347])
    enc = EncoderFeatures.for_data(train, steps=400)
    _assert_monotone(*corruption_table(enc, reference, other, LEVELS["digits"]))


def test_fd_grows_with_corruption_on_64x64_rgb(cache: None) -> None:
    data = shapes(2000, seed=0)
    enc = EncoderFeatures.for_data(data[:1000], steps=100)
    _assert_monotone(*corruption_table(enc, data[1000:1500], data[1500:], LEVELS["shapes"]))
