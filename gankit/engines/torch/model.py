"""G and D as MLPs built from the model config, with names every engine shares.

Layers are named ``fc0, bn0, act0, drop0, fc1, ..., out`` so that a state entry reads
``G.fc1.weight`` or ``D.out.bias`` in every engine.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from gankit.config import ModelConfig


def activation(name: str, slope: float) -> nn.Module:
    if name == "leaky_relu":
        return nn.LeakyReLU(slope)
    return {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "sigmoid": nn.Sigmoid}[name]()


def mlp_generator(cfg: ModelConfig, out_dim: int) -> nn.Sequential:
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    width = cfg.latent_dim
    for i, h in enumerate(cfg.g_hidden):
        layers[f"fc{i}"] = nn.Linear(width, h)
        if cfg.g_batchnorm:
            layers[f"bn{i}"] = nn.BatchNorm1d(h)
        layers[f"act{i}"] = activation(cfg.g_activation, cfg.leaky_slope)
        width = h
    layers["out"] = nn.Linear(width, out_dim)  # points are unbounded: no output squashing
    return nn.Sequential(layers)


def mlp_discriminator(cfg: ModelConfig, in_dim: int) -> nn.Sequential:
    """D maps a pack of ``cfg.pack`` points (concatenated) to one raw score: a logit for the
    BCE losses, a critic value for the Wasserstein ones."""
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    width = in_dim * cfg.pack
    for i, h in enumerate(cfg.d_hidden):
        layers[f"fc{i}"] = nn.Linear(width, h)
        layers[f"act{i}"] = activation(cfg.d_activation, cfg.leaky_slope)
        if cfg.d_dropout > 0:
            layers[f"drop{i}"] = nn.Dropout(cfg.d_dropout)
        width = h
    layers["out"] = nn.Linear(width, 1)
    return nn.Sequential(layers)
