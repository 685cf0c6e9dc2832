"""The cells of notebook sine; see cells/__init__.py."""

from __future__ import annotations

from cells.common import INSTALL, PARAMETERS, SHOW

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
