"""Pictures in docs/ that are computed rather than trained.

    .venv/bin/python -m benchmarks.figures

Writes docs/images/problems/g-gradients.png: how strongly each of G's BCE losses pushes a
fake, as a function of how confident D is that it is fake. The gradients come from
autograd through gankit's own loss functions, so the picture shows what training does.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from gankit.losses import LOSSES, torch_ops

OUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "problems"


def g_gradients() -> Path:
    """|d loss / d logit| for one fake, minimax against non-saturating, over D(G(z))."""
    d_of_fake = torch.logspace(-6, 0, 400, dtype=torch.float64)[:-1]  # D(G(z)) in (0, 1)
    fig, ax = plt.subplots(figsize=(6.4, 3.6), constrained_layout=True)
    for loss, label, color in (
        (LOSSES["minimax"], "minimax: minimise log(1 - D(G(z)))", "#c0392b"),
        (LOSSES["bce"], "non-saturating: maximise log D(G(z))", "#27ae60"),
    ):
        logit = torch.logit(d_of_fake).requires_grad_(True)
        # each fake's own gradient: the losses average over the batch, so scale back up
        (grad,) = torch.autograd.grad(loss.g(torch_ops(), None, logit) * logit.numel(), logit)
        ax.loglog(d_of_fake, grad.abs().detach(), color=color, lw=2, label=label)
    ax.axvspan(1e-6, 1e-2, color="#eeeeee", zorder=0)
    ax.text(1.5e-6, 2e-5, "D rejects the fakes\nwith confidence", fontsize=9, va="bottom")
    ax.set_xlabel("D(G(z)): D's probability that a fake is real")
    ax.set_ylabel("|gradient| reaching G, per fake")
    ax.set_title("Why the original minimax loss starves G when D wins")
    ax.set_ylim(5e-7, 3)
    ax.legend(loc="lower right", fontsize=9)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "g-gradients.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    print(g_gradients())
