"""The cells of the example notebooks, one list per notebook: ("md" | "code" | "parameters",
source). examples/build.py writes and runs them; edit here, not in the .ipynb files."""

from __future__ import annotations

INSTALL = (
    "code",
    """
# gankit, installed first when this kernel lacks it (a fresh hosted notebook): from the checkout
# this notebook lies in, or from GANKIT_SOURCE (a folder, a wheel or a git address of gankit)
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("gankit") is None:
    source = os.environ.get("GANKIT_SOURCE", "..")
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

SINE = [
    (
        "md",
        """
# 01 · A GAN learns a sine wave

The first seed of gankit (*Basic Generative Adversarial Networks*, Ben Phillips) trains a
generator to produce points of a 2-D sine wave with noise, and watches it learn in a GIF:
**real points orange, generated points green where they fool the discriminator, red where
they don't**. It then tries the generator's random input at sizes 1, 20 and 100.

This notebook does the same with gankit's `sine` preset, and adds what the seed could not
show: scores against the real data's own floor, the doctor's verdict, and the three latent
sizes side by side in one GIF.
""",
    ),
    INSTALL,
    PARAMETERS,
    SHOW,
    (
        "md",
        """
## One run

`gankit.train` is `gankit train` from Python: it trains, scores, diagnoses and draws the run,
and returns a `Run`. The last line of a cell shows it as a card: the training GIF (the
discriminator's opinion as the background heat-map), the scores beside the **real data**
column (the same score of real held-out points: what a perfect generator would get), the
doctor's verdict, and links to the run's `report.html` and its directory.
""",
    ),
    ("code", 'run = gankit.train("sine", set=SHORTEN)\nrun'),
    (
        "md",
        """
## Samples and the discriminator, from Python

`run.sample(n)` draws from the trained generator; `run.critic(x)` is the discriminator's raw
output; `run.real(n)` draws real training points. Here the generated points are coloured by
what the discriminator thinks of them.
""",
    ),
    (
        "code",
        """
x, real = run.sample(2000), run.real(2000)
fig, ax = plt.subplots(figsize=(8, 3.6))
ax.scatter(*real.T, s=2, c="tab:orange", label="real")
dots = ax.scatter(*x.T, s=2, c=run.critic(x), cmap="viridis", label="generated")
fig.colorbar(dots, ax=ax, label="D(x), raw output")
ax.legend(loc="upper right", markerscale=4)
ax.set_title(f"{run.name}: 2,000 samples at step {run.step:,}")
plt.show()
""",
    ),
    (
        "md",
        """
## The seed's experiment: a latent of 1, 20 and 100

`gankit.sweep` trains one run per value and writes a GIF of them side by side, at the same
steps, from the same seed. Everything else is the preset.
""",
    ),
    (
        "code",
        """
from gankit.notebook import show_gif

runs = gankit.sweep("sine", grid={"model.latent_dim": [1, 20, 100]}, set=SHORTEN)
show_gif(runs[0].path.parent / "sweep.gif")  # lightened for the notebook: 30 of its frames
""",
    ),
    (
        "code",
        """
rows = []
for r in runs:
    s, f = r.scores["scores"], r.scores["real_floor"]
    rows.append([
        r.config.model.latent_dim,
        f"{s['sine']['curve_distance']:.4f} (real {f['sine']['curve_distance']:.4f})",
        f"{100 * s['sine']['x_coverage']:.0f} %",
        f"{s['w1']['value']:.3f} (real {f['w1']['value']:.3f})",
        ", ".join(x.name for x in r.findings) or "no problem found",
    ])
table(["latent", "distance to the curve", "x covered", "Wasserstein-1", "doctor"], rows)
""",
    ),
    (
        "md",
        """
How the three runs got there: the **diversity** of a fixed batch of samples (1 is the real
data's spread; a collapsing generator falls towards 0) and the share of generated points that
fool the discriminator (a balanced game sits near one half).
""",
    ),
    (
        "code",
        """
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
for r in runs:
    rows = [m for m in r.metrics if "diversity" in m]
    steps = [m["step"] for m in rows]
    label = f"latent {r.config.model.latent_dim}"
    axes[0].plot(steps, [m["diversity"] for m in rows], label=label)
    axes[1].plot(steps, [m["fooled"] for m in rows], label=label)
axes[0].set(title="sample diversity (real data = 1)", xlabel="step")
axes[1].set(title="share of fakes that fool D", xlabel="step", ylim=(0, 1))
axes[0].legend()
fig.tight_layout()
plt.show()
""",
    ),
    (
        "md",
        """
From the shell the same is `gankit train sine` and
`gankit sweep sine --grid model.latent_dim=1,20,100`; `gankit compare` puts any runs side by
side on one page (the sweep wrote one: `compare.html` in its folder).
""",
    ),
]

BREAKOUT = [
    (
        "md",
        """
# 02 · A GAN learns Atari Breakout

The second seed (*GAN.ipynb*: "open it in Colab and run each cell") trains a GAN on frames of
Atari Breakout and shows a real frame beside a generated one after every epoch; its
companion tries a Wasserstein GAN. gankit collects the frames from the game itself
(gymnasium + ale-py, a random policy that presses FIRE to serve the ball), caches them, and
trains the `breakout-fast` preset: the frames at half size (105x80), sized for a laptop CPU
(about 8 minutes on two cores). The seed's full-size network is the `breakout` preset and the
WGAN done right (a critic, a gradient penalty) is `breakout-wgan`: both want a GPU.
""",
    ),
    INSTALL,
    PARAMETERS,
    SHOW,
    (
        "md",
        """
## Train

The first run collects the frames (about 15 seconds of play), then trains. The card shows the
grid of a fixed batch of noise over training, the image scores (Fréchet distance and KID in a
feature space trained on the frames, precision/recall, density/coverage) beside the same
scores of real held-out frames, and the doctor's verdict.
""",
    ),
    ("code", 'run = gankit.train("breakout-fast", set=SHORTEN)\nrun'),
    ("md", "## Frames from the game\n\nSixteen of the real frames the GAN learned from."),
    (
        "code",
        """
from gankit.viz.images import image_grid

show([image_grid(run.real(16, seed=1))], ["real Breakout frames (random policy, FIRE to serve)"],
     height=5)
""",
    ),
    (
        "md",
        """
## A real frame beside a generated one, after each snapshot

What the seed showed after every epoch: here eight of the run's snapshots, spread evenly over
training (every snapshot is in `snapshots/step_*.png`, and on the slider of `report.html`).
""",
    ),
    (
        "code",
        """
pictures = sorted(run.path.glob("snapshots/step_*.png"))
chosen = [pictures[round(i)] for i in np.linspace(0, len(pictures) - 1, min(8, len(pictures)))]
for pair in (chosen[:4], chosen[4:]):
    if pair:
        show(pair, [f"step {int(p.stem.split('_')[1]):,}" for p in pair], height=2.6)
""",
    ),
    ("md", "## Sixteen new frames\n\nFrom the trained generator (its moving average of weights)."),
    (
        "code",
        'show([image_grid(run.sample(16, seed=0))], [f"generated at step {run.step:,}"], height=5)',
    ),
    (
        "md",
        """
From the shell: `gankit collect breakout`, `gankit train breakout-fast`, and
`gankit sample RUN -n 6 --interpolate --out walk.gif` for a walk through the latent space.
""",
    ),
]

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

PROBLEMS = [
    (
        "md",
        """
# 04 · The common problems: vanishing gradients, failure to converge, mode collapse

The fifth seed explains the three problems every GAN user meets. This notebook makes each one
happen on the ring of eight Gaussians (`ring8`, whose scores say exactly which modes the
generator covers), lets gankit's doctor name it with its evidence, then applies the doctor's
first remedy for its first finding (`run.try_remedy()`) and shows the pictures before and
after.

The doctor reads only the run directory: the logged losses, D's outputs, the gradient norms
per layer, the variety of a fixed batch of samples, and the scores.
""",
    ),
    INSTALL,
    PARAMETERS,
    SHOW,
    (
        "code",
        '''
def findings(run):
    """The doctor's words on a run: each finding, its evidence and its first remedy."""
    for f in run.findings:
        evidence = ", ".join(f"{k} = {v:.3g}" for k, v in f.evidence.items())
        print(f"{f.severity}: {f.name} (steps {f.steps[0]:,}-{f.steps[1]:,})\\n  {f.summary}")
        print(f"  evidence: {evidence}\\n  first remedy: {f.remedies[0]}\\n")
    if not run.findings:
        print("no problem found")


def before_after(broken, fixed):
    show([broken.path / "snapshots/last.png", fixed.path / "snapshots/last.png"],
         [f"before: {broken.name}", f"after: {fixed.name}"], height=3.6)
    rows = []
    for label, run in (("before", broken), ("after", fixed)):
        m = run.scores["scores"]["modes"]
        kl = m["reverse_kl"]  # infinite (stored as null) when no sample lands on any mode
        rows.append([label, m["modes"], f"{100 * m['high_quality']:.1f} %",
                     "inf" if kl is None else f"{kl:.3f}"])
    table(["", "modes of 8", "high quality", "reverse KL"], rows)
''',
    ),
    (
        "md",
        """
## 1. Vanishing gradients

The original *minimax* loss, log(1 - D(G(z))), goes flat when the discriminator is sure: the
generator's gradient vanishes exactly when it needs it. Give D five steps per G step and a
higher learning rate, take away R1, and D wins within a few hundred steps.
""",
    ),
    (
        "code",
        """
vanishing = gankit.train("ring8", set={"loss.name": "minimax", "loss.r1": 0.0,
                                       "optim.d_lr": 0.01, "train.d_steps": 5, **SHORTEN})
findings(vanishing)
""",
    ),
    (
        "code",
        ("vanishing_fixed = vanishing.try_remedy()\nbefore_after(vanishing, vanishing_fixed)"),
    ),
    (
        "md",
        """
## 2. Failure to converge

With learning rates seven times the preset's, held constant, the two players keep overshooting
each other: the losses oscillate instead of settling, and the samples keep moving.
""",
    ),
    (
        "code",
        """
oscillating = gankit.train("ring8", set={"optim.d_lr": 0.02, "optim.g_lr": 0.02,
                                         "optim.lr_decay": "none", **SHORTEN})
findings(oscillating)
""",
    ),
    (
        "code",
        (
            "oscillating_fixed = oscillating.try_remedy()\n"
            "before_after(oscillating, oscillating_fixed)"
        ),
    ),
    (
        "md",
        """
## 3. Mode collapse

A vanilla GAN (no R1, no moving average of G, a constant learning rate) with batches of 16:
the generator finds a few modes that fool D and stays there.
""",
    ),
    (
        "code",
        """
collapsed = gankit.train("ring8", set={"train.batch_size": 16, "loss.r1": 0.0,
                                       "optim.lr_decay": "none", "model.g_ema": 0.0,
                                       "train.steps": 4000, **SHORTEN})
findings(collapsed)
""",
    ),
    (
        "code",
        ("collapsed_fixed = collapsed.try_remedy()\nbefore_after(collapsed, collapsed_fixed)"),
    ),
    (
        "md",
        """
The card of a broken run shows the doctor's findings beside its scores and GIF:
""",
    ),
    ("code", "collapsed"),
    (
        "md",
        """
From the shell: `gankit doctor RUN` prints the same findings, and each remedy is a command to
paste. docs/problems.md explains the three problems and how the doctor detects each;
docs/benchmarks/doctor.md measures how often it is right.
""",
    ),
]

FOLDER = [
    (
        "md",
        """
# 05 · A GAN on your own pictures

`gankit train folder --set data.path=faces/` trains on every picture in a folder: PNG, JPEG,
BMP and WebP, grayscale, RGB or RGBA, any size (squashed to the preset's size; unreadable
files are skipped and counted in one warning). In Python it is one call too.

To make this notebook run anywhere without a download, the next cell makes a folder of
pictures to stand in for yours: 1,500 crops of the two photographs scikit-learn ships, saved
as PNG and JPEG files. **With your own folder, skip that cell and set `FOLDER`.**
""",
    ),
    INSTALL,
    (
        "parameters",
        """
# Config keys laid over the run below; empty: the run as its outputs were made. The test
# suite shortens it here.
SHORTEN = {}
FOLDER = "my_pictures"  # your folder of pictures
""",
    ),
    SHOW,
    (
        "code",
        """
from pathlib import Path

from PIL import Image as PILImage
from sklearn.datasets import load_sample_images

rng = np.random.default_rng(0)
folder = Path(FOLDER)
if not folder.exists():  # the stand-in for your pictures: crops of two photographs
    folder.mkdir(parents=True)
    photos = load_sample_images().images  # a temple in China and a flower, 427x640 each
    for i in range(1500):
        photo = photos[i % 2]
        size = int(rng.integers(96, 200))
        y, x = rng.integers(0, photo.shape[0] - size), rng.integers(0, photo.shape[1] - size)
        crop = PILImage.fromarray(photo[y:y + size, x:x + size])
        crop.save(folder / (f"{i:04d}.png" if i % 3 else f"{i:04d}.jpg"))
files = sorted(folder.iterdir())
print(f"{len(files)} pictures in {folder}/")
show([plt.imread(p) for p in files[:6]], [p.name for p in files[:6]], height=2)
""",
    ),
    (
        "md",
        """
## Train

The `folder` preset is a 64x64 DCGAN with DiffAugment (a small folder needs augmentation to
keep D from memorising it), R1 and a moving average of G: 20,000 steps, a job for a GPU. On a
CPU this notebook trains it at 32x32 with three layers instead of four, for 3,000 steps
(about 10 minutes on two cores).
""",
    ),
    (
        "code",
        """
run = gankit.train(
    "folder",
    data={"path": FOLDER, "size": [32, 32]},
    model={"g_channels": [256, 128, 64], "d_channels": [64, 128, 256]},
    train={"steps": 3000, "snapshot_every": 250, "checkpoint_every": 1000},
    set=SHORTEN,
)
run
""",
    ),
    ("md", "## Real beside generated"),
    (
        "code",
        """
from gankit.viz.images import image_grid

show([image_grid(run.real(36, seed=1)), image_grid(run.sample(36, seed=0))],
     ["your pictures", f"generated at step {run.step:,}"], height=4.5)
""",
    ),
    (
        "md",
        """
## Keep the generator

`run.export(DIR)` (`gankit export RUN --out DIR`) writes the generator alone (safetensors), its
config and a model card; `gankit.load_generator(DIR)` samples from it without the run.
""",
    ),
    (
        "code",
        """
export = run.export(run.path.parent / f"{run.name}-generator")
generator = gankit.load_generator(export)
show([image_grid(generator.sample(16, seed=3))], [f"from {export.name}"], height=3.5)
""",
    ),
]

NOTEBOOKS = {
    "01-sine": SINE,
    "02-breakout": BREAKOUT,
    "03-three-engines": ENGINES,
    "04-common-problems": PROBLEMS,
    "05-your-images": FOLDER,
}
