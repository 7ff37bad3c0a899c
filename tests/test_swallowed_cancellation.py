"""
Stopping when the caller's own code swallows a cancellation: a transport, rate limiter or clock
that catches `asyncio.CancelledError` (as `asyncio.wait_for` before Python 3.12 can, when the
cancellation arrives as the result does). A `list_many` stream's `aclose()` still returns, no
request is sent after it, and nothing is yielded after it; an export still ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any, Literal

import pytest

from aelyst_async import (
    AelystClient,
    ExportSnapshot,
    MessageStream,
    RateLimit,
    Response,
    Timeout,
    _tasks,
    run_export,
)
from aelyst_async._instrument import contact_hash
from aelyst_async._tasks import STOP_ROUNDS
from aelyst_async.testing import Dataset, FakeAelystServer, FakeClock

from .helpers import HttpxTransport, sdk_tasks

TOKEN = "close-token-7f21"
IDENTIFIERS = ["id:1", "id:2", "id:3", "id:4"]

pytestmark = pytest.mark.aelyst_server(token=TOKEN, dataset=Dataset(seed=5, contacts=6))

LOOP_ITERATIONS = 2000
"""Loop iterations a test gives `aclose()` before calling it hung (it needs far fewer)."""


@pytest.fixture(autouse=True)
def no_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    A cancelled task is cancelled again without waiting a second of real time for it: these
    tests hold tasks that swallow every cancellation (the grace itself is tested below).
    """
    monkeypatch.setattr(_tasks, "STOP_GRACE", 0.0)


class Hold:
    """
    Holds a call of the caller's code until the test releases it, swallowing cancellations:
    `one` swallows the first and returns at once (as `asyncio.wait_for` before Python 3.12
    does when the result arrives with the cancellation), `every` swallows each one and goes
    on holding.
    """

    def __init__(self, swallows: Literal["one", "every"]) -> None:
        self.swallows = swallows
        self.held: asyncio.Queue[str] = asyncio.Queue()
        self.release = asyncio.Event()
        self.swallowed = 0

    async def __call__(self, what: str) -> None:
        self.held.put_nowait(what)
        while not self.release.is_set():
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.swallowed += 1
                if self.swallows == "one":
                    return


class HoldingTransport(HttpxTransport):
    """
    A user's transport that sends each request, then holds the answer of `contact`'s (if any).
    """

    def __init__(self, hold: Hold, contact: str | None) -> None:
        super().__init__()
        self.hold = hold
        self.contact = contact

    async def get(
        self, url: str, headers: Mapping[str, str], *, timeout: Timeout, remaining: float | None
    ) -> Response:
        response = await super().get(url, headers, timeout=timeout, remaining=remaining)
        if self.contact is not None and f"/contact/{self.contact}/" in url:
            await self.hold(url)
        return response


class HoldingLimiter:
    """
    A user's rate limiter that grants the first `free` requests at once and holds the others.
    """

    def __init__(self, hold: Hold, free: int) -> None:
        self.hold = hold
        self.free = free

    async def acquire(self, key: Hashable, *, timeout: float | None = None) -> None:
        if self.free:
            self.free -= 1
            return
        await self.hold("acquire")

    def observe(self, key: Hashable, status: int, rate_limit: RateLimit) -> None:
        pass


def client_of(server: FakeAelystServer, **options: Any) -> AelystClient:
    return AelystClient(TOKEN, base_url=server.url, clock=FakeClock(auto_advance=True), **options)


async def ends_within_loop_iterations(task: asyncio.Future[Any]) -> bool:
    """
    Whether `task` ends within `LOOP_ITERATIONS` iterations of the loop; one that hangs is
    cancelled (and so fails the test instead of hanging it).
    """
    for _ in range(LOOP_ITERATIONS):
        if task.done():
            return True
        await asyncio.sleep(0)
    task.cancel()
    return False


async def closes(stream: MessageStream) -> bool:
    """
    Whether `stream.aclose()` returns within `LOOP_ITERATIONS` iterations of the loop.
    """
    closing = asyncio.ensure_future(stream.aclose())
    if not await ends_within_loop_iterations(closing):
        return False
    closing.result()
    return True


async def settle() -> None:
    for _ in range(LOOP_ITERATIONS):
        await asyncio.sleep(0)


async def close_while_held(stream: MessageStream, hold: Hold) -> bool:
    """
    Take one result, wait until a call is held, then close: whether `aclose()` returned.
    """
    await anext(stream)
    await hold.held.get()
    return await closes(stream)


@pytest.mark.parametrize("swallows", ["one", "every"])
@pytest.mark.parametrize("where", ["transport", "rate limiter"])
async def test_closing_returns_and_sends_nothing_more_when_user_code_swallows_cancellation(
    server: FakeAelystServer, where: str, swallows: Literal["one", "every"]
) -> None:
    """A transport or rate limiter that swallows its cancellation neither hangs the close nor
    sends a request after it."""
    before = asyncio.all_tasks()
    hold = Hold(swallows)
    transport = HoldingTransport(hold, "id:2" if where == "transport" else None)
    limiter = HoldingLimiter(hold, free=1) if where == "rate limiter" else None
    async with client_of(server, transport=transport, rate_limiter=limiter) as client:
        stream = client.messages.list_many(IDENTIFIERS, concurrency=2, limit=5)
        await anext(stream)
        await hold.held.get()
        sent = len(transport.sent)
        closed = await closes(stream)
        hold.release.set()
        await settle()
        after_close = [result async for result in stream]
        assert (True, sent, [], []) == (
            closed,
            len(transport.sent),
            after_close,
            sdk_tasks(before),
        )
    assert hold.swallowed >= 1


async def test_a_worker_that_will_not_stop_is_reported_once_by_its_contact_s_hash(
    server: FakeAelystServer, caplog: pytest.LogCaptureFixture
) -> None:
    """One WARNING names the held contact by its hash, never by its identifier or the token."""
    caplog.set_level(logging.WARNING, logger="aelyst_async")
    hold = Hold("every")
    async with client_of(server, transport=HoldingTransport(hold, "id:2")) as client:
        stream = client.messages.list_many(IDENTIFIERS, concurrency=2, limit=5)
        await close_while_held(stream, hold)
        await stream.aclose()
        hold.release.set()
        await settle()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    named = [(f"#{contact_hash('id:2')}" in w, "id:2" in w, TOKEN in w) for w in warnings]
    assert [(True, False, False)] == named


async def test_closing_from_another_task_ends_a_consumer_waiting_for_a_result(
    server: FakeAelystServer,
) -> None:
    """A consumer waiting in `anext()` when another task closes the stream stops, not hangs."""
    hold = Hold("every")
    async with client_of(server, transport=HoldingTransport(hold, "id:1")) as client:
        stream = client.messages.list_many(["id:1"], limit=5)
        waiting = asyncio.ensure_future(anext(stream))
        await hold.held.get()
        closed = await closes(stream)
        ended = await ends_within_loop_iterations(waiting)
        hold.release.set()
        await settle()
    assert (True, True) == (closed, ended)
    with pytest.raises(StopAsyncIteration):
        waiting.result()


async def test_cancelling_a_close_finishes_stopping_the_workers_then_propagates(
    server: FakeAelystServer,
) -> None:
    """As `asyncio.TaskGroup` does, a close cancelled meanwhile goes on cancelling, then raises."""
    before = asyncio.all_tasks()
    hold = Hold("every")
    async with client_of(server, transport=HoldingTransport(hold, "id:2")) as client:
        stream = client.messages.list_many(IDENTIFIERS, concurrency=2, limit=5)
        await anext(stream)
        await hold.held.get()
        closing = asyncio.ensure_future(stream.aclose())
        await asyncio.sleep(0)  # the close has cancelled the workers once, and waits
        closing.cancel()
        ended = await ends_within_loop_iterations(closing)
        swallowed = hold.swallowed
        hold.release.set()
        await settle()
        assert (True, True, STOP_ROUNDS, []) == (
            ended,
            closing.cancelled(),
            swallowed,
            sdk_tasks(before),
        )


class SwallowingClock(FakeClock):
    """
    A user's clock (manual) whose sleep swallows its first cancellation and returns at once.
    """

    def __init__(self) -> None:
        super().__init__()
        self.swallowed = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        try:
            await super().sleep(seconds)
        except asyncio.CancelledError:
            if self.swallowed.is_set():
                raise
            self.swallowed.set()


class CountingProgress:
    """
    A progress display that counts the updates it gets after `clock` swallowed a cancellation.
    """

    def __init__(self, clock: SwallowingClock) -> None:
        self.clock = clock
        self.late_updates = 0

    def update(self, snapshot: ExportSnapshot) -> None:
        self.late_updates += self.clock.swallowed.is_set()

    def close(self, snapshot: ExportSnapshot) -> None:
        pass


async def test_an_export_ends_when_its_clock_swallows_the_progress_ticker_s_cancellation(
    server: FakeAelystServer, tmp_path: Path
) -> None:
    """The progress ticker stopped at the export's end updates no more, and the export returns."""
    clock = SwallowingClock()
    progress = CountingProgress(clock)
    async with client_of(server) as client:
        export = asyncio.ensure_future(
            run_export(client, IDENTIFIERS, tmp_path / "out.jsonl", clock=clock, progress=progress)
        )
        await clock.swallowed.wait()  # the export has listed everything and stops the ticker
        ended = await ends_within_loop_iterations(export)
    assert (True, 0, len(IDENTIFIERS)) == (
        ended,
        progress.late_updates,
        export.result().snapshot.contacts_done,
    )


class CleaningLimiter:
    """
    A user's rate limiter that grants the first `free` requests and holds the others; a held
    call cancelled gives its reservation back over several loop iterations (as a limiter
    that tells a server does), then lets the cancellation go on.
    """

    def __init__(self, free: int) -> None:
        self.free = free
        self.held: asyncio.Queue[None] = asyncio.Queue()
        self.holds = 0
        self.cleaned = 0

    async def acquire(self, key: Hashable, *, timeout: float | None = None) -> None:
        if self.free:
            self.free -= 1
            return
        self.held.put_nowait(None)
        self.holds += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            for _ in range(50):
                await asyncio.sleep(0)
            self.cleaned += 1
            raise

    def observe(self, key: Hashable, status: int, rate_limit: RateLimit) -> None:
        pass


async def test_a_clean_up_that_awaits_is_not_cut_short_nor_reported(
    server: FakeAelystServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers whose cancelled calls await their clean-up get to finish it: no second
    cancellation cuts it, and nothing is reported as swallowed."""
    monkeypatch.setattr(_tasks, "STOP_GRACE", 60.0)  # never reached: the clean-ups end first
    caplog.set_level(logging.WARNING, logger="aelyst_async")
    limiter = CleaningLimiter(free=1)
    async with client_of(server, rate_limiter=limiter) as client:
        stream = client.messages.list_many(IDENTIFIERS, concurrency=3, limit=5)
        await anext(stream)
        for _ in range(2):
            await limiter.held.get()
        closed = await closes(stream)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert (True, True, limiter.holds, []) == (
        closed,
        limiter.holds >= 2,
        limiter.cleaned,
        warnings,
    )
