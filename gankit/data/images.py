"""Image data sets: folders of image files, NumPy arrays and the bundled 8x8 digits.

Images cross every boundary as ``uint8 (N, H, W, C)`` arrays with C = 1 (luminance) or 3 (RGB),
so engines, metrics and plots never meet a file format. Pillow does all decoding and resampling.

Transparency is composited over white rather than dropped: the colour under a transparent pixel
is undefined (often black, sometimes left-over paint), so dropping alpha would put sprites and
icons on arbitrary backgrounds, while white shows each image as a viewer or web page does.
"""

from __future__ import annotations

import math
import os
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from gankit.errors import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
ARRAY_SUFFIXES = (".npy", ".npz")
NPZ_NAMES = ("x", "images", "x_train", "train")  # looked for in this order when an .npz has several
FILTER = Image.Resampling.LANCZOS
REDUCING_GAP = 3.0  # Pillow: from 3 on, indistinguishable from fair resampling, and much faster
THREADS_FROM = 32  # files; below this a thread pool costs more than it saves
_ACCEPTED = "PNG/JPEG/BMP/WebP"
# What Pillow raises on a malformed file; anything else is a bug and should surface.
_DECODE_ERRORS = (
    OSError,  # includes UnidentifiedImageError and "image file is truncated"
    SyntaxError,  # "broken PNG file" and other chunk errors
    ValueError,
    EOFError,
    IndexError,
    struct.error,
    zlib.error,
    Image.DecompressionBombError,
)


class ImageSkipWarning(UserWarning):
    """Some files in an image folder could not be decoded and were left out."""


# --- conversions on arrays ------------------------------------------------------------------


def to_channels(img: np.ndarray, channels: int) -> np.ndarray:
    """``uint8 (N, H, W, C)`` with C in 1/3/4 -> ``(N, H, W, channels)``, channels 1 or 3.

    1 -> 3 repeats the grey; 3 -> 1 is ITU-R 601-2 luminance with Pillow's integer rounding, so an
    array and a file of the same picture give the same bytes; alpha is composited over white.
    Returns ``img`` itself when nothing needs converting."""
    _check_images(img, (1, 3, 4))
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {channels}")
    if img.shape[-1] == 4:
        rgb, alpha = img[..., :3].astype(np.uint32), img[..., 3:].astype(np.uint32)
        img = ((rgb * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    c = img.shape[-1]
    if c == channels:
        return img
    if channels == 3:
        return np.repeat(img, 3, axis=-1)
    r, g, b = (img[..., i].astype(np.uint32) for i in range(3))
    grey = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16  # Pillow's L = .299R + .587G + .114B
    return grey.astype(np.uint8)[..., None]


def resize(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``uint8 (N, H, W, C)`` -> ``(N, *size, C)``: scaled so the shorter side fits, then cropped
    to the centre, so nothing is stretched. Returns ``images`` itself when already that size."""
    _check_images(images, (1, 3, 4))
    h, w = _check_size(size)
    if images.shape[1:3] == (h, w):
        return images
    out = np.empty((len(images), h, w, images.shape[-1]), dtype=np.uint8)
    for i, one in enumerate(images):
        pil = Image.fromarray(one[..., 0] if one.shape[-1] == 1 else one)
        out[i] = np.asarray(_fit(pil, (h, w))).reshape(h, w, -1)
    return out


def _fit(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Crop the centre to the target aspect and resample it in one Pillow call (``box`` keeps
    sub-pixel exactness; ``reducing_gap`` makes large reductions cheap)."""
    h, w = size
    src_w, src_h = img.size
    if (src_w, src_h) == (w, h):
        return img
    if src_w * h > src_h * w:  # wider than the target: trim the sides
        crop = src_h * w / h
        box = ((src_w - crop) / 2, 0.0, (src_w + crop) / 2, float(src_h))
    else:  # taller (or same aspect): trim top and bottom
        crop = src_w * h / w
        box = (0.0, (src_h - crop) / 2, float(src_w), (src_h + crop) / 2)
    return img.resize((w, h), FILTER, box=box, reducing_gap=REDUCING_GAP)


def _check_images(img: np.ndarray, allowed: tuple[int, ...]) -> None:
    if img.dtype != np.uint8 or img.ndim != 4 or img.shape[-1] not in allowed:
        raise ValueError(
            f"expected uint8 (N, H, W, C) with C in {allowed}, got {img.dtype} {img.shape}"
        )


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    h, w = (int(s) for s in size)
    if h < 1 or w < 1:
        raise ValueError(f"size must be (height, width) of positive ints, not {size}")
    return h, w


# --- folders of image files -----------------------------------------------------------------


def load_folder(path: str | Path, size: tuple[int, int], channels: int) -> np.ndarray:
    """Every PNG/JPEG/BMP/WebP under ``path`` (recursively, in sorted path order so runs repeat),
    brought to ``channels`` and ``size = (height, width)``: ``uint8 (N, H, W, C)``.

    A data set scraped from the web always has a few broken files; they are skipped and reported
    in a single :class:`ImageSkipWarning` instead of stopping a long run."""
    root = Path(path)
    h, w = _check_size(size)
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {channels}")
    if not root.exists():
        raise UserError(f"image folder {root} does not exist; give a folder of {_ACCEPTED} images.")
    if not root.is_dir():
        raise UserError(
            f"image folder {root} is a file, not a folder; give a folder of {_ACCEPTED} images."
        )
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    out = np.empty((len(files), h, w, channels), dtype=np.uint8)
    kept, bad = 0, []
    for file, img in zip(files, _decode_all(files, (h, w), channels), strict=True):
        if img is None:
            bad.append(file)
        else:
            out[kept] = img
            kept += 1
    if kept == 0:
        found = f"; all {len(files)} image files fail to decode (first: {bad[0]})" if bad else ""
        raise UserError(
            f"image folder {root} holds no readable {_ACCEPTED} image (looked recursively for "
            f"{', '.join(IMAGE_SUFFIXES)}){found}."
        )
    if bad:
        warnings.warn(
            f"skipped {len(bad)} of {len(files)} files under {root} that are not readable images "
            f"(first: {bad[0]})",
            ImageSkipWarning,
            stacklevel=2,
        )
    return out if kept == len(files) else out[:kept].copy()


def _decode_all(
    files: list[Path], size: tuple[int, int], channels: int
) -> Iterator[np.ndarray | None]:
    """Decode in order; threads pay off because Pillow releases the GIL while decoding."""
    if len(files) < THREADS_FROM:
        yield from (_decode(f, size, channels) for f in files)
        return
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        yield from pool.map(lambda f: _decode(f, size, channels), files)


def _decode(file: Path, size: tuple[int, int], channels: int) -> np.ndarray | None:
    """One file as ``uint8 (H, W, channels)``, or None when it is not a readable image."""
    h, w = size
    try:
        with Image.open(file) as img:
            # JPEG can decode at 1/2, 1/4 or 1/8 scale for free; ask for at least the target on
            # both sides (the longer one, since EXIF rotation may swap the axes).
            img.draft(None, (max(h, w), max(h, w)))
            img.load()
            ImageOps.exif_transpose(img, in_place=True)  # phone photos: as a viewer shows them
            img = _fit(_plain_mode(img), size)
    except _DECODE_ERRORS:
        return None
    arr = np.asarray(img).reshape(h, w, -1)
    return to_channels(arr[None], channels)[0]


def _plain_mode(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> L, RGB or RGBA (resampled in Pillow before alpha is composited)."""
    if img.mode.startswith("I"):  # 16-bit grey PNG ("I;16", or "I" from older Pillow)
        # Pillow's own convert("L") clips at 255 instead of scaling; 65535 -> 255 by hand.
        arr = np.asarray(img).astype(np.float64) / 257
        return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8))
    has_alpha = "A" in img.mode or "a" in img.mode or "transparency" in img.info
    if has_alpha:
        return img if img.mode == "RGBA" else img.convert("RGBA")
    if img.mode in ("L", "RGB"):
        return img
    return img.convert("L" if img.mode == "1" else "RGB")


# --- NumPy arrays ---------------------------------------------------------------------------


def load_array(path: str | Path, size: tuple[int, int] | None, channels: int) -> np.ndarray:
    """Images from a ``.npy`` or ``.npz`` file as ``uint8 (N, H, W, channels)``.

    Layouts (N, H, W), (N, H, W, C) with C in 1/3/4, (N, C, H, W) with C in 1/3 and flat (N, D)
    with D square (MNIST-style) are all met in the wild; uint8 is kept as is (so are other integer
    types holding 0..255), floats in [0, 1] or [-1, 1] (told apart by a negative minimum) are
    scaled to 0..255. Resized only when ``size`` is given and differs."""
    p = Path(path)
    accepted = "a .npy or .npz file of uint8 or float images"
    if not p.is_file():
        raise UserError(f"image array {p} does not exist; give {accepted}.")
    if p.suffix.lower() not in ARRAY_SUFFIXES:
        raise UserError(f"image array {p} has suffix {p.suffix!r}; give {accepted}.")
    arr = _to_nhwc(_read_array(p, accepted), p)
    if arr.size == 0:
        raise UserError(f"image array {p} holds no images (shape {arr.shape}); give {accepted}.")
    images = to_channels(_to_uint8(arr, p), channels)
    if size is not None:
        images = resize(images, size)
    return images


def _read_array(p: Path, accepted: str) -> np.ndarray:
    try:
        data = np.load(p, allow_pickle=False)
        if isinstance(data, np.lib.npyio.NpzFile):
            with data:
                return _pick_npz(data, p)
        return data
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise UserError(
            f"image array {p} is not a readable NumPy file ({e}); give {accepted}."
        ) from None


def _pick_npz(data: np.lib.npyio.NpzFile, p: Path) -> np.ndarray:
    """The only array, else the first of :data:`NPZ_NAMES` present; guessing among other names
    (or among ``savez``'s unnamed arr_0, arr_1, ...) would silently train on the wrong thing."""
    names = list(data.files)
    if len(names) == 1:
        return data[names[0]]
    for name in NPZ_NAMES:
        if name in names:
            return data[name]
    raise UserError(
        f"image array {p} holds {len(names)} arrays ({', '.join(names) or 'none'}); accepted: an "
        f".npz with a single array or one named {', '.join(NPZ_NAMES[:-1])} or {NPZ_NAMES[-1]}."
    )


def _to_nhwc(arr: np.ndarray, p: Path) -> np.ndarray:
    """Any accepted layout -> (N, H, W, C); channels-last wins when both readings are possible."""
    shape = arr.shape
    if arr.ndim == 2 and math.isqrt(shape[1]) ** 2 == shape[1]:
        side = math.isqrt(shape[1])
        return arr.reshape(shape[0], side, side, 1)
    if arr.ndim == 3:
        return arr[..., None]
    if arr.ndim == 4 and shape[3] in (1, 3, 4):
        return arr
    if arr.ndim == 4 and shape[1] in (1, 3):
        return arr.transpose(0, 2, 3, 1)
    raise UserError(
        f"image array {p} has shape {shape}; accepted: (N, H, W), (N, H, W, C) with C in 1/3/4, "
        "(N, C, H, W) with C in 1/3, or flat (N, D) with D a square such as 784 = 28 x 28."
    )


def _to_uint8(arr: np.ndarray, p: Path) -> np.ndarray:
    """uint8 as is, integers in 0..255 cast, floats in [0, 1] or [-1, 1] scaled to 0..255."""
    accepted = "uint8 0..255, or floats in [0, 1] or [-1, 1]"
    if arr.dtype == np.uint8:
        return arr
    if np.issubdtype(arr.dtype, np.integer):
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 255:
            raise UserError(
                f"image array {p} holds {arr.dtype} values {lo}..{hi}; accepted: {accepted}."
            )
        return arr.astype(np.uint8)
    if not np.issubdtype(arr.dtype, np.floating):
        raise UserError(f"image array {p} holds values of type {arr.dtype}; accepted: {accepted}.")
    if not np.isfinite(arr).all():
        raise UserError(f"image array {p} holds NaN or infinite values; accepted: {accepted}.")
    lo, hi = float(arr.min()), float(arr.max())
    tol = 1e-3  # float32 arithmetic overshoots 1.0 by a hair
    if lo < 0:
        if lo < -1 - tol or hi > 1 + tol:
            raise UserError(
                f"image array {p} holds floats in [{lo:g}, {hi:g}]; accepted: {accepted}."
            )
        scaled = (arr.astype(np.float32) + 1) * 127.5
    else:
        if hi > 1 + tol:
            raise UserError(
                f"image array {p} holds floats in [{lo:g}, {hi:g}]; accepted: {accepted} "
                "(save 0..255 values as uint8)."
            )
        scaled = arr.astype(np.float32) * 255
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


# --- the bundled digits ---------------------------------------------------------------------


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits  # slow to import; only the digits need it

    d = load_digits()
    images = np.floor(d.images * 255 / 16 + 0.5).astype(np.uint8)[..., None]
    return images, d.target.astype(np.int64)


def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits (bundled, no download): ``uint8 (1797, 8, 8, 1)`` with
    0..16 mapped to 0..255, and labels ``int64 (1797,)``. A real image set that runs anywhere."""
    images, labels = _digits()
    return images.copy(), labels.copy()  # the cache must not be changed by a caller


def stacked_digits(
    n: int,
    seed: int,
    images: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The offline stand-in for Stacked MNIST (1,000 modes to count a GAN's mode coverage by):
    ``uint8 (n, 8, 8, 3)`` whose channels are three digits drawn independently and uniformly from
    ``images`` (default :func:`digits`), labels ``int64 (n,) = 100 r + 10 g + b``.

    ``images``/``labels`` select a subset, e.g. a training split kept apart from a holdout."""
    if (images is None) != (labels is None):
        raise ValueError("give both images and labels, or neither")
    if images is None or labels is None:
        images, labels = _digits()
    grey = images[..., 0] if images.ndim == 4 and images.shape[-1] == 1 else images
    if grey.ndim != 3 or grey.dtype != np.uint8 or len(grey) != len(labels) or len(grey) == 0:
        raise ValueError(
            f"expected uint8 (M, H, W[, 1]) images and (M,) labels, got {images.dtype} "
            f"{images.shape} and {np.shape(labels)}"
        )
    pick = np.random.default_rng(seed).integers(0, len(grey), size=(n, 3))
    stacked = np.stack([grey[pick[:, k]] for k in range(3)], axis=-1)
    lab = np.asarray(labels, dtype=np.int64)[pick]
    return stacked, 100 * lab[:, 0] + 10 * lab[:, 1] + lab[:, 2]
