"""
The fake clock the SDK's time-dependent logic is tested on: manual and auto-advance modes.
"""

from __future__ import annotations

import asyncio

import pytest

from aelyst_async.testing import FakeClock

from .helpers import Tasks


async def test_fake_clock_starts_at_the_given_times() -> None:
    """monotonic() starts at `start`, wall() at `epoch`, and both move together."""
    clock = FakeClock(start=5.0, epoch=1_700_000_000.0, auto_advance=True)
    await clock.sleep(2.5)
    assert (7.5, 1_700_000_002.5) == (clock.monotonic(), clock.wall())


async def test_fake_clock_wakes_sleepers_in_deadline_order(tasks: Tasks) -> None:
    """advance() wakes each sleeper at its own deadline, earliest first."""
    clock = tasks.clock
    woken: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woken.append((name, clock.monotonic()))

    await tasks.start(sleeper("late", 3.0))
    await tasks.start(sleeper("early", 1.0))
    assert (1.0, 3.0) == clock.sleepers
    await clock.advance(2.0)
    assert ([("early", 1.0)], 2.0) == (woken, clock.monotonic())
    await clock.advance(5.0)
    assert ([("early", 1.0), ("late", 3.0)], 7.0) == (woken, clock.monotonic())
    assert 0 == len(clock.sleepers)


async def test_fake_clock_wakes_sleeps_started_during_advance(tasks: Tasks) -> None:
    """A sleep that a woken task starts within the advanced span is woken in the same call."""
    clock = tasks.clock
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            await clock.sleep(1.0)
            ticks.append(clock.monotonic())

    await tasks.start(ticker())
    await clock.advance(3.5)
    assert [1.0, 2.0, 3.0] == ticks


async def test_fake_clock_sleep_is_cancellable(tasks: Tasks) -> None:
    """A cancelled sleep leaves no pending deadline and moves no time."""
    clock = tasks.clock
    task = await tasks.start(clock.sleep(10.0))
    task.cancel()
    await clock.advance(0)
    assert (True, (), 0.0) == (task.cancelled(), clock.sleepers, clock.monotonic())


async def test_fake_clock_cannot_go_back() -> None:
    """advance() refuses a negative step."""
    with pytest.raises(ValueError, match="cannot go back"):
        await FakeClock().advance(-1)


async def test_auto_advance_moves_time_at_once_and_records_sleeps() -> None:
    """In auto-advance mode a 30 s backoff finishes at once, and is recorded."""
    clock = FakeClock(auto_advance=True)
    await clock.sleep(30.0)
    await clock.sleep(0.5)
    assert (30.5, [30.0, 0.5]) == (clock.monotonic(), clock.slept)


async def test_auto_advance_overlaps_concurrent_sleeps() -> None:
    """Sleeps started together end at the largest deadline, not the sum."""
    clock = FakeClock(auto_advance=True)
    await asyncio.gather(clock.sleep(30.0), clock.sleep(10.0), clock.sleep(30.0))
    assert 30.0 == clock.monotonic()


async def test_auto_advance_sleep_is_cancellable() -> None:
    """A cancelled auto-advance sleep moves no time."""
    clock = FakeClock(auto_advance=True)
    task = asyncio.create_task(clock.sleep(30.0))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 0.0 == clock.monotonic()
