"""The progress bar of long work: steps, steps/s (seconds a step when slower) and the latest
losses, warning lines above it and the doctor's latest word below it; in a Jupyter kernel the
same as live HTML (gankit.notebook), since a terminal bar's escape codes print there as text."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType

from rich.console import Console, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text


class _ProgressWithNote(Progress):
    """A rich Progress that draws one more line under its bars (rich's documented way to
    change what a Progress shows is overriding get_renderables)."""

    note: Text | None = None

    def get_renderables(self) -> Iterable[RenderableType]:
        yield from super().get_renderables()
        if self.note is not None:
            yield self.note


def rate_text(rate: float) -> str:
    """Iterations a second, or seconds an iteration below one a second (a folder run on a CPU
    would otherwise show "0 it/s")."""
    if rate >= 1:
        return f"{rate:,.0f} it/s"
    return f"{1 / max(rate, 1e-9):,.1f} s/it"


class TrainProgress:
    def __init__(self, total: int, done: int, enabled: bool = True) -> None:
        from gankit.notebook import NotebookProgress, in_notebook

        self.console = Console(stderr=True)
        self.notebook = NotebookProgress(total, done) if enabled and in_notebook() else None
        enabled = enabled and self.notebook is None
        self.enabled = enabled
        self.progress = _ProgressWithNote(
            TextColumn("[bold]train"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[losses]}"),
            TimeRemainingColumn(),
            console=self.console,
            disable=not enabled,
            transient=False,
        )
        self.task = self.progress.add_task("train", total=total, completed=done, rate="", losses="")

    def __enter__(self) -> TrainProgress:
        if self.notebook is not None:
            self.notebook.__enter__()
        self.progress.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.progress.__exit__(exc_type, exc, tb)
        if self.notebook is not None:
            self.notebook.__exit__(exc_type, exc, tb)

    def update(self, step: int, stats: dict[str, float], rate: float) -> None:
        losses = (
            f"D {stats['d_loss']:.3f} · G {stats['g_loss']:.3f} · "
            f"fooled {100 * stats['fooled']:.0f}%"
        )
        if self.notebook is not None:
            self.notebook.update(step, rate_text(rate), losses)
        self.progress.update(self.task, completed=step, rate=rate_text(rate), losses=losses)

    def note(self, text: str) -> None:
        """The line under the bar: the doctor's latest finding while training goes on. The
        bar is not transient, so the line stays on screen when training ends; with the bar
        off it is printed as a line of its own."""
        if self.notebook is not None:
            self.notebook.note(text)
        elif self.enabled:
            self.progress.note = Text(text, style="yellow")
            self.progress.refresh()
        else:
            self.console.print(f"[yellow]{text}[/]", soft_wrap=True)

    def warn(self, text: str) -> None:
        """A line above the bar; printed even when the bar is off."""
        self.console.print(f"[yellow]warning:[/] {text}", soft_wrap=True)  # one line, as errors
