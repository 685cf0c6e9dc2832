"""The cells every notebook starts with: installing gankit, the parameters the tests shorten,
and the two display helpers."""

from __future__ import annotations

INSTALL = (
    "code",
    """
# gankit, installed first when this kernel lacks it (a fresh hosted notebook): from
# GANKIT_SOURCE (a folder, a wheel or a git address of gankit), else from the checkout this
# notebook lies in
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

if importlib.util.find_spec("gankit") is None:
    checkout = ".." if Path("../pyproject.toml").is_file() else ""
    source = os.environ.get("GANKIT_SOURCE") or checkout
    if not source:
        raise RuntimeError("set GANKIT_SOURCE to gankit's folder, wheel or git address")
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", source])

import gankit

print("gankit", gankit.__version__)
""",
)

PARAMETERS = (
    "parameters",
    """
# Config keys laid over every run below. Empty: each run trains its preset in full, as the
# outputs you see were made. The test suite shortens the runs here.
SHORTEN = {}
""",
)

SHOW = (
    "code",
    '''
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display


def show(pictures, titles, height=3.2):
    """Pictures (arrays or PNG paths) side by side, each with its title."""
    fig, axes = plt.subplots(1, len(pictures), figsize=(height * 1.6 * len(pictures), height))
    for ax, picture, title in zip(np.atleast_1d(axes), pictures, titles, strict=True):
        ax.imshow(plt.imread(picture) if not isinstance(picture, np.ndarray) else picture)
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    plt.show()


def table(header, rows):
    """A Markdown table: renders in Jupyter and on a code host alike."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    display(Markdown("\\n".join(lines)))
''',
)
