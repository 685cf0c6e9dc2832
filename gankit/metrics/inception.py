"""InceptionV3 pool3 features (2048-d), the standard feature space of FID and KID, from a
weights file the user already has.

Published FID numbers come from the 2015-12-05 TensorFlow InceptionV3 graph. torch-fidelity and
pytorch-fid ship it converted to PyTorch and download it at first use; nothing here can
download, and no package on PyPI contains it, so gankit reads the user's local copy:

* ``weights-inception-2015-12-05-6726825d.pth`` (torch-fidelity, the file its
  ``FeatureExtractorInceptionV3`` loads through ``feature_extractor_weights_path``), or
* ``pt_inception-2015-12-05-6726825d.pth`` (pytorch-fid).

Both are plain state dicts with the same key names: torch-fidelity's module copies
torchvision's ``Inception3`` naming (``Conv2d_1a_3x3.conv.weight``, ``Mixed_5b.branch1x1.bn.
running_mean``, ..., ``fc.weight`` with 1008 classes, no ``AuxLogits``), and pytorch-fid builds
torchvision's ``Inception3(num_classes=1008, aux_logits=False)`` with the same sub-modules.
BatchNorm's ``num_batches_tracked`` counters are optional: torch-fidelity's converter does not
write them and they play no part in inference.

The network below is plain torch (no torchvision) and reproduces the FID variant of the graph:
BatchNorm eps 1e-3, average pools that leave padding out of the mean, and a *max* pool in the
last block's pool branch (a quirk of the TensorFlow graph that both libraries copy).

The two libraries differ only in how they feed images to it, and the difference moves FID, so
it is a choice here (``preprocess``) and part of ``protocol``:

* ``"torch-fidelity"`` (default): uint8 values resized to 299 x 299 with TensorFlow 1.x
  bilinear resize (``align_corners=False``, no half-pixel offset), then ``(x - 128) / 128``,
  as the original TensorFlow FID code fed the graph.
* ``"pytorch-fid"``: ``x / 255`` resized with ``torch.nn.functional.interpolate`` (bilinear,
  half-pixel centres, ``align_corners=False``), then ``2x - 1``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import UserError

__all__ = ["PREPROCESS", "InceptionV3", "InceptionV3Features", "resize_bilinear_tf1"]

INPUT_SIZE = 299
FEATURE_DIM = 2048
PREPROCESS = ("torch-fidelity", "pytorch-fid")
ACCEPTED_FILES = (
    "weights-inception-2015-12-05-6726825d.pth (torch-fidelity) or "
    "pt_inception-2015-12-05-6726825d.pth (pytorch-fid)"
)


# --------------------------------------------------------------------------- network


class BasicConv2d(nn.Module):
    """Convolution without bias, BatchNorm (eps 1e-3, as in TensorFlow), ReLU."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool(x: torch.Tensor) -> torch.Tensor:
    # TensorFlow's average pool leaves padded zeros out of the mean; torch's default counts them.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, in_channels: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_avg_pool(x))], 1)


class InceptionB(nn.Module):
    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([self.branch3x3(x), b3, pool], 1)


class InceptionC(nn.Module):
    def __init__(self, in_channels: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for layer in (
            self.branch7x7dbl_1,
            self.branch7x7dbl_2,
            self.branch7x7dbl_3,
            self.branch7x7dbl_4,
            self.branch7x7dbl_5,
        ):
            d = layer(d)
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(_avg_pool(x))], 1)


class InceptionD(nn.Module):
    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    """Last two blocks. ``max_pool=True`` (Mixed_7c) reproduces the TensorFlow graph's max pool."""

    def __init__(self, in_channels: int, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        if self.max_pool:
            pool = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            pool = _avg_pool(x)
        return torch.cat([self.branch1x1(x), b3, d, self.branch_pool(pool)], 1)


class InceptionV3(nn.Module):
    """The FID InceptionV3; attribute names match torch-fidelity's and pytorch-fid's checkpoints.

    ``forward`` takes images already scaled to [-1, 1] (N, 3, H, W) and returns pool3 (N, 2048).
    ``fc`` (1008 classes) is never used for features; it exists so that the checkpoints load
    strictly, which catches a wrong file instead of silently leaving layers random.
    """

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, max_pool=False)
        self.Mixed_7c = InceptionE(2048, max_pool=True)
        self.fc = nn.Linear(FEATURE_DIM, 1008)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in (
            self.Mixed_5b,
            self.Mixed_5c,
            self.Mixed_5d,
            self.Mixed_6a,
            self.Mixed_6b,
            self.Mixed_6c,
            self.Mixed_6d,
            self.Mixed_6e,
            self.Mixed_7a,
            self.Mixed_7b,
            self.Mixed_7c,
        ):
            x = block(x)
        return torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)


# --------------------------------------------------------------------------- preprocessing


def resize_bilinear_tf1(x: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """Bilinear resize of float (N, C, H, W) to (size, size) as TensorFlow 1.x does it.

    TF1 (``align_corners=False``) samples output pixel i at input coordinate ``i * in / out``,
    with no half-pixel offset, and repeats the last row/column at the border. torch's
    ``interpolate`` uses half-pixel centres, which shifts the image by up to half an input
    pixel. Same arithmetic (and order) as torch-fidelity's ``interpolate_bilinear_2d_like_
    tensorflow1x`` ('slow', bit-exact on CPU), so features match its own.
    """

    def axis(in_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pos = torch.arange(size, dtype=x.dtype, device=x.device)
        pos = pos * torch.tensor(in_size / size, dtype=torch.float32, device=x.device)
        lo = pos.long()
        hi = (lo + 1).clamp_max(in_size - 1)
        return lo, hi, pos - lo.to(pos.dtype)

    ylo, yhi, dy = axis(x.shape[2])
    xlo, xhi, dx = axis(x.shape[3])
    top, bottom = x.index_select(2, ylo), x.index_select(2, yhi)
    t0, t1 = top.index_select(3, xlo), top.index_select(3, xhi)
    b0, b1 = bottom.index_select(3, xlo), bottom.index_select(3, xhi)
    dx = dx.view(1, 1, 1, size)
    upper = t0 + (t1 - t0) * dx
    lower = b0 + (b1 - b0) * dx
    return upper + (lower - upper) * dy.view(1, 1, size, 1)


def _preprocess(images: torch.Tensor, mode: str) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> float32 (N, 3, 299, 299) in [-1, 1], the way ``mode`` does it."""
    x = images.to(torch.float32)
    if mode == "torch-fidelity":
        return (resize_bilinear_tf1(x) - 128.0) / 128.0
    x = F.interpolate(
        x / 255.0, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False
    )
    return 2.0 * x - 1.0


# --------------------------------------------------------------------------- loading


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _load_state_dict(path: Path, model: nn.Module) -> dict[str, torch.Tensor]:
    """The checkpoint at ``path`` checked against ``model``: every key present, none extra,
    every shape right. Raises ``UserError`` naming the file and the first problem."""

    def bad(problem: str) -> UserError:
        return UserError(
            f"{path} is not a usable InceptionV3 weights file ({problem}); give {ACCEPTED_FILES}."
        )

    if not path.is_file():
        raise UserError(f"InceptionV3 weights file {path} does not exist; give {ACCEPTED_FILES}.")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unreadable, not a torch file, or pickled objects beyond tensors
        raise bad(f"torch.load failed: {type(exc).__name__}") from exc
    if not isinstance(loaded, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in loaded.items()
    ):
        raise bad("not a state dict of tensors")

    own = model.state_dict()
    optional = {k for k in own if k.endswith("num_batches_tracked")}
    missing = [k for k in own if k not in loaded and k not in optional]
    extra = [k for k in loaded if k not in own]
    if missing:
        raise bad(f"{len(missing)} missing key(s), first {missing[0]!r}")
    if extra:
        raise bad(f"{len(extra)} unexpected key(s), first {extra[0]!r}")
    for key, value in loaded.items():
        if key not in optional and tuple(value.shape) != tuple(own[key].shape):
            raise bad(f"{key!r} has shape {tuple(value.shape)}, expected {tuple(own[key].shape)}")
    return {k: loaded.get(k, own[k]) for k in own}


# --------------------------------------------------------------------------- features


class InceptionV3Features:
    """Callable: uint8 images (N, H, W, C), C in {1, 3} -> float64 pool3 features (N, 2048).

    Images of any size are resized to 299 x 299 (see the module docstring for how);
    grayscale is repeated to three channels, as converting to RGB does in both libraries.
    Batches of ``batch_size`` run in float32 under ``torch.inference_mode``. ``protocol`` says
    which file (by name and SHA-256), which preprocessing and which layer produced the
    features; store it next to any score computed from them.
    """

    name = "inception-v3-pool3"

    def __init__(
        self,
        weights_path: str | Path,
        device: str = "cpu",
        preprocess: str = "torch-fidelity",
        batch_size: int = 64,
    ) -> None:
        if preprocess not in PREPROCESS:
            raise ValueError(f"preprocess must be one of {PREPROCESS}; got {preprocess!r}.")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1; got {batch_size!r}.")
        path = Path(weights_path).expanduser()
        model = InceptionV3()
        model.load_state_dict(_load_state_dict(path, model))
        self.model = model.to(device).eval().requires_grad_(False)
        self.device = torch.device(device)
        self.preprocess = preprocess
        self.batch_size = int(batch_size)
        self.protocol: dict[str, Any] = {
            "name": self.name,
            "feature_dim": FEATURE_DIM,
            "weights_file": path.name,
            "weights_sha256": _file_sha256(path),
            "preprocess": preprocess,
            "input_size": INPUT_SIZE,
        }

    def __call__(self, images: np.ndarray) -> np.ndarray:
        arr = np.asarray(images)
        if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[3] not in (1, 3):
            raise ValueError(
                f"images must be uint8 (N, H, W, C) with C in (1, 3); got {arr.dtype} {arr.shape}."
            )
        out = np.empty((arr.shape[0], FEATURE_DIM), dtype=np.float64)
        with torch.inference_mode():
            for start in range(0, arr.shape[0], self.batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(arr[start : start + self.batch_size]))
                batch = batch.to(self.device).permute(0, 3, 1, 2)
                if batch.shape[1] == 1:
                    batch = batch.expand(-1, 3, -1, -1)
                feats = self.model(_preprocess(batch, self.preprocess))
                out[start : start + feats.shape[0]] = feats.double().cpu().numpy()
        return out
