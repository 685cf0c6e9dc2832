"""Keras layers with PyTorch's semantics, where Keras' own layers compute something else.

Each exists so that a Keras network and a torch network with equal weights compute equal
outputs and carry equal state (what makes checkpoints cross between the engines):

* :class:`BatchNorm`: ``torch.nn.BatchNorm1d/2d``. ``keras.layers.BatchNormalization``
  updates its moving variance with the biased batch variance and has no batch counter.
* :class:`SpectralNorm`: ``torch.nn.utils.parametrizations.spectral_norm``.
  ``keras.layers.SpectralNormalization`` overwrites the kernel with the normalised one at
  every training call, so its optimiser updates normalised weights; torch keeps the raw
  weight and divides by sigma in the forward pass.
* :class:`Resize`: ``nn.Upsample(size=...)`` (nearest): torch picks source index
  ``floor(i * in / out)`` in float32, which no Keras resizing layer promises.
* :class:`Unflatten` / :class:`FlattenChannelsFirst`: torch's (C, H, W) order of the flat
  features around the channels-last image tensors Keras works on.
* :class:`MinibatchStd`: Karras et al.'s minibatch standard deviation.

All maths is in ``keras.ops``, so the layers run on any Keras backend.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="gankit")
class BatchNorm(keras.layers.Layer):
    """Batch normalisation over all axes but the last (channels-last), as torch computes it:
    the biased batch variance normalises, the unbiased one enters the running variance, the
    running statistics move by ``momentum`` (torch's 0.1, Keras' 0.9) towards the batch's,
    and ``num_batches_tracked`` counts training calls."""

    def __init__(
        self,
        momentum: float = 0.1,
        epsilon: float = 1e-5,
        gamma_initializer: Any = "ones",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.momentum = momentum
        self.epsilon = epsilon
        self.gamma_initializer = keras.initializers.get(gamma_initializer)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        c = (int(input_shape[-1]),)
        self.gamma = self.add_weight(shape=c, initializer=self.gamma_initializer, name="gamma")
        self.beta = self.add_weight(shape=c, initializer="zeros", name="beta")
        self.moving_mean = self.add_weight(
            shape=c, initializer="zeros", trainable=False, name="moving_mean"
        )
        self.moving_variance = self.add_weight(
            shape=c, initializer="ones", trainable=False, name="moving_variance"
        )
        self.num_batches_tracked = self.add_weight(
            shape=(), initializer="zeros", dtype="int64", trainable=False,
            name="num_batches_tracked",
        )  # fmt: skip

    def call(self, x: Any, training: bool = False) -> Any:
        if training:
            axes = tuple(range(len(x.shape) - 1))
            mean = ops.mean(x, axis=axes)
            var = ops.var(x, axis=axes)
            n = int(np.prod([x.shape[a] for a in axes]))
            m = self.momentum
            unbiased = ops.stop_gradient(var) * (n / max(n - 1, 1))
            self.moving_mean.assign(self.moving_mean * (1.0 - m) + ops.stop_gradient(mean) * m)
            self.moving_variance.assign(self.moving_variance * (1.0 - m) + unbiased * m)
            self.num_batches_tracked.assign(self.num_batches_tracked + 1)
        else:
            mean, var = self.moving_mean, self.moving_variance
        return (x - mean) * ops.rsqrt(var + self.epsilon) * self.gamma + self.beta

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "gamma_initializer": keras.initializers.serialize(self.gamma_initializer),
        }


def _normalize(v: Any, eps: float = 1e-12) -> Any:
    return v / ops.maximum(ops.sqrt(ops.sum(v * v)), eps)  # torch's F.normalize


@keras.saving.register_keras_serializable(package="gankit")
class SpectralNorm(keras.layers.Wrapper):
    """A Dense or Conv2D layer computing with ``kernel / sigma``, sigma its largest singular
    value estimated by one power iteration per training call on persistent vectors ``u``
    (outputs) and ``v`` (inputs in torch's (in, kh, kw) order). The kernel stays the raw
    weight the optimiser updates; evaluation reuses the stored vectors."""

    def __init__(self, layer: keras.layers.Layer, seed: Any = None, **kwargs: Any) -> None:
        if not isinstance(layer, keras.layers.Dense | keras.layers.Conv2D):
            raise TypeError(f"SpectralNorm wraps Dense or Conv2D, not {type(layer).__name__}")
        super().__init__(layer, **kwargs)
        self.seed = seed

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.layer.build(input_shape)
        w = self._matrix(self.layer.kernel)
        h, n = int(w.shape[0]), int(w.shape[1])
        self.u = self.add_weight(shape=(h,), initializer="zeros", trainable=False, name="u")
        self.v = self.add_weight(shape=(n,), initializer="zeros", trainable=False, name="v")
        normal = keras.initializers.RandomNormal(0.0, 1.0, seed=self.seed)
        self.u.assign(_normalize(normal((h,), dtype=self.u.dtype)))
        self.v.assign(_normalize(normal((n,), dtype=self.v.dtype)))
        self._power_iteration(w, 15)  # as torch: start near the top singular vectors
        self.built = True

    @staticmethod
    def _matrix(kernel: Any) -> Any:
        """The kernel as torch's (out, in * kh * kw) weight matrix."""
        if len(kernel.shape) == 2:  # Dense (in, out)
            return ops.transpose(kernel)
        return ops.reshape(ops.transpose(kernel, (3, 2, 0, 1)), (kernel.shape[-1], -1))

    def _power_iteration(self, w: Any, n: int) -> None:
        w = ops.stop_gradient(w)
        u, v = self.u.value, self.v.value
        for _ in range(n):
            u = _normalize(ops.matmul(w, v))
            v = _normalize(ops.matmul(ops.transpose(w), u))
        self.u.assign(u)
        self.v.assign(v)

    def call(self, x: Any, training: bool = False) -> Any:
        layer = self.layer
        w = self._matrix(layer.kernel)
        if training:
            self._power_iteration(w, 1)
        # copies, as torch's clone: a later call's power iteration updates u and v in place,
        # while this call's graph (a penalty's double backward) still needs their values
        u, v = ops.stop_gradient(ops.copy(self.u.value)), ops.stop_gradient(ops.copy(self.v.value))
        sigma = ops.sum(u * ops.matmul(w, v))
        kernel = layer.kernel / sigma
        if isinstance(layer, keras.layers.Conv2D):
            y = ops.conv(
                x, kernel, strides=layer.strides, padding=layer.padding,
                data_format=layer.data_format, dilation_rate=layer.dilation_rate,
            )  # fmt: skip
        else:
            y = ops.matmul(x, kernel)
        if layer.use_bias:
            y = y + layer.bias
        return layer.activation(y)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> Any:
        return self.layer.compute_output_shape(input_shape)


@keras.saving.register_keras_serializable(package="gankit")
class MinibatchStd(keras.layers.Layer):
    """Append one feature (points) or channel (images, last axis) holding the mean standard
    deviation of the features over groups of ``group`` consecutive samples: a collapsed G
    makes identical samples, whose zero spread D then sees at a glance. D gets real and fake
    in one batch, real first, so a group never mixes the two."""

    def __init__(self, group: int = 4, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.group = group

    def call(self, x: Any) -> Any:
        b = x.shape[0]
        g = self.group if b % self.group == 0 else b  # else: the spread of the whole batch
        y = ops.reshape(x, (b // g, g, *x.shape[1:]))
        std = ops.sqrt(ops.var(y, axis=1) + 1e-8)
        s = ops.mean(ops.reshape(std, (b // g, -1)), axis=1)
        s = ops.reshape(ops.repeat(s, g), (b, *([1] * (len(x.shape) - 1))))
        return ops.concatenate([x, ops.broadcast_to(s, (b, *x.shape[1:-1], 1))], axis=-1)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> Any:
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "group": self.group}


def nearest_indices(n_in: int, n_out: int) -> np.ndarray:
    """torch's nearest-neighbour source indices for resizing n_in to n_out (float32 maths,
    with the exact cases torch special-cases)."""
    i = np.arange(n_out)
    if n_out == n_in:
        return i
    if n_out == 2 * n_in:
        return i >> 1
    scale = np.float32(n_in) / np.float32(n_out)
    return np.minimum(np.floor(i.astype(np.float32) * scale).astype(np.int64), n_in - 1)


@keras.saving.register_keras_serializable(package="gankit")
class Resize(keras.layers.Layer):
    """Nearest-neighbour resizing of NHWC images to exactly ``size`` = (height, width), with
    torch's choice of source pixels (``nn.Upsample(size=...)``)."""

    def __init__(self, size: tuple[int, int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = tuple(int(s) for s in size)

    def call(self, x: Any) -> Any:
        rows = nearest_indices(int(x.shape[1]), self.size[0])
        cols = nearest_indices(int(x.shape[2]), self.size[1])
        return ops.take(ops.take(x, rows, axis=1), cols, axis=2)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> Any:
        return (input_shape[0], *self.size, input_shape[3])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": list(self.size)}


@keras.saving.register_keras_serializable(package="gankit")
class Unflatten(keras.layers.Layer):
    """Flat features read in torch's (C, H, W) order, returned as an NHWC image: the same
    weights in front of it mean the same pixels in both engines."""

    def __init__(self, chw: tuple[int, int, int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.chw = tuple(int(s) for s in chw)

    def call(self, x: Any) -> Any:
        return ops.transpose(ops.reshape(x, (-1, *self.chw)), (0, 2, 3, 1))

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> Any:
        c, h, w = self.chw
        return (input_shape[0], h, w, c)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "chw": list(self.chw)}


@keras.saving.register_keras_serializable(package="gankit")
class FlattenChannelsFirst(keras.layers.Layer):
    """Flatten NHWC images in torch's (C, H, W) order, so a Dense layer after it has the
    torch layer's weights, column for column."""

    def call(self, x: Any) -> Any:
        if len(x.shape) == 4:
            x = ops.transpose(x, (0, 3, 1, 2))
        return ops.reshape(x, (-1, int(np.prod(x.shape[1:]))))

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> Any:
        return (input_shape[0], int(np.prod(input_shape[1:])))
