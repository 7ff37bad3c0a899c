"""
What an export tells a progress display, and the plain-lines display for logs and pipes.
"""

from __future__ import annotations

from typing import Final, Protocol, TextIO

import attrs

from .._checks import check_clock, check_seconds
from .._clock import Clock

__all__ = [
    "PLAIN_PROGRESS_EVERY",
    "PROGRESS_TICK",
    "ExportProgress",
    "ExportSnapshot",
    "PlainProgress",
    "describe_progress",
    "format_duration",
]

PROGRESS_TICK: Final = 0.25
"""Seconds between two progress updates while nothing else happens."""
PLAIN_PROGRESS_EVERY: Final = 5.0
"""Seconds between two lines of `PlainProgress`, by default."""


@attrs.frozen(kw_only=True)
class ExportSnapshot:
    """
    Where an export stands, for a progress display. Counters are of the whole job, earlier
    runs of a resumed export included.

    Attributes:
        contacts_done: Contacts exported completely.
        contacts_failed: Contacts that failed.
        contacts_total: Contacts in the input, when known.
        contacts_active: Contacts being listed now.
        messages: Messages written.
        pages: Pages written.
        requests: HTTP requests sent, retries included.
        rate_limited: 429 answers received.
        elapsed: Seconds spent, all runs together.
        earlier_elapsed: Seconds the earlier runs of a resumed export spent (0 for a first
            run): this run's are `run_elapsed`.
        eta: Seconds left, estimated from this run's pace, when the total is known.
    """

    contacts_done: int
    contacts_failed: int
    contacts_total: int | None
    contacts_active: int
    messages: int
    pages: int
    requests: int
    rate_limited: int
    elapsed: float
    earlier_elapsed: float = 0.0
    eta: float | None = None

    @property
    def run_elapsed(self) -> float:
        """
        Seconds spent by this run alone.
        """
        return max(0.0, self.elapsed - self.earlier_elapsed)

    @property
    def contacts_finished(self) -> int:
        """
        Contacts done or failed.
        """
        return self.contacts_done + self.contacts_failed

    @property
    def messages_per_second(self) -> float:
        """
        Messages written per second, on average.
        """
        return self.messages / self.elapsed if self.elapsed > 0 else 0.0


class ExportProgress(Protocol):
    """
    What the export tells a progress display: `update` often, `close` once at the end.
    """

    def update(self, snapshot: ExportSnapshot) -> None:
        """
        Show where the export stands; called every fraction of a second.
        """
        ...

    def close(self, snapshot: ExportSnapshot) -> None:
        """
        Show the final state; called once, when the export stops for any reason.
        """
        ...


def format_duration(seconds: float) -> str:
    """
    `1:02:03`, `2:03` or `0:07`: a duration as a person reads it.
    """
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def describe_progress(snapshot: ExportSnapshot) -> str:
    """
    One line of progress, e.g. `120/300 contacts (1 failed), 6,000 messages, 410 msg/s, ...`.
    """
    total = "" if snapshot.contacts_total is None else f"/{snapshot.contacts_total:,}"
    failed = f" ({snapshot.contacts_failed:,} failed)" if snapshot.contacts_failed else ""
    eta = "" if snapshot.eta is None else f", ETA {format_duration(snapshot.eta)}"
    elapsed = format_duration(snapshot.run_elapsed)
    if snapshot.earlier_elapsed:
        elapsed += f" ({format_duration(snapshot.elapsed)} in all runs)"
    return (
        f"{snapshot.contacts_finished:,}{total} contacts{failed}, {snapshot.messages:,} messages, "
        f"{snapshot.messages_per_second:,.0f} msg/s, {snapshot.requests:,} requests, "
        f"{snapshot.rate_limited:,} rate-limited (429), "
        f"elapsed {elapsed}{eta}"
    )


class PlainProgress:
    """
    Progress as plain lines, one every `every` seconds and one at the end: for logs and pipes.

    Args:
        stream: Where the lines go (a text stream, e.g. `sys.stderr`).
        every: Seconds between two lines.
        clock: The clock that spaces them.
        prefix: Put before each line.

    Raises:
        InvalidArgumentError: When `every` is not a number of seconds, or `clock` not a clock.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        every: float = PLAIN_PROGRESS_EVERY,
        clock: Clock | None = None,
        prefix: str = "export: ",
    ) -> None:
        self._stream = stream
        self._every = check_seconds("PlainProgress.every", every, positive=False)
        self._clock: Clock = check_clock("PlainProgress.clock", clock)
        self._prefix = prefix
        self._last: float | None = None

    def update(self, snapshot: ExportSnapshot) -> None:
        now = self._clock.monotonic()
        if self._last is None:
            self._last = now  # the first line comes one interval in
        elif now - self._last >= self._every:
            self._last = now
            self._print(snapshot)

    def close(self, snapshot: ExportSnapshot) -> None:
        self._print(snapshot)

    def _print(self, snapshot: ExportSnapshot) -> None:
        print(self._prefix + describe_progress(snapshot), file=self._stream, flush=True)
