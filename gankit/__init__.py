"""gankit: train generative adversarial networks and see what they do.

From Python (a notebook, a script)::

    import gankit
    run = gankit.train("sine", model={"latent_dim": 20})   # a run directory, scored and drawn
    run                                                    # in Jupyter: its card
    x = run.sample(1000)                                   # float32 points, or uint8 images
    gankit.load("runs/00000-sine-torch").resume(steps=20000)

The same runs as the ``gankit`` command's; docs/python.md lists every function.
"""

import os

# Keras 3 picks its backend when first imported, and defaults to TensorFlow (not a gankit
# dependency): gankit's Keras engine runs on torch unless the user chose otherwise.
os.environ.setdefault("KERAS_BACKEND", "torch")

__version__ = "0.1.0"

from gankit.api import Run, load, presets, runs, sweep, train
from gankit.errors import Diverged, Interrupted, UserError


def load_generator(path: "str | os.PathLike[str]"):
    """The generator alone from ``gankit export RUN --out DIR``: ``.sample(n, seed=0)``."""
    from gankit.export import load_generator as load

    return load(path)


__all__ = [
    "Diverged",
    "Interrupted",
    "Run",
    "UserError",
    "__version__",
    "load",
    "load_generator",
    "presets",
    "runs",
    "sweep",
    "train",
]
