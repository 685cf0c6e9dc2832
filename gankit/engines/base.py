"""The interface every engine (torch, keras, numpy) offers to the one training loop.

An engine owns G, D, their optimisers and its random streams. Everything crosses the
boundary as NumPy, in the data's own form (points ``float32 (N, d)``, images ``uint8 (N, H,
W, C)``): samples in, samples out, state as a flat ``name -> array`` map with one
naming for all engines (``G.fc0.weight``, ``optim.D.fc1.bias.exp_avg``, ``rng.batches``).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np

from gankit import losses
from gankit.config import Config, ModelConfig
from gankit.errors import UserError

# The statistics an engine returns from train(), each a mean over the chunk of iterations.
STAT_KEYS = ("d_loss", "g_loss", "d_real", "d_fake", "fooled", "d_grad_norm", "g_grad_norm")
# The same, in the order an iteration produces them: D's step, then G's
STEP_ORDER = ("d_loss", "d_real", "d_fake", "fooled", "d_grad_norm", "g_loss", "g_grad_norm")


def chunk_stats(means: list[float]) -> dict[str, float]:
    """train()'s result, keyed in STAT_KEYS order, from the chunk means of one iteration's
    statistics in STEP_ORDER."""
    by_name = dict(zip(STEP_ORDER, means, strict=True))
    return {k: float(by_name[k]) for k in STAT_KEYS}


class Draws:
    """A training step's random draws from one NumPy stream: batch indices, latent noise and
    the gradient penalty's mixing weights. Set as ``engine.draws``, it replaces the engine's
    own streams, so two engines given equal Draws see the very same batches: what the
    cross-engine parity tests compare. Engines ask in a fixed order per iteration (for each D
    step: indices, latent, then mix when the gradient penalty is due; for each G step:
    latent)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def indices(self, n_data: int, batch: int) -> np.ndarray:
        return self.rng.integers(0, n_data, batch)

    def latent(self, n: int, dim: int, dist: str) -> np.ndarray:
        if dist == "uniform":
            return self.rng.uniform(-1.0, 1.0, (n, dim))
        return self.rng.standard_normal((n, dim))

    def mix(self, n: int) -> np.ndarray:
        return self.rng.uniform(0.0, 1.0, n)


class Engine(ABC):
    """G and D of one run, trained a chunk of iterations at a time."""

    name: str
    draws: Draws | None = None  # None: the engine's own random streams (see Draws)

    def __init__(self, cfg: Config, train_data: np.ndarray) -> None:
        self.cfg = cfg
        # one sample's shape as the data gives it: (d,) for points, (H, W, C) for images
        self.sample_shape = tuple(int(s) for s in train_data.shape[1:])
        self.images = train_data.ndim == 4

    iteration: int  # iterations done: drives the learning-rate schedule and lazy R1

    def train(self, n_steps: int) -> dict[str, float]:
        """Run ``n_steps`` iterations (d_steps D updates, then g_steps G updates each) and
        return the mean of each of STAT_KEYS over them. ``d_real``/``d_fake`` are D's
        realness (see :func:`realness`) averaged over real and fake batches; ``fooled`` is
        the share of fakes D took for real. One iteration for every engine; engines supply
        the steps and keep the statistics their own way (on the device, no host sync)."""
        t, o = self.cfg.train, self.cfg.optim
        with self._training():
            acc = None
            for _ in range(n_steps):
                if o.lr_decay != "none":
                    self._set_lr(lr_scale(o.lr_decay, self.iteration / t.steps))
                self.iteration += 1
                for _ in range(t.d_steps):
                    d = self._d_step()
                for _ in range(t.g_steps):
                    g = self._g_step()
                acc = self._accumulate(acc, d, g)  # each iteration's last D and G steps
            return chunk_stats(self._means(acc, n_steps))

    def d_step(self) -> dict[str, float]:
        """One D update alone, outside any iteration: the lab's "D only" button, so a learner
        sees D move while G stands still. G, the iteration count and the learning-rate
        schedule are left as they are. Its statistics keyed by STEP_ORDER's first five."""
        with self._training():
            d = self._d_step()
        return dict(zip(STEP_ORDER[:5], (float(v) for v in d), strict=True))

    def g_step(self) -> dict[str, float]:
        """One G update alone (the lab's "G only" button): D stands still. Its loss and
        gradient norm keyed as in STEP_ORDER."""
        with self._training():
            g = self._g_step()
        return dict(zip(STEP_ORDER[5:], (float(v) for v in g), strict=True))

    def _training(self) -> AbstractContextManager[None]:
        """What the training steps run inside (a thread limit, a device scope)."""
        return nullcontext()

    @abstractmethod
    def _set_lr(self, scale: float) -> None:
        """Set both optimisers' learning rates to ``scale`` times the configured ones."""

    @abstractmethod
    def _d_step(self) -> Any:
        """One D update; its statistics in STEP_ORDER's first five places."""

    @abstractmethod
    def _g_step(self) -> Any:
        """One G update; its loss and gradient norm."""

    def _accumulate(self, acc: Any, d: Any, g: Any) -> Any:
        """Add one iteration's statistics to the running sum (NumPy by default)."""
        step = np.array([*d, *g], dtype=np.float64)
        return step if acc is None else acc + step

    def _means(self, acc: Any, n_steps: int) -> list[float]:
        return (np.asarray(acc, dtype=np.float64) / n_steps).tolist()

    @abstractmethod
    def sample(self, z: np.ndarray) -> np.ndarray:
        """G(z) in evaluation mode (batch-norm running statistics, no dropout), in the data's
        form: float32 points or uint8 images."""

    @abstractmethod
    def critic(self, x: np.ndarray) -> np.ndarray:
        """D's raw output for each sample (points or uint8 images), shape (n,). With packing,
        a sample is judged as a pack of m copies of itself."""

    @abstractmethod
    def state(self) -> dict[str, np.ndarray]:
        """Weights, optimiser state and random-stream state: all that exact resume needs."""

    @abstractmethod
    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state` returned (possibly written by another engine)."""

    @abstractmethod
    def layer_grad_norms(self) -> dict[str, float]:
        """L2 norm of each layer's gradient from the last D update and the last G update of
        the latest train() call, keyed "D.<layer>" / "G.<layer>": a trainable parameter's
        :meth:`state` name without its last part (``G.fc0.weight`` and ``G.fc0.bias`` make
        ``G.fc0``; a spectral-normed weight, ``D.conv0.parametrizations.weight.original``,
        counts to ``D.conv0``), weight and bias combined as sqrt of the sum of squares. So
        the keys are the same in every engine, and over one net they combine to the logged
        ``d_grad_norm`` / ``g_grad_norm`` of the last step. D's is its whole gradient
        (penalties included) before the optimiser step and WGAN clipping. Empty before any
        training step. Read from what the steps leave behind: it costs the hot path nothing,
        and one host sync per call (once per logging interval)."""

    def latent(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Latent vectors from the configured distribution, drawn from a NumPy stream (used
        for the fixed batches of snapshots and evaluation, not for training)."""
        shape = (n, self.cfg.model.latent_dim)
        if self.cfg.model.latent_dist == "uniform":
            return rng.uniform(-1.0, 1.0, shape).astype(np.float32)
        return rng.standard_normal(shape).astype(np.float32)


def lr_scale(decay: str, frac: float) -> float:
    """The factor on the base learning rates after ``frac`` of train.steps (0 to 1)."""
    frac = min(frac, 1.0)
    if decay == "linear":
        return 1.0 - frac
    if decay == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * frac))
    return 1.0


def realness(loss: str, out: np.ndarray, real_out: np.ndarray, fake_out: np.ndarray) -> np.ndarray:
    """D's raw outputs ``out`` as float32 "this is real" scores in [0, 1], 0.5 on D's decision
    line, centred (for a critic or a relativistic D) on its outputs on the real and the fake
    reference batches: :func:`gankit.losses.realness`, for the snapshots' pictures."""
    centre = (float(np.mean(real_out)), float(np.mean(fake_out)))
    x = np.asarray(out, dtype=np.float64)
    return np.asarray(losses.realness(losses.LOSSES[loss], x, centre), dtype=np.float32)


def check_dcgan_size(cfg: ModelConfig, h: int, w: int) -> None:
    """DCGAN's G makes square 4 * 2^k images, k = len(g_channels): every engine's check."""
    k = len(cfg.g_channels)
    if h != w or h != 4 * 2**k:
        raise UserError(
            f"model.arch = dcgan with {k} g_channels makes {4 * 2**k}x{4 * 2**k} images, not "
            f"{h}x{w}; set data.size = [{4 * 2**k}, {4 * 2**k}] or give log2(size) - 2 "
            "g_channels."
        )


def check_d_halvings(cfg: ModelConfig, h: int, w: int) -> None:
    """D's strided convolutions halve the image once per d_channels entry: every engine's
    check that something is left to judge."""
    k = len(cfg.d_channels)
    if h // 2**k < 1 or w // 2**k < 1:
        raise UserError(
            f"model.d_channels has {k} halvings, too many for {h}x{w} images; give fewer "
            "d_channels."
        )
