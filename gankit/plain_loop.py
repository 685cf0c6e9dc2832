"""The plain PyTorch GAN loop a user would write, with the preset's networks: the baseline that
``gankit bench`` measures gankit's training loop against.

What a user writes: a DataLoader over a TensorDataset of float samples held in memory
(shuffled, last partial batch dropped), separate D passes on the real and the fake batch, fp32,
eager, ``torch.optim.Adam`` with its default flags, and a ``loss.item()`` read every step. On
a GPU the data stays on the CPU and each batch is copied to the device, as such a loop does.
The networks are the preset's, built from torch's own modules (gankit's faster layers of the
same maths, ProductConvTranspose2d, are the engine's), and the maths is the preset's: loss,
lazy R1, EMA of G (buffers copied), learning-rate decay over ``train.steps``, written
plainly. The weights are initialised from the same seed stream as the engine's, so both start
from identical networks.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from functools import partial

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from gankit import streams
from gankit.config import Config
from gankit.engines.base import lr_scale
from gankit.engines.torch.augment import diff_augment
from gankit.engines.torch.losses import penalty_value
from gankit.engines.torch.model import build_networks
from gankit.losses import LOSSES, torch_ops
from gankit.penalties import due, plan_for, points


class PlainLoop:
    """G, D, their Adam optimisers and a DataLoader; :meth:`train` runs iterations of
    ``d_steps`` D updates and ``g_steps`` G updates, as gankit's engines do."""

    def __init__(self, cfg: Config, train_data: np.ndarray, device: str | torch.device) -> None:
        self.cfg, self.device = cfg, torch.device(device)
        self.images = train_data.ndim == 4
        x = torch.as_tensor(train_data)
        if self.images:  # uint8 NHWC -> float NCHW in [-1, 1], once, as a user's dataset does
            x = x.permute(0, 3, 1, 2).float() / 127.5 - 1.0
        x = x.float().contiguous()
        shape = tuple(x.shape[1:])
        # the engine's weight stream, so both loops start from the same networks
        init_seed = streams.int_seed(cfg.seed, streams.WEIGHTS)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)
            self.G, self.D = build_networks(cfg.model, shape, torch_layers=True)
        self.G.to(self.device)
        self.D.to(self.device)
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False)
        o = cfg.optim
        if o.name != "adam":
            raise ValueError(f"the plain loop uses Adam; this preset uses {o.name}")
        betas = (o.beta1, o.beta2)
        self.g_opt = torch.optim.Adam(self.G.parameters(), lr=o.g_lr, betas=betas)
        self.d_opt = torch.optim.Adam(self.D.parameters(), lr=o.d_lr, betas=betas)
        self.loss, self.penalties = LOSSES[cfg.loss.name], plan_for(cfg.loss)
        self.loader = DataLoader(
            TensorDataset(x), batch_size=cfg.train.batch_size, shuffle=True, drop_last=True
        )
        # replaceable: the parity test feeds both loops the same batches, noise and mixing
        # weights (WGAN-GP's point between a real and a fake sample)
        self.batches: Iterator[Tensor] = self._epochs()
        self.noise: Callable[[int], Tensor] = self._noise
        self.mix: Callable[[int], Tensor] = lambda n: torch.rand(n, device=self.device)
        self.augment_gen = torch.Generator(self.device)  # DiffAugment's draws (folder preset)
        self.augment_gen.manual_seed(cfg.seed)
        self.iteration = 0
        self.losses: list[float] = []  # every step's loss, read back as a user's loop does

    def _epochs(self) -> Iterator[Tensor]:
        while True:
            for (real,) in self.loader:
                yield real

    def _mix(self, packs: Tensor) -> Tensor:
        """The gradient penalty's weights, one per pack."""
        n = packs.shape[0]
        return self.mix(n).reshape(n, *[1] * (packs.dim() - 1))

    def _noise(self, n: int) -> Tensor:
        shape = (n, self.cfg.model.latent_dim)
        if self.cfg.model.latent_dist == "uniform":
            return torch.rand(shape, device=self.device) * 2 - 1
        return torch.randn(shape, device=self.device)

    def _d_input(self, x: Tensor) -> Tensor:
        """What D sees: DiffAugment when the preset asks for it (real and fake alike), then
        PacGAN packs: m samples side by side (points) or stacked on the channels (images)."""
        m = self.cfg.model
        if m.augment:
            x = diff_augment(x, list(m.augment), self.augment_gen)
        if self.images:
            return x.reshape(x.shape[0] // m.pack, -1, *x.shape[2:])
        return x.reshape(x.shape[0] // m.pack, -1)

    def train(self, iterations: int) -> None:
        cfg, o, loss_fn, ops = self.cfg, self.cfg.optim, self.loss, torch_ops()
        for _ in range(iterations):
            scale = lr_scale(o.lr_decay, self.iteration / cfg.train.steps)
            for opt, lr in ((self.g_opt, o.g_lr), (self.d_opt, o.d_lr)):
                for group in opt.param_groups:
                    group["lr"] = lr * scale
            self.iteration += 1
            for _ in range(cfg.train.d_steps):
                real = next(self.batches).to(self.device)
                fake = self.G(self.noise(real.shape[0]))
                real_packs, fake_packs = self._d_input(real), self._d_input(fake.detach())
                out_real = self.D(real_packs).squeeze(1)
                out_fake = self.D(fake_packs).squeeze(1)
                loss = loss_fn.d(ops, out_real, out_fake)
                for p, weight in due(self.penalties, self.iteration):  # R1, R2, WGAN-GP's
                    x = points(p, real_packs, fake_packs, partial(self._mix, real_packs))
                    loss = loss + weight * penalty_value(p, self.D, x)
                self.d_opt.zero_grad()
                loss.backward()
                self.d_opt.step()
                if loss_fn.clip:  # weight clipping
                    with torch.no_grad():
                        for p in self.D.parameters():
                            p.clamp_(-cfg.loss.clip, cfg.loss.clip)
                self.losses.append(loss.item())
            for _ in range(cfg.train.g_steps):
                fake = self.G(self.noise(cfg.train.batch_size))
                out_real = None
                if loss_fn.relativistic:  # compared with D on the last real batch
                    with torch.no_grad():
                        out_real = self.D(real_packs).squeeze(1)
                loss = loss_fn.g(ops, out_real, self.D(self._d_input(fake)).squeeze(1))
                self.g_opt.zero_grad()
                loss.backward()
                self.g_opt.step()
                self.losses.append(loss.item())
                if cfg.model.g_ema:
                    self._update_ema(cfg.model.g_ema)

    @torch.no_grad()
    def _update_ema(self, decay: float) -> None:
        for pe, p in zip(self.G_ema.parameters(), self.G.parameters(), strict=True):
            pe.mul_(decay).add_(p, alpha=1 - decay)
        for be, b in zip(self.G_ema.buffers(), self.G.buffers(), strict=True):
            be.copy_(b)
