"""gankit: train generative adversarial networks and see what they do."""

import os

# Keras 3 picks its backend when first imported, and defaults to TensorFlow (not a gankit
# dependency): gankit's Keras engine runs on torch unless the user chose otherwise.
os.environ.setdefault("KERAS_BACKEND", "torch")

__version__ = "0.1.0"
