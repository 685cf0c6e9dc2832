"""The plain PyTorch GAN loop a user would write, with gankit's own networks: the baseline
that gankit's training loop is measured against (DataLoader over in-memory data, separate D
passes on real and fake, fp32, eager, a loss read back every step as the seeds do)."""

from __future__ import annotations

import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from gankit.config import Config
from gankit.engines.torch.losses import D_LOSS, G_LOSS
from gankit.engines.torch.model import mlp_discriminator, mlp_generator


def plain_steps_per_s(cfg: Config, data, iterations: int) -> float:
    """Iterations per second of the plain loop (d_steps D updates + g_steps G updates each)."""
    torch.manual_seed(cfg.seed)
    g, d = mlp_generator(cfg.model, data.shape[1]), mlp_discriminator(cfg.model, data.shape[1])
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

    def batches():
        while True:
            yield from loader

    it = batches()
    losses = []
    start = time.perf_counter()
    for _ in range(iterations):
        for _ in range(t.d_steps):
            (real,) = next(it)
            fake = g(torch.randn(real.shape[0], cfg.model.latent_dim))
            out_r = d(real.reshape(-1, m * real.shape[1])).squeeze(1)
            out_f = d(fake.detach().reshape(-1, m * real.shape[1])).squeeze(1)
            loss = d_loss(out_r, out_f)
            d_opt.zero_grad()
            loss.backward()
            d_opt.step()
            losses.append(loss.item())
        for _ in range(t.g_steps):
            fake = g(torch.randn(t.batch_size, cfg.model.latent_dim))
            loss = g_loss(d(fake.reshape(-1, m * fake.shape[1])).squeeze(1))
            g_opt.zero_grad()
            loss.backward()
            g_opt.step()
            losses.append(loss.item())
    return iterations / (time.perf_counter() - start)
