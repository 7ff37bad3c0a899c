"""
Time, behind a seam that tests replace.

Rules:

1. Everything that waits or measures time in the SDK (limiter, retries, deadlines) goes
   through a `Clock`, never `time` or `asyncio.sleep` directly.
2. `monotonic()` measures intervals; `wall()` is only for reading HTTP dates.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    """
    What the SDK needs of time.
    """

    def monotonic(self) -> float:
        """
        Seconds on a clock that never goes back.
        """
        ...

    def wall(self) -> float:
        """
        Seconds since the Unix epoch, for HTTP dates.
        """
        ...

    async def sleep(self, seconds: float) -> None:
        """
        Wait `seconds` (at once when zero or negative). Cancellable.
        """
        ...


class SystemClock:
    """
    The real clock: `time.monotonic()`, `time.time()` and `asyncio.sleep`.
    """

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "SystemClock()"
