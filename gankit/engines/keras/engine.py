"""The Keras 3 engine: gankit's training loop driving a :class:`~gankit.engines.keras.gan.GAN`.

Same iteration as the torch engine (learning rate set before each iteration, d_steps D
updates on fresh batches, g_steps G updates, EMA after each G step, lazy R1 on every
r1_every-th iteration), same state names and layouts, so a run can move between the two
engines through a checkpoint, and equal weights with equal ``Draws`` train to equal numbers.
Batches, noise, penalty mixes and augmentations come from one ``keras.random.SeedGenerator``
(state ``rng.keras.seed``); the torch engine's ``rng.*`` entries are ignored on load. (Keras'
torch backend reads a SeedGenerator's state back to the host at every draw: on a GPU that is
a sync per draw, which the torch engine's device-side generator avoids.)
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import keras
import numpy as np
import torch
from keras import ops

from gankit import streams
from gankit.config import Config
from gankit.engines.base import Engine
from gankit.engines.keras import require_torch_backend
from gankit.engines.keras.gan import GAN
from gankit.engines.keras.models import build_generator, build_networks
from gankit.engines.keras.optimizers import TorchOptimizer, make_optimizer
from gankit.engines.keras.state import entries, load_network, save_network, to_numpy
from gankit.engines.torch.engine import layer_norms, resolve_device
from gankit.errors import UserError
from gankit.penalties import due


def _seed(cfg: Config, stream: int) -> int:
    # the torch engine's split of one seed into streams (gankit/streams.py)
    return int(np.random.SeedSequence([cfg.seed, stream]).generate_state(1)[0] >> 1)


def check_supported(cfg: Config) -> None:
    """Refuse, in one sentence, what this engine cannot run (before any data is loaded)."""
    require_torch_backend()
    t = cfg.train
    if t.dtype == "float64":
        raise UserError(
            "train.dtype = float64 does not work with train.engine = keras: Keras' type "
            "promotion computes float64 matrix products in float32 on the torch backend "
            "(as JAX does by default); use train.dtype = float32 or train.engine = torch."
        )


class KerasEngine(Engine):
    name = "keras"

    def __init__(self, cfg: Config, train_data: np.ndarray) -> None:
        super().__init__(cfg, train_data)
        check_supported(cfg)
        t, m, o = cfg.train, cfg.model, cfg.optim
        if t.precision != "float32":
            warnings.warn(
                f"train.precision = {t.precision} is the torch engine's autocast; the keras "
                f"engine trains in {t.dtype}",
                stacklevel=2,
            )
        # MLPs on points one thread, images all cores (train.threads; the torch engine gives
        # image MLPs one thread too, measured faster there, not here)
        torch.set_num_threads(t.threads or ((os.cpu_count() or 1) if self.images else 1))
        self.device = resolve_device(t.device)
        self.dtype = t.dtype
        with self._on_device():
            g, d = build_networks(m, self.sample_shape, _seed(cfg, streams.WEIGHTS), self.dtype)
            g_ema = None
            if m.g_ema:  # the EMA copy of G: sampled from, never trained
                g_ema = build_generator(
                    m, self.sample_shape, _seed(cfg, streams.WEIGHTS), self.dtype
                )
            self.gan = GAN(
                g, d, m.latent_dim, m.latent_dist, m.pack, m.augment, t.d_steps, t.g_steps,
                generator_ema=g_ema, ema_decay=m.g_ema, seed=_seed(cfg, streams.BATCHES),
            )  # fmt: skip
            self.gan.compile(
                d_optimizer=make_optimizer(o.name, o.d_lr, o.beta1, o.beta2, o.momentum),
                g_optimizer=make_optimizer(o.name, o.g_lr, o.beta1, o.beta2, o.momentum),
                loss=cfg.loss.name, gp_weight=cfg.loss.gp_weight, gp_every=cfg.loss.gp_every,
                clip=cfg.loss.clip, r1=cfg.loss.r1, r1_every=cfg.loss.r1_every,
                r2=cfg.loss.r2, r2_every=cfg.loss.r2_every,
            )  # fmt: skip
            # images stay uint8 on the device (a quarter of the memory), floats per batch
            self.data = ops.convert_to_tensor(train_data)
            if not self.images:
                self.data = ops.cast(self.data, self.dtype)
        self.iteration = 0  # iterations done, for the learning-rate schedule and lazy R1

    @contextmanager
    def _on_device(self) -> Iterator[None]:
        with keras.device(str(self.device)):
            yield

    # --- the hot path -------------------------------------------------------------------

    def _z(self, n: int) -> torch.Tensor:
        if self.draws is not None:
            z = self.draws.latent(n, self.cfg.model.latent_dim, self.cfg.model.latent_dist)
            return ops.convert_to_tensor(z, dtype=self.dtype)
        return self.gan.latent(n)

    def _d_step(self) -> torch.Tensor:
        b, n = self.cfg.train.batch_size, int(self.data.shape[0])
        if self.draws is not None:
            idx = ops.convert_to_tensor(self.draws.indices(n, b))
        else:
            idx = keras.random.randint((b,), 0, n, seed=self.gan.seed_generator)
        real = self.gan.to_float(ops.take(self.data, idx, axis=0))
        z = self._z(b)
        mix = None
        if self.draws is not None and any(
            p.on == "mix" for p, _ in due(self.gan.penalties, self.iteration)
        ):
            mix = self.draws.mix(b // self.cfg.model.pack)
        return self.gan.d_step(real, z, mix, iteration=self.iteration)

    def _g_step(self) -> torch.Tensor:
        return self.gan.g_step(self._z(self.cfg.train.batch_size))

    def _set_lr(self, scale: float) -> None:
        o = self.cfg.optim
        self.gan.g_optimizer.learning_rate = o.g_lr * scale
        self.gan.d_optimizer.learning_rate = o.d_lr * scale

    def _training(self) -> AbstractContextManager[object]:
        return self._on_device()

    def _accumulate(
        self, acc: torch.Tensor | None, d: torch.Tensor, g: torch.Tensor
    ) -> torch.Tensor:
        step = torch.cat([d, g]).to(torch.float64)  # stays on the device: no host sync
        return step if acc is None else acc + step

    def _means(self, acc: torch.Tensor, n_steps: int) -> list[float]:
        return (acc / n_steps).tolist()

    # --- off the hot path ---------------------------------------------------------------

    def sample(self, z: np.ndarray) -> np.ndarray:
        g = self.gan.generator_ema if self.gan.generator_ema is not None else self.gan.generator
        with self._on_device(), torch.no_grad():
            zt = ops.convert_to_tensor(np.asarray(z), dtype=self.dtype)
            out = ops.concatenate([g(part, training=False) for part in torch.split(zt, 512)])
            x = to_numpy(out).astype(np.float32)
        if self.images:  # torch's rounding: half to even, in float32
            return np.clip(np.round((x + 1.0) * 127.5), 0, 255).astype(np.uint8)
        return x

    def critic(self, x: np.ndarray) -> np.ndarray:
        m = self.cfg.model.pack
        with self._on_device(), torch.no_grad():
            xt = self.gan.to_float(x)
            reps = (1,) * (len(xt.shape) - 1) + (m,)  # a pack of m copies of each sample
            out = ops.concatenate(
                [
                    self.gan.discriminator(ops.tile(part, reps), training=False)
                    for part in torch.split(xt, 512)
                ]
            )
            return to_numpy(out[:, 0]).astype(np.float32)

    def _nets(self) -> list[tuple[str, keras.Model, TorchOptimizer | None]]:
        gan = self.gan
        nets: list[tuple[str, keras.Model, TorchOptimizer | None]] = [
            ("G", gan.generator, gan.g_optimizer),
            ("D", gan.discriminator, gan.d_optimizer),
        ]
        if gan.generator_ema is not None:
            nets.append(("G_ema", gan.generator_ema, None))
        return nets

    def layer_grad_norms(self) -> dict[str, float]:
        """From the gradient lists the GAN's last D and G steps applied (it keeps references,
        no copies), named through the state mapping so the keys are the torch engine's."""
        gan, named = self.gan, []
        for prefix, net, grads, variables in (
            ("G", gan.generator, gan.last_grads.g, gan.g_vars),
            ("D", gan.discriminator, gan.last_grads.d, gan.d_vars),
        ):
            if grads is None:
                continue
            names = {id(e.var): e.name for e in entries(net)}
            # a trainable variable outside the state mapping (none today) under its Keras path
            named += [
                (f"{prefix}.{names.get(id(v), v.path.replace('/', '.'))}", g)
                for v, g in zip(variables, grads, strict=True)
            ]
        return layer_norms(named)

    def _rng_vars(self) -> dict[str, keras.Variable]:
        """Our random streams: the batches/noise stream and the dropout layers' streams."""
        out = {"rng.keras.seed": self.gan.seed_generator.state}
        for layer in self.gan.discriminator.layers:
            if isinstance(layer, keras.layers.Dropout):
                out[f"rng.keras.D.{layer.name}"] = layer.seed_generator.state
        return out

    def state(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for prefix, net, opt in self._nets():
            out.update(save_network(prefix, net, opt))
        out["train.iteration"] = np.array([self.iteration], dtype=np.int64)
        for key, var in self._rng_vars().items():
            out[key] = to_numpy(var).copy()
        return out

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        with self._on_device():
            for prefix, net, opt in self._nets():
                load_network(prefix, net, opt, state)
            # another engine's checkpoint carries its own random streams: keep ours then
            for key, var in self._rng_vars().items():
                if key in state:
                    var.assign(np.asarray(state[key]).astype(var.dtype))
        self.iteration = int(np.asarray(state["train.iteration"]).reshape(-1)[0])
