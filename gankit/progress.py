"""The progress bar of long work: steps, steps/s and the latest losses, warning lines above it
and the doctor's latest word below it."""

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


class TrainProgress:
    def __init__(self, total: int, done: int, enabled: bool = True) -> None:
        self.console = Console(stderr=True)
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
        self.progress.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.progress.__exit__(exc_type, exc, tb)

    def update(self, step: int, stats: dict[str, float], rate: float) -> None:
        losses = (
            f"D {stats['d_loss']:.3f} · G {stats['g_loss']:.3f} · "
            f"fooled {100 * stats['fooled']:.0f}%"
        )
        self.progress.update(self.task, completed=step, rate=f"{rate:,.0f} it/s", losses=losses)

    def note(self, text: str) -> None:
        """The line under the bar: the doctor's latest finding while training goes on. The
        bar is not transient, so the line stays on screen when training ends; with the bar
        off it is printed as a line of its own."""
        if self.enabled:
            self.progress.note = Text(text, style="yellow")
            self.progress.refresh()
        else:
            self.console.print(f"[yellow]{text}[/]", soft_wrap=True)

    def warn(self, text: str) -> None:
        """A line above the bar; printed even when the bar is off."""
        self.console.print(f"[yellow]warning:[/] {text}")
