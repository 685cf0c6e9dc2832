"""Data for the engines, as NumPy arrays and nothing else: points ``float32 (N, d)`` from
``toy``, images ``uint8 (N, H, W, C)`` from ``images`` (folders, arrays, digits) and ``atari``
(frames of a game). :func:`load_data` picks by ``data.name``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gankit import streams
from gankit.config import DataConfig
from gankit.data.toy import PointData, make_points
from gankit.errors import UserError

DEFAULT_FOLDER_SIZE = (64, 64)  # a folder's images differ in size: they need a common one
ATARI_HOLDOUT_SEED = 1  # held-out game frames are played with this seed, training frames with 0


@dataclass
class ImageData:
    """Training images, held-out images and what an evaluation needs to know about them."""

    train: np.ndarray  # uint8 (N, H, W, C)
    holdout: np.ndarray  # uint8 (M, H, W, C), never trained on
    kind: str  # the data name: picks the evaluation protocol
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(np.prod(self.train.shape[1:]))


Data = PointData | ImageData


def load_data(cfg: DataConfig, seed: int, progress: bool = True) -> Data:
    """The training and held-out samples the config names; same seed, same data."""
    if not cfg.is_image:
        return make_points(cfg, seed)
    from gankit.data import images

    size = tuple(cfg.size) if cfg.size else None
    info: dict[str, Any] = {"source": cfg.name}
    if cfg.name == "atari":
        train, holdout = _atari(cfg, progress)
        info.update(game=cfg.game, frameskip=cfg.frameskip, holdout_seed=ATARI_HOLDOUT_SEED)
        return _finish(train, holdout, cfg, size, info)
    if cfg.name == "stacked-digits":
        x, _ = images.stacked_digits(cfg.n + cfg.holdout, seed)
        info["labels"] = "100 * red digit + 10 * green digit + blue digit"
        n_hold = cfg.holdout
    else:
        if cfg.name == "digits":
            x, _ = images.digits()
        elif cfg.path is None:
            raise UserError(f"data.name = {cfg.name} needs data.path, the {_WHAT[cfg.name]}.")
        elif cfg.name == "folder":
            x = images.load_folder(cfg.path, size or DEFAULT_FOLDER_SIZE, cfg.channels)
            info["path"] = cfg.path
        else:
            x = images.load_array(cfg.path, size, cfg.channels)
            info["path"] = cfg.path
        # a small folder keeps most of its images for training
        n_hold = min(cfg.holdout, len(x) // 5)
        if n_hold < 1:
            raise UserError(
                f"data.path {cfg.path} gave {len(x)} image(s); gankit needs at least 5 to "
                "train on some and hold one out for the scores."
            )
    x = x[streams.rng(seed, streams.DATA).permutation(len(x))]  # held out from all over
    return _finish(x[n_hold:], x[:n_hold], cfg, size, info)


def _atari(cfg: DataConfig, progress: bool) -> tuple[np.ndarray, np.ndarray]:
    """Training frames from games played with seed 0, held-out frames from games of their own.

    The frames belong to the game, not to the run: one collection serves every run seed.
    Frames of one game are near-copies of their neighbours (same score, same bricks, the
    paddle a few pixels on), so frames held out from the training games are not independent
    of them: Breakout's real-vs-real Fréchet distance was 0.0015 that way, and frames of
    fresh games scored 0.015-0.034 against those held-out frames, 10-23 times that floor. A
    floor the game itself cannot reach measures closeness to the training frames, not to the
    game; games of their own give the floor any fresh sample of real play scores."""
    from gankit.data.atari import load_frames

    def play(n: int, seed: int) -> np.ndarray:
        return load_frames(cfg.game, n, cfg.frameskip, cfg.dedupe, seed, progress)

    return play(cfg.n, 0), play(cfg.holdout, ATARI_HOLDOUT_SEED)


def _finish(
    train: np.ndarray,
    holdout: np.ndarray,
    cfg: DataConfig,
    size: tuple[int, ...] | None,
    info: dict[str, Any],
) -> ImageData:
    """Both splits brought to the configured size and channels."""
    from gankit.data import images

    parts = []
    for x in (train, holdout):
        if size is not None and x.shape[1:3] != size:
            # game frames are squashed to the size, as DQN's 84x84: a crop would cut off the
            # score or the paddle; other images keep their aspect (shorter side fit, centre crop)
            x = _squash(x, size) if cfg.name == "atari" else images.resize(x, size)
        if x.shape[3] != cfg.channels:
            x = images.to_channels(x, cfg.channels)
        parts.append(x)
    info["n_train"], info["n_holdout"] = len(train), len(holdout)
    return ImageData(train=parts[0], holdout=parts[1], kind=cfg.name, info=info)


_WHAT = {"folder": "folder of images", "array": ".npy or .npz file of images"}


def _squash(x: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    """Resize every image to exactly ``size`` (height, width), aspect not kept; area averaging
    (Pillow's BOX) keeps thin lines such as the ball when shrinking."""
    from PIL import Image

    h, w = size
    out = np.empty((len(x), h, w, x.shape[3]), np.uint8)
    for i, img in enumerate(x):
        pil = Image.fromarray(img[..., 0] if x.shape[3] == 1 else img)
        small = np.asarray(pil.resize((w, h), Image.Resampling.BOX))
        out[i] = small.reshape(h, w, -1)
    return out
