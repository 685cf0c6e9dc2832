"""What several test files share: the `gankit` command run as a user runs it, and the --set
flags of a run small enough to train in seconds."""

import os
import signal
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


def gankit_in_process(capsys, *args: str) -> tuple[int, str, str]:
    """``gankit ARGS`` called in this process (no interpreter start, no torch import: a
    second or more saved a call), as ``(exit code, stdout, stderr)``; run it in the test's
    directory (monkeypatch.chdir)."""
    import warnings

    from gankit import cli

    shown = warnings.showwarning  # main() installs gankit's one-line warnings: put it back
    ctrl_c = signal.getsignal(signal.SIGINT)  # and ignores Ctrl-C once it said it stops
    capsys.readouterr()
    try:
        cli.main(list(args))
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    finally:
        warnings.showwarning = shown
        signal.signal(signal.SIGINT, ctrl_c)
    out = capsys.readouterr()
    return code, out.out, out.err


def gankit_here(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """:func:`gankit` called in this process, in ``cwd``: the same exit code, stdout and
    stderr (one-line warnings and errors, as main() prints them) without an interpreter
    and torch to start for each call."""
    import contextlib
    import io
    import warnings

    from gankit import cli

    out, err = io.StringIO(), io.StringIO()
    shown, here, code = warnings.showwarning, os.getcwd(), 0
    ctrl_c = signal.getsignal(signal.SIGINT)
    os.chdir(cwd)
    try:
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("always")  # every call warns as a fresh process would
            try:
                cli.main(list(args))
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
    finally:
        warnings.showwarning = shown  # main() installs gankit's one-line warnings
        signal.signal(signal.SIGINT, ctrl_c)  # and ignores Ctrl-C once it said it stops
        os.chdir(here)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())
