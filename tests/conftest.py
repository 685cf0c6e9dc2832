"""Shared by the test files: the configs small enough to train in seconds, and the headless
Chromium the browser tests drive.

Each is a list of ``section.key=value`` overrides (``load_config(preset, [...])``);
:func:`as_cli` turns one into the ``--set`` flags of the ``gankit`` command. A test that
needs something smaller or larger adds its own overrides after these."""

from pathlib import Path

import pytest

# Debian's chromium (``make browser``), driven by Playwright; never a downloaded browser
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

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


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for one test module; the module is skipped where it is missing."""
    if not CHROMIUM.is_file():
        pytest.skip("headless Chromium is not installed at /usr/bin/chromium (make browser)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
