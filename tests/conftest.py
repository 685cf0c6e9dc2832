"""Shared by the test files: the configs small enough to train in seconds.

Each is a list of ``section.key=value`` overrides (``load_config(preset, [...])``);
:func:`as_cli` turns one into the ``--set`` flags of the ``gankit`` command. A test that
needs something smaller or larger adds its own overrides after these."""

# MLPs of two hidden layers of 16 and batches of 32: the engines' unit and parity tests
TINY_NETS = ["model.g_hidden=[16,16]", "model.d_hidden=[16,16]", "train.batch_size=32"]
# a few hundred toy points instead of 100,000
SMALL_DATA = ["data.n=500", "data.holdout=50"]
# logging, snapshots, checkpoints and scores every few steps, on few samples
QUICK_OUTPUTS = [
    "train.log_every=5", "train.snapshot_every=10", "train.checkpoint_every=10", "viz.grid=8",
    "viz.points=20", "eval.n_samples=200", "eval.w1_points=200",
]  # fmt: skip
# a convolutional G and D of a few channels, on one thread: the image engines' tests
TINY_CONV = [
    "train.batch_size=8", "model.latent_dim=8", "model.g_channels=[8]",
    "model.d_channels=[4,8]", "train.threads=1",
]  # fmt: skip


def without(*fast_paths: str) -> str:
    """The override that turns the torch engine's named fast paths off, the others on."""
    from gankit.config import FAST_PATHS

    keep = ", ".join(f'"{p}"' for p in FAST_PATHS if p not in fast_paths)
    return f"train.fast_paths=[{keep}]"


def as_cli(overrides: list[str]) -> list[str]:
    """``["a.b=1", ...]`` -> ``["--set", "a.b=1", ...]``."""
    return [word for o in overrides for word in ("--set", o)]
