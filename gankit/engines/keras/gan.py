"""A GAN as one ``keras.Model``: G and D, their optimisers, and a ``train_step`` that
``fit()`` drives, written for the torch backend (torch autograd on the Keras variables, as
the Keras guide "Customizing what happens in fit() with PyTorch" does).

For a Keras user::

    gan = GAN(generator, discriminator)                 # any two Keras models
    gan.compile(d_optimizer=TorchAdam(2e-4, 0.5), g_optimizer=TorchAdam(2e-4, 0.5), loss="bce")
    gan.fit(images, batch_size=64, epochs=10)           # floats in [-1, 1], or uint8
    fakes = gan(keras.random.normal((16, gan.latent_dim)))

gankit's :class:`~gankit.engines.keras.engine.KerasEngine` calls :meth:`GAN.d_step` and
:meth:`GAN.g_step` itself with its own batches (the step semantics of the torch engine), so
the two paths share every line of the maths.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import torch
from keras import ops

from gankit.engines import steps
from gankit.engines.base import STAT_KEYS
from gankit.engines.keras import require_torch_backend
from gankit.engines.keras.augment import diff_augment
from gankit.engines.keras.layers import BatchNorm
from gankit.losses import get, realness_stats, torch_ops
from gankit.penalties import VALUES, Penalty, due, plan


def _norm(grads: list[torch.Tensor]) -> torch.Tensor:
    """The total L2 norm of all gradients (what the torch engine logs)."""
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


@dataclass
class LastGrads:
    """The gradient lists the last D and G updates applied (references, not copies), in
    the order of ``GAN.d_vars`` / ``GAN.g_vars``; None before the first. A plain object
    rather than attributes of the Model: Keras' attribute tracking would wrap (copy) each
    list at every step."""

    d: list[torch.Tensor] | None = None
    g: list[torch.Tensor] | None = None


def forward(model: keras.Model) -> Callable[[Any, bool], Any]:
    """``model(x, training=...)`` for the training steps. For a built Sequential it calls
    the layers' ``call`` one after another: Keras' per-call machinery (argument binding,
    autocasting, name scopes, masks) costs ~65 us per layer on a CPU, three times the maths
    of a small MLP layer, and does nothing here (built layers, inputs already in the
    layers' dtype, no masks). Mixed-precision models keep the full call (autocasting)."""
    plain = isinstance(model, keras.Sequential) and model.built
    if not plain or any(
        layer.dtype_policy.compute_dtype != layer.dtype_policy.variable_dtype
        for layer in model.layers
    ):
        return lambda x, training: model(x, training=training)
    steps = [
        (layer.call, "training" in inspect.signature(layer.call).parameters)
        for layer in model.layers
    ]

    def run(x: Any, training: bool) -> Any:
        for call, takes_training in steps:
            x = call(x, training=training) if takes_training else call(x)
        return x

    return run


def _layers(model: Any) -> Iterator[Any]:
    """Every layer inside ``model``, nested models' own included."""
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _layers(layer)


class GAN(keras.Model):
    """G and D trained against each other.

    Args:
        generator: maps latents ``(n, latent_dim)`` to samples.
        discriminator: maps packs of samples to one raw score each, ``(n / pack, 1)``.
        latent_dim: G's input size (default: read from G's input).
        latent_dist: ``"normal"`` (N(0, 1)) or ``"uniform"`` (U[-1, 1]).
        pack: PacGAN's m: D judges m samples at once, side by side (points) or stacked
            along the channels (NHWC images).
        augment: DiffAugment names (``translation``, ``color``, ``cutout``) for images.
        d_steps, g_steps: updates of D, then of G, per ``train_step``; the D steps reuse the
            batch with fresh noise.
        generator_ema: a copy of G that follows G's weights as an exponential moving
            average (``ema_decay``) after every G step, batch-norm statistics copied.
        seed: seeds the noise, penalty mixes and augmentations.
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        latent_dim: int | None = None,
        latent_dist: str = "normal",
        pack: int = 1,
        augment: tuple[str, ...] | list[str] = (),
        d_steps: int = 1,
        g_steps: int = 1,
        generator_ema: keras.Model | None = None,
        ema_decay: float = 0.999,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        require_torch_backend()
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self._g, self._d = forward(generator), forward(discriminator)
        # a D with batch-norm gets the real and the fake batch apart (as the seed notebook
        # and the DCGAN paper do): one pass over both would mix their statistics
        norms = (keras.layers.BatchNormalization, BatchNorm)
        self._d_apart = any(isinstance(layer, norms) for layer in _layers(discriminator))
        self.latent_dim = int(latent_dim or generator.input_shape[-1])
        # the float type G computes in (a Sequential's own dtype policy stays float32 even
        # when its layers are float64)
        outputs = getattr(generator, "outputs", None)
        self.float_dtype = (
            keras.backend.standardize_dtype(outputs[0].dtype) if outputs else keras.config.floatx()
        )
        self.latent_dist = latent_dist
        self.pack = pack
        self.augment = tuple(augment)
        self.d_steps, self.g_steps = d_steps, g_steps
        self.generator_ema = generator_ema
        self.ema_decay = ema_decay
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.iteration = 0  # train_step calls, for the lazy penalties
        self.trackers = [keras.metrics.Mean(name=k) for k in STAT_KEYS]
        self.last_grads = LastGrads()  # for per-layer gradient norms, read off the hot path
        self.last_real: Any = None  # the last D step's real packs (a relativistic G's)
        self.primitives = KerasSteps(self)  # the step recipe's primitives (engines/steps.py)
        if generator_ema is not None:
            generator_ema.trainable = False
            pairs = list(zip(generator.variables, generator_ema.variables, strict=True))
            if any(a.shape != b.shape for a, b in pairs):
                raise ValueError("generator_ema must be a copy of the generator")
            self._ema_params = [(a.value, b.value) for a, b in pairs if a.trainable]
            self._ema_buffers = [(a.value, b.value) for a, b in pairs if not a.trainable]
            with torch.no_grad():  # the copy starts equal to G
                for a, b in pairs:
                    b.value.copy_(a.value)
        # G and D come built; marking the GAN built keeps fit() from tracing call() on data
        self.built = True

    def compile(  # type: ignore[override]
        self,
        d_optimizer: keras.optimizers.Optimizer,
        g_optimizer: keras.optimizers.Optimizer,
        loss: str = "bce",
        gp_weight: float = 10.0,
        clip: float = 0.01,
        r1: float = 0.0,
        r1_every: int = 1,
        r2: float = 0.0,
        r2_every: int = 1,
        gp_every: int = 1,
        **kwargs: Any,
    ) -> None:
        """``loss``: a name of gankit's loss table (``gankit.losses.LOSSES``: bce, minimax,
        wgan with weight clipping to ``clip``, wgan-gp with the gradient penalty weighted
        ``gp_weight``, hinge, lsgan, rpgan, ragan). ``r1`` / ``r2``: gamma of the R1 penalty
        on real data / of R2 on generated data, each applied every ``r1_every`` /
        ``r2_every``-th step weighted by that interval (as the gradient penalty by
        ``gp_every``). The objectives are the torch engine's own code: on the torch backend
        Keras' tensors are torch tensors."""
        self.gan_loss = get(loss)  # a ValueError naming the known losses
        super().compile(optimizer=None, jit_compile=False, **kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        self.clip = clip
        self.penalties = plan(
            loss, gp_weight=gp_weight, gp_every=gp_every, r1=r1, r1_every=r1_every, r2=r2,
            r2_every=r2_every,
        )  # fmt: skip
        self.d_vars = list(self.discriminator.trainable_variables)
        self.g_vars = list(self.generator.trainable_variables)
        # optimiser state exists from the start, so it can be saved and loaded before a step
        d_optimizer.build(self.d_vars)
        g_optimizer.build(self.g_vars)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return self.trackers  # reset by fit() at every epoch

    def call(self, z: Any, training: bool = False) -> Any:
        return self.generator(z, training=training)

    # --- pieces of a step ------------------------------------------------------------------

    def latent(self, n: int) -> Any:
        shape, dtype = (n, self.latent_dim), self.float_dtype
        if self.latent_dist == "uniform":
            return keras.random.uniform(shape, -1.0, 1.0, dtype=dtype, seed=self.seed_generator)
        return keras.random.normal(shape, dtype=dtype, seed=self.seed_generator)

    def to_float(self, x: Any) -> Any:
        """uint8 images to floats in [-1, 1] (one batch at a time); floats unchanged."""
        x = ops.convert_to_tensor(x)
        if x.dtype == torch.uint8:
            return ops.cast(x, self.float_dtype) / 127.5 - 1.0
        return ops.cast(x, self.float_dtype)

    def d_input(self, x: Any) -> Any:
        """What D sees of a batch: augmented (images, when asked), then packed."""
        if self.augment:
            x = diff_augment(x, list(self.augment), self.seed_generator)
        m = self.pack
        if m == 1:
            return x
        b = x.shape[0]
        if len(x.shape) == 4:
            h, w, c = x.shape[1:]
            x = ops.transpose(ops.reshape(x, (b // m, m, h, w, c)), (0, 2, 3, 1, 4))
            return ops.reshape(x, (b // m, h, w, m * c))  # torch's channel order: sample-major
        return ops.reshape(x, (b // m, -1))

    def _input_grad(self, x: torch.Tensor) -> torch.Tensor:
        """d sum(D(x)) / dx per pack, flat, kept in the graph (for a penalty's gradient)."""
        x = x.detach().requires_grad_(True)
        out = self._d(x, True)
        (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
        return grad.reshape(grad.shape[0], -1)

    def penalty(self, of: str, x: Any) -> Any:
        """A penalty's function (``gankit.penalties.VALUES``) of D's input gradient at ``x``."""
        return VALUES[of](self._input_grad(x), torch_ops())

    # --- the steps -------------------------------------------------------------------------

    def d_step(self, real: Any, z: Any, mix: Any = None, iteration: int = 1) -> torch.Tensor:
        """One D update on real floats and G(z) (G in training mode, no gradient), with the
        penalties due at ``iteration`` (lazy regularisation). ``mix``: the gradient
        penalty's mixing weights, one per pack (drawn here when None). Returns (loss,
        realness on real, on fake, share fooled, gradient norm before the update)."""
        real = self.last_real = self.d_input(real)

        def mix_weights() -> Any:
            shape = (real.shape[0],) + (1,) * (len(real.shape) - 1)
            if mix is None:
                return keras.random.uniform(shape, dtype=real.dtype, seed=self.seed_generator)
            return ops.reshape(ops.cast(ops.convert_to_tensor(mix), real.dtype), shape)

        penalties = due(self.penalties, iteration)
        loss, r, f, norm = steps.d_step(self.primitives, real, z, penalties, mix_weights)
        with torch.no_grad():
            d_real, d_fake, fooled = realness_stats(self.gan_loss, r, f, torch_ops())
            return torch.stack([loss.detach(), d_real, d_fake, fooled, norm])

    def g_step(self, z: Any) -> torch.Tensor:
        """One G update through D in training mode; only G's weights get gradients. A
        relativistic loss compares with D on the last D step's real packs. Then the EMA copy
        follows. Returns (loss, gradient norm before the update)."""
        real = self.last_real if self.gan_loss.relativistic else None
        loss, norm = steps.g_step(self.primitives, z, real)
        return torch.stack([loss.detach(), norm])

    def train_step(self, data: Any) -> dict[str, Any]:
        """fit()'s step: ``d_steps`` D updates on this batch of real samples, then
        ``g_steps`` G updates, each on fresh noise."""
        real = data[0] if isinstance(data, tuple | list) else data
        real = self.to_float(real)
        b = real.shape[0] - real.shape[0] % self.pack  # D judges whole packs
        real = real[:b]
        self.iteration += 1
        for _ in range(self.d_steps):
            d = self.d_step(real, self.latent(b), iteration=self.iteration)
        for _ in range(self.g_steps):
            g = self.g_step(self.latent(b))
        for tracker, value in zip(self.trackers, stats_vector(d, g), strict=True):
            tracker.update_state(value)
        return self.get_metrics_result()  # as Keras' own train_step: python floats


class KerasSteps:
    """The step recipe's primitives (``engines/steps.py``) for a :class:`GAN`: its layers on
    the torch backend, gradients by torch autograd on its variables, updates by its Keras
    optimisers."""

    def __init__(self, gan: GAN) -> None:
        self.gan = gan
        self.ops = torch_ops()

    def fake(self, z: Any) -> Any:
        gan = self.gan
        with torch.no_grad():
            return gan.d_input(gan._g(z, True))

    def judge(self, real: Any, fake: Any) -> tuple[Any, Any]:
        gan, d = self.gan, self.gan._d
        if gan._d_apart:  # D's batch-norm sees the real and the fake batch apart
            out = ops.concatenate([d(real, True), d(fake, True)])[:, 0]
        else:
            out = d(ops.concatenate([real, fake]), True)[:, 0]
        return out[: real.shape[0]], out[real.shape[0] :]

    def d_objective(self, r: Any, f: Any) -> Any:
        return self.gan.gan_loss.d(self.ops, r, f)

    def penalty(self, p: Penalty, x: Any, weight: float) -> Any:
        return self.gan.penalty(p.of, x)

    def d_apply(self, loss: Any) -> torch.Tensor:
        gan = self.gan
        grads = list(torch.autograd.grad(loss, [v.value for v in gan.d_vars]))
        gan.last_grads.d = grads  # the optimiser only reads them
        norm = _norm(grads)
        with torch.no_grad():
            gan.d_optimizer.apply(grads, gan.d_vars)
            if gan.gan_loss.clip:
                values = [v.value for v in gan.d_vars]
                torch._foreach_clamp_min_(values, -gan.clip)
                torch._foreach_clamp_max_(values, gan.clip)
        return norm

    def judge_generated(self, z: Any, real: Any | None) -> tuple[Any, Any | None]:
        gan, d = self.gan, self.gan._d
        out = d(gan.d_input(gan._g(z, True)), True)[:, 0]
        if real is None:
            return out, None
        with torch.no_grad():
            return out, d(real, True)[:, 0]

    def g_objective(self, r: Any | None, f: Any) -> Any:
        return self.gan.gan_loss.g(self.ops, r, f)

    def g_apply(self, loss: Any) -> torch.Tensor:
        gan = self.gan
        grads = list(torch.autograd.grad(loss, [v.value for v in gan.g_vars]))
        gan.last_grads.g = grads
        norm = _norm(grads)
        with torch.no_grad():
            gan.g_optimizer.apply(grads, gan.g_vars)
            if gan.generator_ema is not None:
                ema = [e for _, e in gan._ema_params]
                torch._foreach_lerp_(ema, [p for p, _ in gan._ema_params], 1.0 - gan.ema_decay)
                if gan._ema_buffers:
                    torch._foreach_copy_(
                        [e for _, e in gan._ema_buffers], [b for b, _ in gan._ema_buffers]
                    )
        return norm


def stats_vector(d: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """d_step's and g_step's outputs in the order of STAT_KEYS."""
    return torch.stack([d[0], g[0], d[1], d[2], d[3], d[4], g[1]])


def as_stats(values: np.ndarray) -> dict[str, float]:
    return {k: float(v) for k, v in zip(STAT_KEYS, values, strict=True)}
