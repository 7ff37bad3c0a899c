"""
Stopping tasks of our own whose awaits run the caller's code.

Rules:

1. `stop_tasks` cancels each task and waits for it to end, as `asyncio.TaskGroup` does on
   exit; unlike it, the wait is bounded. A task that swallowed its cancellation and still
   runs (a transport, rate limiter or clock of the caller's that catches
   `asyncio.CancelledError`, or `asyncio.wait_for` before Python 3.12, which loses one that
   arrives together with the result) is cancelled again, in up to `STOP_ROUNDS` rounds.
2. A round gives the tasks `STOP_GRACE` seconds of the event loop's time to end before it
   cancels those still running again: a task's clean-up may await (a connection closed, a
   reservation given back), and is not cut short; a task that ends at once ends the round
   at once. So a task that swallows every cancellation is waited for
   `STOP_ROUNDS * STOP_GRACE` seconds at most.
3. Such a task is left running and returned, for the caller to report once and to stop
   doing anything of its own; it is kept referenced until it ends, so that it is not
   collected mid-await.
4. A cancellation of the caller while it waits does not cut the stop short (as with
   `asyncio.TaskGroup`): the rounds go on, bounded as they are, then `CancelledError` is
   raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Final, TypeVar

__all__ = ["STOP_GRACE", "STOP_ROUNDS", "stop_tasks"]

T = TypeVar("T")

STOP_ROUNDS: Final = 10
"""Cancellations a task gets before it is taken as one that will not stop (rule 1)."""

STOP_GRACE = 1.0
"""Seconds a cancelled task is given to end before it is cancelled again (rule 2); read at
each call, so that a test can set it to 0."""

_LEFT_RUNNING: set[asyncio.Task[Any]] = set()


async def stop_tasks(tasks: Iterable[asyncio.Task[T]]) -> set[asyncio.Task[T]]:
    """
    Cancel `tasks` and wait for them to end, cancelling again those that swallow it.

    Returns:
        The tasks still running after `STOP_ROUNDS` cancellations (rule 3); usually none.

    Raises:
        asyncio.CancelledError: When the caller was cancelled meanwhile, once the tasks are
            stopped (rule 4).
    """
    given = list(tasks)
    running = {task for task in given if not task.done()}
    interrupted = False
    for _ in range(STOP_ROUNDS):
        if not running:
            break
        for task in running:
            task.cancel()
        try:
            await asyncio.wait(running, timeout=STOP_GRACE)
        except asyncio.CancelledError:
            interrupted = True  # raised once the tasks are stopped (rule 4)
        running = {task for task in running if not task.done()}
    for task in given:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved, as gather(return_exceptions=True) would: no warning
    for task in running:
        _LEFT_RUNNING.add(task)
        task.add_done_callback(_LEFT_RUNNING.discard)
    if interrupted:
        raise asyncio.CancelledError
    return running
