"""The cells of notebook problems; see cells/__init__.py."""

from __future__ import annotations

from cells.common import INSTALL, PARAMETERS, SHOW

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
per layer, the variety of a fixed batch of samples, and the scores. It calls a collapse or a
failure to converge only once a run has trained half its preset's steps: before that every
GAN looks broken, so a shorter run reads "too early to judge" (with what it saw so far), and
these runs train at least that long.
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
        (
            "vanishing_fixed = vanishing.try_remedy(set=SHORTEN)\n"
            "before_after(vanishing, vanishing_fixed)"
        ),
    ),
    (
        "md",
        """
## 2. Failure to converge

Plain gradient steps on a game need not settle: on min over x, max over y of x·y they circle
the solution and spiral outwards. Train with plain SGD at a constant learning rate and take
away what damps the circles (R1, the moving average of G): the two players keep overshooting
each other, the losses do not settle, and the samples never sit on the modes. The curves
below show the game itself.
""",
    ),
    (
        "code",
        """
oscillating = gankit.train("ring8", set={"optim.name": "sgd", "optim.d_lr": 0.05,
                                         "optim.g_lr": 0.05, "optim.lr_decay": "none",
                                         "loss.r1": 0.0, "model.g_ema": 0.0, **SHORTEN})
findings(oscillating)
""",
    ),
    (
        "code",
        (
            "oscillating_fixed = oscillating.try_remedy(set=SHORTEN)\n"
            "before_after(oscillating, oscillating_fixed)"
        ),
    ),
    (
        "code",
        """
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2), sharey=True)
for ax, run, title in ((axes[0], oscillating, "before"), (axes[1], oscillating_fixed, "after")):
    rows = [m for m in run.metrics if "d_loss" in m]
    steps = [m["step"] for m in rows]
    ax.plot(steps, [m["d_loss"] for m in rows], label="D loss")
    ax.plot(steps, [m["g_loss"] for m in rows], label="G loss")
    ax.set(title=f"{title}: {run.name}", xlabel="step")
axes[0].legend()
fig.tight_layout()
plt.show()
""",
    ),
    (
        "md",
        """
## 3. Mode collapse

A vanilla GAN (no R1, no moving average of G, a constant learning rate) with batches of 8:
the generator finds a few modes that fool D and stays there.
""",
    ),
    (
        "code",
        """
collapsed = gankit.train("ring8", set={"train.batch_size": 8, "loss.r1": 0.0,
                                       "optim.lr_decay": "none", "model.g_ema": 0.0,
                                       **SHORTEN})
findings(collapsed)
""",
    ),
    (
        "code",
        (
            "collapsed_fixed = collapsed.try_remedy(set=SHORTEN)\n"
            "before_after(collapsed, collapsed_fixed)"
        ),
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
