"""What several test files share: the `gankit` command run as a user runs it, and the --set
flags of a run small enough to train in seconds."""

import os
import subprocess
import sys
from pathlib import Path

from conftest import TINY_NETS, as_cli

# the --set flags of a run that trains in seconds (conftest's tiny nets, 20 steps)
TINY = [
    *as_cli([
        *TINY_NETS, "train.steps=20", "train.log_every=5", "train.snapshot_every=10",
        "viz.grid=16", "viz.points=100", "eval.n_samples=300", "eval.w1_points=300",
    ]),
    "--quiet",
]  # fmt: skip


def gankit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m gankit ARGS`` in ``cwd``: its exit code, stdout and stderr."""
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "gankit", *args], cwd=cwd, capture_output=True, text=True,
        env=env, timeout=300,
    )  # fmt: skip
