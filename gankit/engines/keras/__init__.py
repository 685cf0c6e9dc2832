"""The Keras 3 engine: G and D as Keras models, a ``keras.Model`` GAN with a custom
``train_step``, and :class:`~gankit.engines.keras.engine.KerasEngine` for gankit's loop.

Keras picks its backend when first imported, from ``KERAS_BACKEND`` (else
``~/.keras/keras.json``, else TensorFlow). This package sets ``KERAS_BACKEND=torch`` unless
the user already set it, before anything imports Keras: the train step differentiates with
torch autograd, and torch is the framework gankit installs. Under another backend (JAX,
TensorFlow) :func:`require_torch_backend` stops with a one-sentence error instead of
training wrongly.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

from gankit.errors import UserError

try:
    import keras  # after the backend choice above
except ImportError as e:  # KERAS_BACKEND names a framework that is not installed
    raise UserError(
        f"Keras could not start its {os.environ['KERAS_BACKEND']} backend ({e}); the Keras "
        "engine needs KERAS_BACKEND=torch (or unset)."
    ) from None


def require_torch_backend() -> None:
    """Stop unless Keras runs on torch: the GAN's train step is torch autograd."""
    backend = keras.backend.backend()
    if backend != "torch":
        raise UserError(
            f"the Keras engine trains with the torch backend only, but Keras runs on {backend} "
            "(KERAS_BACKEND); set KERAS_BACKEND=torch or use train.engine = torch."
        )
