"""The cells of notebook engines; see cells/__init__.py."""

from __future__ import annotations

from cells.common import INSTALL, PARAMETERS, SHOW

ENGINES = [
    (
        "md",
        """
# 03 · One GAN, three engines: PyTorch, Keras and NumPy

The fourth seed writes the same MLP GAN three times: in PyTorch, in Keras and from scratch in
NumPy. gankit has the three as engines of one training loop. They build the same networks
from the same config, draw the same batches and noise, write the same run directory and read
each other's checkpoints. Here the `digits` preset (the seed's MLP GAN on scikit-learn's 8x8
digits) trains once on each.
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
        f"{1000 * s['kid']['value']:.2f} (real {1000 * f['kid']['value']:.2f})",
        f"{s['precision_recall']['precision']:.2f} / {s['precision_recall']['recall']:.2f}",
        f"{c['coverage']} / 10, largest {100 * max(c['shares']):.0f} %",
        f"{minutes[engine]:.1f}",
        ", ".join(x.name for x in r.findings) or "no problem found",
    ])
table(["engine", "Fréchet distance", "KID x 1000", "precision / recall", "digit classes",
       "minutes", "doctor"], rows)
""",
    ),
    (
        "md",
        """
The three start from the same weights and see the same batches, so their first steps agree
to float rounding; over thousands of steps the rounding grows (a GAN is a chaotic system), and
what stays the same is the quality the scores measure. The losses of the first logged steps:
""",
    ),
    (
        "code",
        """
first = {e: [m for m in r.metrics if "d_loss" in m][:3] for e, r in runs.items()}
rows = [[m["step"]] + [f"{first[e][i]['d_loss']:.6f}" for e in runs]
        for i, m in enumerate(first["torch"])]
table(["step", *(f"D loss, {e}" for e in runs)], rows)

fig, ax = plt.subplots(figsize=(9, 3.2))
for engine, r in runs.items():
    rows = [m for m in r.metrics if "d_loss" in m]
    ax.plot([m["step"] for m in rows], [m["d_loss"] for m in rows], label=engine, alpha=0.8)
ax.set(title="D loss over training", xlabel="step")
ax.legend()
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
