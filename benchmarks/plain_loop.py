"""The plain PyTorch GAN loop a user would write, with gankit's own networks: the baseline
that gankit's training loop is measured against (DataLoader over in-memory data, separate D
passes on real and fake, fp32, eager, a loss read back every step as the seeds do). It does
the same maths as the preset (loss, lazy R1, EMA of G, learning-rate decay), written plainly."""

from __future__ import annotations

import copy
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from gankit.config import Config
from gankit.engines.base import lr_scale
from gankit.engines.torch.losses import D_LOSS, G_LOSS, r1_penalty
from gankit.engines.torch.model import mlp_discriminator, mlp_generator


def plain_steps_per_s(cfg: Config, data, iterations: int) -> float:
    """Iterations per second of the plain loop (d_steps D updates + g_steps G updates each)."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.train.threads or 1)  # as gankit's engine, for the same work
    g, d = mlp_generator(cfg.model, data.shape[1]), mlp_discriminator(cfg.model, data.shape[1])
    g_ema = copy.deepcopy(g)
    o = cfg.optim
    g_opt = torch.optim.Adam(g.parameters(), lr=o.g_lr, betas=(o.beta1, o.beta2))
    d_opt = torch.optim.Adam(d.parameters(), lr=o.d_lr, betas=(o.beta1, o.beta2))
    d_loss, g_loss = D_LOSS[cfg.loss.name], G_LOSS[cfg.loss.name]
    loader = DataLoader(
        TensorDataset(torch.as_tensor(data)),
        batch_size=cfg.train.batch_size,
        shuffle=True,
        drop_last=True,
    )
    m, t = cfg.model.pack, cfg.train

    def noise(n: int) -> torch.Tensor:
        if cfg.model.latent_dist == "uniform":
            return torch.rand(n, cfg.model.latent_dim) * 2 - 1
        return torch.randn(n, cfg.model.latent_dim)

    def batches():
        while True:
            yield from loader

    it = batches()
    losses = []
    lc, decay = cfg.loss, cfg.model.g_ema
    start = time.perf_counter()
    for i in range(iterations):
        scale = lr_scale(cfg.optim.lr_decay, i / iterations)
        for opt, lr in ((g_opt, o.g_lr), (d_opt, o.d_lr)):
            for group in opt.param_groups:
                group["lr"] = lr * scale
        for _ in range(t.d_steps):
            (real,) = next(it)
            fake = g(noise(real.shape[0]))
            out_r = d(real.reshape(-1, m * real.shape[1])).squeeze(1)
            out_f = d(fake.detach().reshape(-1, m * real.shape[1])).squeeze(1)
            loss = d_loss(out_r, out_f)
            if lc.r1 and (i + 1) % lc.r1_every == 0:
                real_packs = real.reshape(-1, m * real.shape[1])
                loss = loss + 0.5 * lc.r1 * lc.r1_every * r1_penalty(d, real_packs)
            d_opt.zero_grad()
            loss.backward()
            d_opt.step()
            losses.append(loss.item())
        for _ in range(t.g_steps):
            fake = g(noise(t.batch_size))
            loss = g_loss(d(fake.reshape(-1, m * fake.shape[1])).squeeze(1))
            g_opt.zero_grad()
            loss.backward()
            g_opt.step()
            losses.append(loss.item())
            if decay:
                with torch.no_grad():
                    for pe, p in zip(g_ema.parameters(), g.parameters(), strict=True):
                        pe.mul_(decay).add_(p, alpha=1 - decay)
    return iterations / (time.perf_counter() - start)
