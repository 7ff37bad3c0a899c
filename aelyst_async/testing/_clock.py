"""
A fake `Clock` for deterministic tests: time moves only when the test (or the code under
test, in auto-advance mode) says so.

Rules:

1. Time never goes back: `monotonic()` and `wall()` only ever grow, and `wall()` is always
   `monotonic()` plus the same offset.
2. Manual mode (the default): `sleep(s)` registers a deadline and blocks until a call to
   `advance()` moves time past it. `advance()` wakes sleepers one at a time in deadline order
   (ties in the order they started sleeping), setting the time to each one's deadline and
   letting the woken tasks run before it moves on, so a sleep started by a woken task inside
   the advanced span is woken within the same `advance()`.
3. Auto-advance mode: `sleep(s)` registers its deadline like a manual sleep, and the clock
   advances by itself: once the loop is quiet (every ready task has run, and a short real
   grace has let loopback I/O land, like Trio's autojump threshold), time jumps to the
   *earliest* pending deadline and wakes the sleepers due then, and so on. So concurrent
   sleeps overlap (time reaches the largest deadline, never the sum), and a long timer (a
   deadline, a probe timeout) never fires ahead of a shorter wait that would have made it
   moot.
4. Every sleep is recorded in `slept`, in both modes, in the order requested. A cancelled
   sleep moves no time and leaves no pending deadline.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math

from .._checks import check_bool, check_number, is_number
from .._exceptions import InvalidArgumentError

__all__ = ["FakeClock"]

_AUTO_ADVANCE_GRACE = 0.001
"""Real seconds the auto-advancing clock waits, once the loop is quiet, before it jumps: time
for loopback I/O in flight to land, so that a request is not overtaken by a jump."""

_SETTLE_ROUNDS = 20
"""Loop iterations `advance()` yields after each wake-up so that woken tasks can react (a
woken task may hand over to another through a future or two before it settles)."""


class FakeClock:
    """
    A `Clock` whose time moves only when told to.

    Args:
        start: The initial `monotonic()` time.
        epoch: The initial `wall()` time, in Unix seconds.
        auto_advance: When true, `sleep()` returns at once after moving time forward
            (rule 3); when false, it waits for `advance()` (rule 2).

    Example:
        ```python
        clock = FakeClock(auto_advance=True)
        async with FakeAelystServer(token="t") as server:
            server.faults.next(Fault.status(503))  # the client backs off, then retries
            async with AelystClient("t", base_url=server.url, clock=clock) as client:
                messages = [m async for m in client.messages.list("id:3")]
        assert 1 == len(clock.slept)  # the backoff, which took no real time
        ```
    """

    def __init__(
        self, *, start: float = 0.0, epoch: float = 1_700_000_000.0, auto_advance: bool = False
    ) -> None:
        self._now = check_number("FakeClock.start", start, low=-math.inf)
        self._wall_offset = check_number("FakeClock.epoch", epoch, low=-math.inf) - self._now
        self._auto_advance = check_bool("FakeClock.auto_advance", auto_advance)
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._jumper: asyncio.Task[None] | None = None
        self.slept: list[float] = []
        """Every duration passed to `sleep()`, in the order requested."""

    @property
    def auto_advance(self) -> bool:
        """
        Whether `sleep()` moves time by itself.
        """
        return self._auto_advance

    @property
    def sleepers(self) -> tuple[float, ...]:
        """
        The deadlines of the sleeps still pending (manual mode), earliest first.
        """
        return tuple(sorted(deadline for deadline, _, future in self._heap if not future.done()))

    def monotonic(self) -> float:
        """
        The fake monotonic time, in seconds.
        """
        return self._now

    def wall(self) -> float:
        """
        The fake wall-clock time, in Unix seconds.
        """
        return self._now + self._wall_offset

    async def sleep(self, seconds: float) -> None:
        """
        Wait `seconds` of fake time (rules 2 and 3). Cancellable.

        Args:
            seconds: How long to wait; zero or negative only yields to the loop once.
        """
        self.slept.append(seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self._now + seconds, next(self._order), future))
        if self._auto_advance and (self._jumper is None or self._jumper.done()):
            self._jumper = asyncio.get_running_loop().create_task(self._jump())
        try:
            await future
        finally:
            if not future.done() or future.cancelled():
                self._forget_cancelled()

    async def _jump(self) -> None:
        """
        Auto-advance (rule 3): while sleepers wait, jump to the earliest deadline when quiet.
        """
        while True:
            await self._settle()
            await asyncio.sleep(_AUTO_ADVANCE_GRACE)
            self._forget_cancelled()
            if not self._heap:
                return
            self._now = max(self._now, self._heap[0][0])
            while self._heap and self._heap[0][0] <= self._now:
                _, _, future = heapq.heappop(self._heap)
                if not future.done():
                    future.set_result(None)

    async def advance(self, seconds: float) -> None:
        """
        Move time forward by `seconds`, waking every sleeper whose deadline falls within.

        Ready tasks run first, so a task created just before the call has started its sleep;
        then each sleeper is woken at its own deadline, in order (rule 2).

        Args:
            seconds: How far to move; must be zero or more.

        Raises:
            InvalidArgumentError: When `seconds` is negative (time cannot go back) or not a
                number.
        """
        if is_number(seconds) and seconds < 0:
            raise InvalidArgumentError(f"time cannot go back: advance({seconds!r})")
        seconds = check_number("seconds", seconds, low=0)
        target = self._now + seconds
        await self._settle()
        while self._heap and self._heap[0][0] <= target:
            deadline, _, future = heapq.heappop(self._heap)
            if future.done():
                continue
            self._now = max(self._now, deadline)
            future.set_result(None)
            await self._settle()
        self._now = max(self._now, target)
        await self._settle()

    def _forget_cancelled(self) -> None:
        self._heap = [entry for entry in self._heap if not entry[2].done()]
        heapq.heapify(self._heap)

    @staticmethod
    async def _settle() -> None:
        for _ in range(_SETTLE_ROUNDS):
            await asyncio.sleep(0)

    def __repr__(self) -> str:
        mode = "auto" if self._auto_advance else "manual"
        return f"FakeClock(monotonic={self._now!r}, {mode}, sleepers={len(self.sleepers)})"
