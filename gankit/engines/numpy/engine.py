"""The NumPy engine: the torch engine's iteration, written from scratch in NumPy for MLPs.

Every step is the torch engine's (``engines/torch/engine.py``): d_steps D updates, each on
one D pass over real and fake packs together, with G run in training mode but not
differentiated; then g_steps G updates that give D's weights no gradient; WGAN clipping
after D's step; the EMA of G after every G step; the learning-rate schedule set before
each iteration. State uses the torch engine's names, shapes and dtypes, so checkpoints move
between the engines.
"""

from __future__ import annotations

import math
import os
from contextlib import AbstractContextManager

import numpy as np
from threadpoolctl import ThreadpoolController

from gankit import streams
from gankit.config import Config
from gankit.engines import steps
from gankit.engines.base import Engine
from gankit.engines.numpy.losses import GRADIENTS
from gankit.engines.numpy.model import Net, mlp_discriminator, mlp_generator
from gankit.engines.numpy.optim import Optimizer, make_optimizer
from gankit.engines.numpy.steps import NumpySteps
from gankit.errors import UserError
from gankit.losses import LOSSES, realness_stats
from gankit.penalties import due, plan_for

_CHUNK = 512  # samples per forward pass in sample() and critic(): bounded memory for images


def check_supported(cfg: Config) -> None:
    """A UserError naming what the numpy engine cannot run and which engine can."""
    m = cfg.model
    if cfg.loss.name not in GRADIENTS:
        raise UserError(
            f"the numpy engine has no hand-derived gradient of loss.name = {cfg.loss.name} "
            "(gankit/engines/numpy/losses.py); train it with --engine torch or --engine keras."
        )
    if m.arch != "mlp":
        raise UserError(
            f"the numpy engine runs MLPs (model.arch = mlp); preset {cfg.preset} uses "
            f"model.arch = {m.arch}: train it with --engine torch or --engine keras."
        )
    for what, on in (
        (f"model.augment = {list(m.augment)}", bool(m.augment)),
        ("model.d_spectral_norm = true", m.d_spectral_norm),
        ("model.d_mbstd = true", m.d_mbstd),
    ):
        if on:
            raise UserError(
                f"the numpy engine does not implement {what}; turn it off or train with "
                "--engine torch."
            )


def _generator(seed: int, stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, stream])))


def _rng_state(rng: np.random.Generator) -> np.ndarray:
    """PCG64's state as uint64 words: state (low, high), inc (low, high), has_uint32,
    uinteger (safetensors stores numeric arrays only)."""
    s = rng.bit_generator.state
    mask = (1 << 64) - 1
    words = [s["state"]["state"], s["state"]["inc"]]
    flat = [w >> shift & mask for w in words for shift in (0, 64)]
    return np.array([*flat, s["has_uint32"], s["uinteger"]], dtype=np.uint64)


def _set_rng_state(rng: np.random.Generator, a: np.ndarray) -> None:
    w = [int(v) for v in np.asarray(a, dtype=np.uint64).reshape(-1)]
    rng.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": w[0] | w[1] << 64, "inc": w[2] | w[3] << 64},
        "has_uint32": w[4],
        "uinteger": w[5],
    }


class NumpyEngine(Engine):
    name = "numpy"

    def __init__(self, cfg: Config, train_data: np.ndarray) -> None:
        super().__init__(cfg, train_data)
        check_supported(cfg)
        t, m = cfg.train, cfg.model
        if m.g_batchnorm and t.batch_size < 2:
            raise UserError(
                "model.g_batchnorm needs train.batch_size >= 2: batch-norm normalises over the "
                "batch."
            )
        self.dtype = np.dtype(t.dtype)
        # MLPs on points: one BLAS thread (dispatch-bound: more threads only spin); images:
        # all cores, like the torch engine; set around train() only
        self.threads = t.threads or ((os.cpu_count() or 1) if self.images else 1)
        self.blas = ThreadpoolController()
        n_feat = math.prod(self.sample_shape)
        self.G = mlp_generator(m, n_feat, self.images, self.dtype)
        self.D = mlp_discriminator(m, n_feat, self.dtype)
        # streams as the torch engine's (gankit/streams.py)
        init = _generator(cfg.seed, streams.WEIGHTS)
        self.G.init(init)
        self.D.init(init)
        self.rng = _generator(cfg.seed, streams.BATCHES)
        self.drop_rng = _generator(cfg.seed, streams.DROPOUT)
        self.data = self._flat(train_data)
        self.g_opt = make_optimizer(cfg.optim, self.G.params, self.G.grads, cfg.optim.g_lr)
        self.d_opt = make_optimizer(cfg.optim, self.D.params, self.D.grads, cfg.optim.d_lr)
        # the loss table's entry, its gradients, and the run's penalties
        self.loss, self.grads = LOSSES[cfg.loss.name], GRADIENTS[cfg.loss.name]
        self.penalties = plan_for(cfg.loss)
        self.last_real: np.ndarray | None = None  # the last D step's real packs
        self.iteration = 0  # iterations done, for the learning-rate schedule
        # the EMA copy of G: sampled from, never trained
        self.G_ema: Net | None = None
        if m.g_ema:
            self.G_ema = mlp_generator(m, n_feat, self.images, self.dtype)
            self.G_ema.copy_from(self.G)
            self.ema_tmp = np.empty_like(self.G.params)
        self._stepped = False  # whether grads hold a step's gradients (layer_grad_norms)
        self.primitives = NumpySteps(self)  # the step recipe's primitives (engines/steps.py)

    def _flat(self, x: np.ndarray) -> np.ndarray:
        """Samples as the networks see them, one row each: points as floats; images flat in
        torch's (C, H, W) order, kept uint8 (a quarter of the memory) until :meth:`_float`."""
        if self.images:
            return np.ascontiguousarray(x.transpose(0, 3, 1, 2)).reshape(x.shape[0], -1)
        return np.ascontiguousarray(x, dtype=self.dtype)

    def _float(self, x: np.ndarray) -> np.ndarray:
        return x.astype(self.dtype) / 127.5 - 1.0 if self.images else x

    # --- the hot path -------------------------------------------------------------------

    def _z(self, n: int) -> np.ndarray:
        m = self.cfg.model
        if self.draws is not None:
            return self.draws.latent(n, m.latent_dim, m.latent_dist).astype(self.dtype)
        if m.latent_dist == "uniform":
            u = self.rng.random((n, m.latent_dim), dtype=self.dtype)
            u *= 2.0
            u -= 1.0
            return u
        return self.rng.standard_normal((n, m.latent_dim), dtype=self.dtype)

    def pack(self, x: np.ndarray) -> np.ndarray:
        """m samples side by side, one row per pack (PacGAN); flat images the same way as
        torch's stacking along the channels, then flattening."""
        return x.reshape(x.shape[0] // self.cfg.model.pack, -1)

    def _d_step(self) -> tuple[float, ...]:
        b = self.cfg.train.batch_size
        if self.draws is not None:
            idx = self.draws.indices(self.data.shape[0], b)
        else:
            idx = self.rng.integers(0, self.data.shape[0], b)
        real = self.last_real = self.pack(self._float(self.data[idx]))
        due_now = due(self.penalties, self.iteration)
        mix = lambda: self._mix(real.shape[0])  # noqa: E731
        loss, r, f, norm = steps.d_step(self.primitives, real, self._z(b), due_now, mix)
        return (loss, *(float(v) for v in realness_stats(self.loss, r, f)), norm)

    def _mix(self, n: int) -> np.ndarray:
        """The gradient penalty's weights, one per pack."""
        if self.draws is not None:
            return self.draws.mix(n).astype(self.dtype)[:, None]
        return self.rng.random((n, 1), dtype=self.dtype)

    def _g_step(self) -> tuple[float, float]:
        real = self.last_real if self.loss.relativistic else None
        return steps.g_step(self.primitives, self._z(self.cfg.train.batch_size), real)

    def train(self, n_steps: int) -> dict[str, float]:
        """The shared loop; afterwards ``grads`` hold real gradients (they start as zeros,
        which :meth:`layer_grad_norms` must not report)."""
        stats = super().train(n_steps)
        self._stepped = self._stepped or n_steps > 0  # once per chunk: nothing per step
        return stats

    def _set_lr(self, scale: float) -> None:
        o = self.cfg.optim
        self.g_opt.lr, self.d_opt.lr = o.g_lr * scale, o.d_lr * scale

    def _training(self) -> AbstractContextManager[object]:
        return self.blas.limit(limits=self.threads, user_api="blas")

    # --- off the hot path ---------------------------------------------------------------

    def _eval(self, net: Net, x: np.ndarray) -> np.ndarray:
        # the same BLAS thread limit as training: snapshots evaluate D on a 120x120 grid, and
        # unlimited BLAS threads there fight any other process for the cores
        with self.blas.limit(limits=self.threads, user_api="blas"):
            parts = [
                net.forward(x[i : i + _CHUNK], False, self.drop_rng)[0]
                for i in range(0, max(len(x), 1), _CHUNK)
            ]
        return np.concatenate(parts)

    def sample(self, z: np.ndarray) -> np.ndarray:
        g = self.G_ema if self.G_ema is not None else self.G
        out = self._eval(g, np.asarray(z, dtype=self.dtype)).astype(np.float32)
        if self.images:
            h, w, c = self.sample_shape
            pixels = ((out + 1.0) * 127.5).round().clip(0, 255).astype(np.uint8)
            return np.ascontiguousarray(pixels.reshape(-1, c, h, w).transpose(0, 2, 3, 1))
        return out

    def critic(self, x: np.ndarray) -> np.ndarray:
        packs = np.tile(self._float(self._flat(np.asarray(x))), (1, self.cfg.model.pack))
        return self._eval(self.D, packs)[:, 0].astype(np.float32)

    def layer_grad_norms(self) -> dict[str, float]:
        """From the nets' flat ``grads``, sliced per parameter: each step zeroes and fills
        only its own net's (G's step passes through D with ``param_grads=False``), and the
        optimisers only read them, so D's hold its last step's gradient, penalties in."""
        if not self._stepped:  # zeros until then, not a gradient
            return {}
        out: dict[str, float] = {}
        for prefix, net in (("G", self.G), ("D", self.D)):
            for name, s, _ in net.names:
                layer = f"{prefix}.{name.rsplit('.', 1)[0]}"
                g = net.grads[s]
                out[layer] = out.get(layer, 0.0) + float(np.dot(g, g))
        return {k: math.sqrt(v) for k, v in out.items()}

    # --- state --------------------------------------------------------------------------

    def _nets(self) -> tuple[tuple[str, Net, Optimizer | None], ...]:
        nets: tuple[tuple[str, Net, Optimizer | None], ...] = (
            ("G", self.G, self.g_opt),
            ("D", self.D, self.d_opt),
        )
        return nets + ((("G_ema", self.G_ema, None),) if self.G_ema is not None else ())

    def state(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for prefix, net, opt in self._nets():
            for name, value in net.param_views(net.params).items():
                out[f"{prefix}.{name}"] = value.copy()
            for name, value in net.buffers.items():
                out[f"{prefix}.{name}"] = value.copy()
            if opt is None or not opt.started():  # torch has no optimiser state before then
                continue
            slots = {k: net.param_views(v) for k, v in opt.state.items()}
            for name, _, _ in net.names:
                if opt.has_step:  # torch's step counter: a float32 scalar per parameter
                    out[f"optim.{prefix}.{name}.step"] = np.array(opt.steps, np.float32)
                for k, views in slots.items():
                    out[f"optim.{prefix}.{name}.{k}"] = views[name].copy()
        out["train.iteration"] = np.array([self.iteration], dtype=np.int64)
        out["rng.numpy.batches"] = _rng_state(self.rng)
        out["rng.numpy.dropout"] = _rng_state(self.drop_rng)
        return out

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        for prefix, net, opt in self._nets():
            own = {**net.param_views(net.params), **net.buffers}
            missing = [k for k in own if f"{prefix}.{k}" not in state]
            if missing:
                raise UserError(
                    f"the checkpoint has no {prefix}.{missing[0]}: it was made by a different "
                    "network; resume with the config it was trained with."
                )
            values = {k: np.asarray(state[f"{prefix}.{k}"]) for k in own}
            for k, v in own.items():
                # a checkpoint stores scalars (num_batches_tracked) as shape (1,), as torch
                if values[k].shape != v.shape and not (v.ndim == 0 and values[k].shape == (1,)):
                    raise UserError(
                        f"the checkpoint's {prefix}.{k} has shape {list(values[k].shape)}, this "
                        f"network's {list(v.shape)}: it does not fit this network."
                    )
            for k, v in own.items():
                v[...] = values[k].reshape(v.shape)
            if opt is not None:
                self._load_optimizer(prefix, net, opt, state)
        self.iteration = int(np.asarray(state["train.iteration"]).reshape(-1)[0])
        # another engine's checkpoint carries its own random streams: keep ours then
        if "rng.numpy.batches" in state:
            _set_rng_state(self.rng, state["rng.numpy.batches"])
        if "rng.numpy.dropout" in state:
            _set_rng_state(self.drop_rng, state["rng.numpy.dropout"])

    @staticmethod
    def _load_optimizer(prefix: str, net: Net, opt: Optimizer, state: dict) -> None:
        heads = [f"optim.{prefix}.{name}." for name, _, _ in net.names]
        if not any(f"{h}{k}" in state for h in heads for k in (*opt.slots, "step")):
            opt.steps = 0  # a checkpoint from before the first step: a fresh optimiser
            for v in opt.state.values():
                v.fill(0.0)
            return
        for k, flat in opt.state.items():
            views = net.param_views(flat)
            for (name, _, _), head in zip(net.names, heads, strict=True):
                views[name][...] = state.get(f"{head}{k}", 0.0)
        step = state.get(f"{heads[0]}step")
        opt.steps = int(np.asarray(step).reshape(-1)[0]) if step is not None else 1
