"""The loss table: what each GAN loss *is*, once, for every engine.

An entry holds D's and G's objectives and the traits the rest of gankit reads instead of the
loss's name: whether D is a critic, whether its weights are clipped, whether the loss brings
WGAN-GP's gradient penalty, whether G's objective needs D on the real batch (relativistic
losses), how D's raw output reads as "realness" in [0, 1], and what the doctor may judge.

The objectives take an array namespace ``ops`` first (:data:`NUMPY`, or :func:`torch_ops`
for the torch engine, the plain loop and the Keras engine, which runs on torch's autograd),
then D's raw outputs on real packs and on fake packs, and return a scalar to minimise. G's
objective gets D's outputs on the real packs too (a relativistic loss compares the two;
the others ignore them, and engines pass ``None`` for them). The NumPy engine takes its
gradients from ``gankit/engines/numpy/losses.py``, one entry per loss here.

Adding a loss: an entry in :data:`LOSSES`, and its gradient there. Nothing else names it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import numpy as np

Realness = Literal["sigmoid", "clip", "critic", "relative"]

_THRESHOLD = 20.0  # torch's softplus is exactly x above 20


class NumpyOps:
    """The few array operations the objectives and realness use, for NumPy arrays, computed
    as torch computes them (softplus with its threshold, relu'(0) = 0)."""

    @staticmethod
    def softplus(x: np.ndarray) -> np.ndarray:
        return np.where(x > _THRESHOLD, x, np.log1p(np.exp(np.minimum(x, _THRESHOLD))))

    @staticmethod
    def relu(x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0.0)

    @staticmethod
    def sigmoid(x: np.ndarray) -> np.ndarray:
        return 0.5 + 0.5 * np.tanh(0.5 * x)  # = 1 / (1 + e^-x), without overflow

    @staticmethod
    def clip01(x: np.ndarray) -> np.ndarray:
        return np.clip(x, 0.0, 1.0)

    @staticmethod
    def share(mask: np.ndarray, like: np.ndarray) -> Any:
        return np.count_nonzero(mask) / mask.size

    @staticmethod
    def at_least(x: Any, low: float) -> Any:
        return max(x, low)

    @staticmethod
    def row_norms(g: np.ndarray) -> np.ndarray:
        return np.sqrt(np.einsum("ij,ij->i", g, g))

    @staticmethod
    def row_squares(g: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ij->i", g, g)


NUMPY = NumpyOps()


@cache
def torch_ops() -> Any:
    """The same operations for torch tensors (torch imported on first use, so the table
    itself loads without it: the doctor and ``gankit runs`` read traits only)."""
    import torch
    import torch.nn.functional as F

    class TorchOps:
        softplus = staticmethod(F.softplus)
        relu = staticmethod(F.relu)
        sigmoid = staticmethod(torch.sigmoid)

        @staticmethod
        def clip01(x: Any) -> Any:
            return x.clamp(0.0, 1.0)

        @staticmethod
        def share(mask: Any, like: Any) -> Any:
            return mask.to(like.dtype).mean()

        @staticmethod
        def at_least(x: Any, low: float) -> Any:
            return x.clamp_min(low)

        @staticmethod
        def row_norms(g: Any) -> Any:
            return g.flatten(1).norm(dim=1)

        @staticmethod
        def row_squares(g: Any) -> Any:
            return g.flatten(1).pow(2).sum(dim=1)

    return TorchOps()


Objective = Callable[[Any, Any, Any], Any]


@dataclass(frozen=True)
class Loss:
    """One GAN loss: its objectives and traits (the module docstring says who reads which)."""

    name: str
    summary: str  # one line for the docs and for error messages
    d: Objective  # D's objective (ops, real, fake) -> scalar to minimise
    g: Objective  # G's objective (ops, real or None, fake) -> scalar to minimise
    # realness: sigmoid = D's output is a logit; clip = its targets are 0 and 1; critic = no
    # absolute scale, so centred on the midpoint of the batch means and scaled by their gap;
    # relative = a logit of a difference, centred on that midpoint (see :func:`realness`)
    realness: Realness = "sigmoid"
    clip: bool = False  # D's weights clipped to [-loss.clip, loss.clip] after each step
    gradient_penalty: bool = False  # brings WGAN-GP's penalty (loss.gp_weight, gp_every)
    relativistic: bool = False  # G's objective needs D's outputs on the real packs
    # the doctor: whether the D loss has a fixed scale (a cross-entropy near ln 2 at balance,
    # lsgan near 0.25), so a swing can be measured against its level; a critic's loss and
    # hinge's G loss (minus the critic's mean) drift freely in healthy runs
    fixed_scale: bool = True
    saturating: bool = False  # G's gradient vanishes as D rejects fakes (the minimax loss)

    @property
    def critic(self) -> bool:
        """Whether D estimates a distance, not a probability (the Wasserstein losses)."""
        return self.realness == "critic"

    @property
    def separates(self) -> bool:
        """Whether D's realness has a fixed scale, so "D separates perfectly" means something
        (a critic's realness is relative to its own gap and sits near 0.88 / 0.12 always)."""
        return not self.critic

    @property
    def centred(self) -> bool:
        """Whether realness depends on the batch's means (so torchrun ranks must share them)."""
        return self.realness in ("critic", "relative")


def _d_bce(x: Any, r: Any, f: Any) -> Any:
    # -[log D(x) + log(1 - D(G(z)))] / 2 with D = sigmoid(logit): ln 2 when D cannot tell
    return 0.5 * (x.softplus(-r).mean() + x.softplus(f).mean())


def _g_bce(x: Any, r: Any, f: Any) -> Any:
    return x.softplus(-f).mean()  # non-saturating: maximise log D(G(z))


def _g_minimax(x: Any, r: Any, f: Any) -> Any:
    return -x.softplus(f).mean()  # minimise log(1 - D(G(z))): vanishes when D is sure


def _d_wgan(x: Any, r: Any, f: Any) -> Any:
    return f.mean() - r.mean()  # minus the critic's estimate of the Wasserstein-1 distance


def _g_wgan(x: Any, r: Any, f: Any) -> Any:
    return -f.mean()


def _d_hinge(x: Any, r: Any, f: Any) -> Any:
    return x.relu(1.0 - r).mean() + x.relu(1.0 + f).mean()


def _d_lsgan(x: Any, r: Any, f: Any) -> Any:
    return 0.5 * ((r - 1.0) ** 2).mean() + 0.5 * (f**2).mean()  # targets 1 real, 0 fake


def _g_lsgan(x: Any, r: Any, f: Any) -> Any:
    return 0.5 * ((f - 1.0) ** 2).mean()


def _d_rpgan(x: Any, r: Any, f: Any) -> Any:
    # each real pack against its own fake pack: -log sigmoid(D(x_i) - D(G(z_i)))
    return x.softplus(f - r).mean()


def _g_rpgan(x: Any, r: Any, f: Any) -> Any:
    return x.softplus(r - f).mean()


def _d_ragan(x: Any, r: Any, f: Any) -> Any:
    # each sample against the other side's mean: real more real than the average fake, and
    # fake less real than the average real
    return 0.5 * (x.softplus(f.mean() - r).mean() + x.softplus(f - r.mean()).mean())


def _g_ragan(x: Any, r: Any, f: Any) -> Any:
    return 0.5 * (x.softplus(r.mean() - f).mean() + x.softplus(r - f.mean()).mean())


LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        Loss("bce", "the non-saturating cross-entropy (Goodfellow et al.)", _d_bce, _g_bce),
        Loss(
            "minimax", "the original saturating cross-entropy", _d_bce, _g_minimax, saturating=True
        ),
        Loss(
            "wgan",
            "Wasserstein critic with weight clipping (Arjovsky et al.)",
            _d_wgan,
            _g_wgan,
            realness="critic",
            clip=True,
            fixed_scale=False,
        ),
        Loss(
            "wgan-gp",
            "Wasserstein critic with the gradient penalty (Gulrajani et al.)",
            _d_wgan,
            _g_wgan,
            realness="critic",
            gradient_penalty=True,
            fixed_scale=False,
        ),
        Loss(
            "hinge",
            "the hinge loss (Lim & Ye; Miyato et al.)",
            _d_hinge,
            _g_wgan,
            fixed_scale=False,
        ),
        Loss(
            "lsgan",
            "least squares, targets 1 and 0 (Mao et al.)",
            _d_lsgan,
            _g_lsgan,
            realness="clip",
        ),
        Loss(
            "rpgan",
            "relativistic pairing (Jolicoeur-Martineau; R3GAN with R1 + R2)",
            _d_rpgan,
            _g_rpgan,
            realness="relative",
            relativistic=True,
        ),
        Loss(
            "ragan",
            "relativistic average (Jolicoeur-Martineau)",
            _d_ragan,
            _g_ragan,
            realness="relative",
            relativistic=True,
        ),
    )
}


def get(name: str) -> Loss:
    """The table's entry; a ValueError naming the known ones for any other name."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(LOSSES)}") from None


def realness(loss: Loss, out: Any, centre_on: tuple[Any, Any], ops: Any = NUMPY) -> Any:
    """D's raw outputs mapped to [0, 1] "this is real", 0.5 on D's decision line.

    sigmoid: D's own probability (bce, minimax; hinge's margin sign at 0). clip: the output
    itself (lsgan's targets are 0 and 1). A critic (wgan, wgan-gp) has no absolute scale, so
    it is centred on the midpoint of its means on the real and the fake batch (``centre_on``)
    and scaled by their gap; a relativistic D's logit is a difference, so it is centred on
    that midpoint alone. The same function maps the training statistics, the snapshots'
    fields and the pictures, in every engine."""
    if loss.realness == "clip":
        return ops.clip01(out)
    if loss.realness == "sigmoid":
        return ops.sigmoid(out)
    assert centre_on is not None, "a centred realness needs the batches' means"
    m_real, m_fake = centre_on
    mid = 0.5 * (m_real + m_fake)
    if loss.realness == "relative":
        return ops.sigmoid(out - mid)
    gap = ops.at_least(abs(m_real - m_fake), 1e-8)
    return ops.sigmoid(4.0 * (out - mid) / gap)


def realness_stats(
    loss: Loss, real: Any, fake: Any, ops: Any = NUMPY, means: tuple[Any, Any] | None = None
) -> tuple[Any, Any, Any]:
    """(mean realness on the real packs, on the fake packs, share of fakes taken for real)
    from one D step's outputs. ``means``: the global batch's means on real and fake where
    ``real`` and ``fake`` are one rank's shard (torchrun); the shard's own otherwise."""
    if means is None and loss.centred:
        means = (real.mean(), fake.mean())
    r, f = realness(loss, real, means, ops), realness(loss, fake, means, ops)
    return r.mean(), f.mean(), ops.share(f > 0.5, f)
