"""DiffAugment (Zhao et al. 2020): differentiable augmentations applied to every image D sees,
real and fake alike, so D cannot memorise a small dataset while G still gets gradients.

Written after the authors' reference code, with every random draw taken from the engine's own
generator so that runs stay reproducible and resumable. Images are NCHW in [-1, 1]. Under
torchrun a rank holds ``part = (rank, world)`` of the global batch: it draws the whole batch's
numbers and keeps its own slice, so the draws are the one-process run's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

Part = tuple[int, int]  # (rank, world): this process's slice of the global batch


def _mine(t: Tensor, part: Part) -> Tensor:
    return t.tensor_split(part[1])[part[0]]


def _rand(x: Tensor, gen: torch.Generator, part: Part) -> Tensor:
    shape = (x.shape[0] * part[1], 1, 1, 1)
    return _mine(torch.rand(shape, generator=gen, device=x.device, dtype=x.dtype), part)


def color(x: Tensor, gen: torch.Generator, part: Part = (0, 1)) -> Tensor:
    """Random brightness (±0.5), saturation (x0 to x2) and contrast (x0.5 to x1.5)."""
    x = x + (_rand(x, gen, part) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(x, gen, part) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(x, gen, part) + 0.5) + mean


def translation(
    x: Tensor, gen: torch.Generator, part: Part = (0, 1), ratio: float = 0.125
) -> Tensor:
    """Shift each image by up to ``ratio`` of its size, filling with zeros (mid grey)."""
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    kw = {"generator": gen, "device": x.device}
    tx = _mine(torch.randint(-sh, sh + 1, (b * part[1], 1, 1), **kw), part)
    ty = _mine(torch.randint(-sw, sw + 1, (b * part[1], 1, 1), **kw), part)
    gi, gj = torch.meshgrid(
        torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij"
    )
    gi = (gi[None] + tx + 1).clamp(0, h + 1)
    gj = (gj[None] + ty + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)  # a zero border to shift in from
    batch = torch.arange(b, device=x.device)[:, None, None]
    return padded[batch, gi, gj].permute(0, 3, 1, 2)


def cutout(x: Tensor, gen: torch.Generator, part: Part = (0, 1), ratio: float = 0.5) -> Tensor:
    """Zero a rectangle of ``ratio`` of the image's height and width at a random place."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    kw = {"generator": gen, "device": x.device}
    oy = _mine(torch.randint(0, h + (1 - ch % 2), (b * part[1], 1, 1), **kw), part)
    ox = _mine(torch.randint(0, w + (1 - cw % 2), (b * part[1], 1, 1), **kw), part)
    gi, gj = torch.meshgrid(
        torch.arange(ch, device=x.device), torch.arange(cw, device=x.device), indexing="ij"
    )
    gi = (gi[None] + oy - ch // 2).clamp(0, h - 1)
    gj = (gj[None] + ox - cw // 2).clamp(0, w - 1)
    mask = torch.ones((b, h, w), device=x.device, dtype=x.dtype)
    mask[torch.arange(b, device=x.device)[:, None, None], gi, gj] = 0
    return x * mask.unsqueeze(1)


AUGMENTS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: Tensor, names: list[str], gen: torch.Generator, part: Part = (0, 1)) -> Tensor:
    """Apply the named augmentations in the reference order: color, translation, cutout."""
    for name in ("color", "translation", "cutout"):
        if name in names:
            x = AUGMENTS[name](x, gen, part)
    return x
