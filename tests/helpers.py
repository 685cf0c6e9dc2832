"""What several test files share: the `gankit` command run as a user runs it, and the --set
flags of a run small enough to train in seconds."""

import os
import subprocess
import sys
from pathlib import Path

TINY = [
    "--set", "model.g_hidden=[16,16]", "--set", "model.d_hidden=[16,16]",
    "--set", "train.batch_size=32", "--set", "train.steps=20", "--set", "train.log_every=5",
    "--set", "train.snapshot_every=10", "--set", "viz.grid=16", "--set", "viz.points=100",
    "--set", "eval.n_samples=300", "--set", "eval.w1_points=300", "--quiet",
]  # fmt: skip


def gankit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m gankit ARGS`` in ``cwd``: its exit code, stdout and stderr."""
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "gankit", *args], cwd=cwd, capture_output=True, text=True,
        env=env, timeout=300,
    )  # fmt: skip
