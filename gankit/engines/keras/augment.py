"""DiffAugment (Zhao et al. 2020) in ``keras.ops`` on NHWC images in [-1, 1]: the torch
engine's augmentations (``gankit/engines/torch/augment.py``) with the same draws per image,
taken from a ``keras.random.SeedGenerator`` so runs stay reproducible and resumable.

Translation and cutout are written as one gather and one elementwise mask instead of
torch's advanced indexing: the same pixels move and the same pixels go dark, for any backend.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


def _rand(x: Any, seed: keras.random.SeedGenerator) -> Any:
    return keras.random.uniform((x.shape[0], 1, 1, 1), dtype=x.dtype, seed=seed)


def color(x: Any, seed: keras.random.SeedGenerator) -> Any:
    """Random brightness (±0.5), saturation (x0 to x2) and contrast (x0.5 to x1.5)."""
    x = x + (_rand(x, seed) - 0.5)
    mean = ops.mean(x, axis=-1, keepdims=True)
    x = (x - mean) * (_rand(x, seed) * 2) + mean
    mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
    return (x - mean) * (_rand(x, seed) + 0.5) + mean


def translation(x: Any, seed: keras.random.SeedGenerator, ratio: float = 0.125) -> Any:
    """Shift each image by up to ``ratio`` of its size, filling with zeros (mid grey)."""
    b, h, w, c = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    tx = keras.random.randint((b, 1, 1), -sh, sh + 1, seed=seed)
    ty = keras.random.randint((b, 1, 1), -sw, sw + 1, seed=seed)
    gi = ops.clip(ops.reshape(ops.arange(h), (1, h, 1)) + tx + 1, 0, h + 1)
    gj = ops.clip(ops.reshape(ops.arange(w), (1, 1, w)) + ty + 1, 0, w + 1)
    padded = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])  # a zero border to shift in from
    flat = ops.reshape(padded, (b, (h + 2) * (w + 2), c))
    idx = ops.reshape(gi * (w + 2) + gj, (b, h * w, 1))
    out = ops.take_along_axis(flat, ops.broadcast_to(idx, (b, h * w, c)), axis=1)
    return ops.reshape(out, (b, h, w, c))


def cutout(x: Any, seed: keras.random.SeedGenerator, ratio: float = 0.5) -> Any:
    """Zero a rectangle of ``ratio`` of the image's height and width at a random place.
    torch clamps the rectangle's rows and columns into the image; with these offsets the
    clamped set is exactly the rectangle cut to the image, which a mask expresses."""
    b, h, w, _ = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = keras.random.randint((b, 1, 1), 0, h + (1 - ch % 2), seed=seed)
    ox = keras.random.randint((b, 1, 1), 0, w + (1 - cw % 2), seed=seed)
    rows = ops.reshape(ops.arange(h), (1, h, 1)) - (oy - ch // 2)
    cols = ops.reshape(ops.arange(w), (1, 1, w)) - (ox - cw // 2)
    inside = (rows >= 0) & (rows < ch) & (cols >= 0) & (cols < cw)
    return x * ops.expand_dims(1.0 - ops.cast(inside, x.dtype), -1)


AUGMENTS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: Any, names: list[str], seed: keras.random.SeedGenerator) -> Any:
    """Apply the named augmentations in the reference order: color, translation, cutout."""
    for name in ("color", "translation", "cutout"):
        if name in names:
            x = AUGMENTS[name](x, seed)
    return x
