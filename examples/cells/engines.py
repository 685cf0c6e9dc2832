"""The cells of notebook engines; see cells/__init__.py."""

from __future__ import annotations

from cells.common import INSTALL, PARAMETERS, SHOW

ENGINES = [
    (
        "md",
        """
# 03 · One GAN, three engines: PyTorch, Keras and NumPy

The fourth seed writes the same MLP GAN three times: in PyTorch, in Keras and from scratch in
NumPy. gankit has the three as engines of one training loop: they build the same networks
from the same config, write the same run directory and read each other's checkpoints. Here
the `digits` preset (the seed's MLP GAN on scikit-learn's 8x8 digits) trains once on each.

Each engine draws its own initial weights, so these are three runs of one GAN, as three
seeds would be: what must agree is the quality the scores measure. (Started from one
engine's weights and fed the same batches, the engines agree step by step to rounding:
docs/engines.md shows how that is tested.)
""",
    ),
    INSTALL,
    PARAMETERS,
    SHOW,
    (
        "code",
        """
import time

runs, minutes = {}, {}
for engine in ("torch", "keras", "numpy"):
    tic = time.perf_counter()
    runs[engine] = gankit.train("digits", engine=engine, set=SHORTEN, progress=False)
    minutes[engine] = (time.perf_counter() - tic) / 60
    print(f"{engine:6} {runs[engine].path}  {minutes[engine]:.1f} min")
""",
    ),
    ("md", "## The numbers side by side"),
    (
        "code",
        """
rows = []
for engine, r in runs.items():
    s, f = r.scores["scores"], r.scores["real_floor"]
    c = s["classes"]
    rows.append([
        engine,
        f"{s['fd']['value']:.2f} (real {f['fd']['value']:.2f})",
        f"{s['precision_recall']['precision']:.2f} / {s['precision_recall']['recall']:.2f}",
        f"{c['coverage']} / 10, largest {100 * max(c['shares']):.0f} %",
        f"{minutes[engine]:.1f}",
        ", ".join(x.name for x in r.findings) or "no problem found",
    ])
table(["engine", "Fréchet distance", "precision / recall", "digit classes", "minutes",
       "doctor"], rows)
""",
    ),
    (
        "md",
        """
The Fréchet distance is measured in the feature space of the digit classifier gankit ships,
against held-out digits; "real" is the same distance between two samples of real digits. How
the three games went, step by step:
""",
    ),
    (
        "code",
        """
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
for engine, r in runs.items():
    rows = [m for m in r.metrics if "d_loss" in m]
    steps = [m["step"] for m in rows]
    axes[0].plot(steps, [m["d_loss"] for m in rows], label=engine, alpha=0.8)
    axes[1].plot(steps, [m["fooled"] for m in rows], label=engine, alpha=0.8)
axes[0].set(title="D loss", xlabel="step")
axes[1].set(title="share of fakes that fool D", xlabel="step", ylim=(0, 1))
axes[0].legend()
fig.tight_layout()
plt.show()
""",
    ),
    ("md", "## What each engine's generator draws"),
    (
        "code",
        """
from gankit.viz.images import image_grid

show([image_grid(r.sample(64, seed=0)) for r in runs.values()], list(runs), height=3.6)
""",
    ),
    ("md", "Each run's card, with its own GIF and scores:"),
    ("code", 'runs["numpy"]'),
]
