"""The progress bar of long work: steps, steps/s and the latest losses, and warning lines."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class TrainProgress:
    def __init__(self, total: int, done: int, enabled: bool = True) -> None:
        self.console = Console(stderr=True)
        self.enabled = enabled
        self.progress = Progress(
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

    def warn(self, text: str) -> None:
        """A line above the bar; printed even when the bar is off."""
        self.console.print(f"[yellow]warning:[/] {text}")
