"""
The progress displays of the commands that export: a live rich bar on a terminal, plain lines
otherwise. rich is imported when a bar is drawn, not before: most commands draw none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from .._export import ExportProgress, ExportSnapshot, PlainProgress, format_duration
from ._shared import ProgressMode

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

__all__ = ["RichProgress", "make_progress"]


class RichProgress:
    """
    A live progress bar on a terminal: contacts done, messages, rate, 429s, ETA.

    Args:
        console: The rich console to draw on (stderr).
        title: The label before the bar.
    """

    def __init__(self, console: Console, *, title: str = "export") -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._columns = (
            TextColumn(f"[bold]{title}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("contacts"),
            TextColumn("{task.fields[failed]}"),
            TextColumn("[cyan]{task.fields[messages]:,} messages"),
            TextColumn("{task.fields[rate]:,.0f} msg/s"),
            TextColumn("[yellow]{task.fields[limited]:,} × 429"),
            TextColumn("ETA {task.fields[eta]}"),
        )
        self._console = console

    def update(self, snapshot: ExportSnapshot) -> None:
        from rich.progress import Progress

        if self._progress is None:
            self._progress = Progress(*self._columns, console=self._console, refresh_per_second=4)
            self._progress.start()
            self._task = self._progress.add_task("export", total=None, **self._fields(snapshot))
        assert self._task is not None
        self._progress.update(
            self._task,
            total=snapshot.contacts_total,
            completed=snapshot.contacts_finished,
            **self._fields(snapshot),
        )

    def close(self, snapshot: ExportSnapshot) -> None:
        self.update(snapshot)
        assert self._progress is not None
        self._progress.stop()

    @staticmethod
    def _fields(snapshot: ExportSnapshot) -> dict[str, Any]:
        return {
            "failed": f"[red]{snapshot.contacts_failed:,} failed"
            if snapshot.contacts_failed
            else "",
            "messages": snapshot.messages,
            "rate": snapshot.messages_per_second,
            "limited": snapshot.rate_limited,
            "eta": "-" if snapshot.eta is None else format_duration(snapshot.eta),
        }


def make_progress(
    mode: ProgressMode, *, every: float, stream: TextIO, title: str
) -> ExportProgress | None:
    """
    The progress display of `mode`: `auto` is a bar on a terminal and plain lines otherwise.
    """
    if mode == "none":
        return None
    if mode == "auto":
        mode = "bar" if stream.isatty() else "lines"
    if mode == "bar":
        from rich.console import Console

        return RichProgress(Console(file=stream), title=title)
    return PlainProgress(stream, every=every, prefix=f"{title}: ")
