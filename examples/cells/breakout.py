"""The cells of notebook breakout; see cells/__init__.py."""

from __future__ import annotations

from cells.common import INSTALL, PARAMETERS, SHOW

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
