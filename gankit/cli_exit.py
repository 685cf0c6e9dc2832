"""How a ``gankit`` command ends: a user's error in one sentence and exit code 2, a run
that diverged with 3, a Ctrl-C in one line and 130, gankit's own warnings as one line."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import TextIO

import typer
from rich.console import Console
from rich.markup import escape

from gankit.errors import Diverged, Interrupted, UserError
from gankit.torchrun import is_lead

err = Console(stderr=True)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """gankit's own warnings (skipped image files, an option an engine ignores) as one line on
    stderr, like its errors; other packages' keep Python's format, which says where they arose."""
    if Path(filename).resolve().is_relative_to(Path(__file__).resolve().parent):
        if is_lead():
            err.print(
                f"[yellow]warning:[/] {escape(str(message))}", highlight=False, soft_wrap=True
            )
        return
    (file or sys.stderr).write(warnings.formatwarning(message, category, filename, lineno, line))


def run_app(app: typer.Typer, argv: list[str] | None = None) -> None:
    """Typer reports usage errors itself (exit 2); ours are caught here and end the same way."""
    warnings.showwarning = _show_warning
    try:
        app(args=argv)
    except UserError as e:
        if is_lead():  # every torchrun rank stops with the same sentence: say it once
            err.print(f"[red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except Diverged as e:
        if is_lead():
            err.print(f"[red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(3)
    except Interrupted as e:
        _ignore_ctrl_c()
        if is_lead():
            err.print(f"[yellow]{e}[/]", highlight=False, soft_wrap=True)
        sys.exit(130)
    except KeyboardInterrupt:  # a Ctrl-C outside training's own handling: one line
        _said_interrupted()
        sys.exit(130)
    except SystemExit as e:  # typer turns a Ctrl-C into a silent exit 130: say so
        if e.code == 130 and _from_ctrl_c(e):
            _said_interrupted()
        raise


def _ignore_ctrl_c() -> None:
    """Once the one line is said, a further Ctrl-C (a double press) must not cut the exit
    short: Python would end by the signal instead of exit code 130."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _from_ctrl_c(e: BaseException) -> bool:
    seen: BaseException | None = e
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _said_interrupted() -> None:
    """Ctrl-C before training began (data loading, building the networks) or in a command
    that only reads a run: whatever it wrote, it wrote whole or not at all."""
    _ignore_ctrl_c()
    if is_lead():
        err.print("[yellow]interrupted; every file written so far is whole.[/]", highlight=False)
