"""
The header-driven token bucket, on a fake clock; no test waits on real time.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Hashable
from typing import Any, TypeVar

import attrs
import pytest

from aelyst_async._exceptions import InvalidArgumentError
from aelyst_async._limiter import BucketState, TokenBucketLimiter
from aelyst_async._models import RateLimit
from aelyst_async._protocol import parse_rate_limit
from aelyst_async.testing import FakeClock, RateLimitConfig
from aelyst_async.testing._server import _RateLimiter

from .helpers import Tasks

KEY: Hashable = ("GET /contact/{identifier}/message/list", "fingerprint-a")
OTHER_KEY: Hashable = ("GET /contact/{identifier}/message/list", "fingerprint-b")

T = TypeVar("T")


@pytest.fixture
def limiter(clock: FakeClock) -> TokenBucketLimiter:
    return TokenBucketLimiter(clock=clock)


def answer(
    limiter: TokenBucketLimiter,
    status: int = 200,
    *,
    limit: int | None = 10,
    remaining: int | None = None,
    retry_after: float | None = None,
    reset: float | None = None,
    key: Hashable = KEY,
) -> None:
    limiter.observe(
        key,
        status,
        RateLimit(limit=limit, remaining=remaining, retry_after=retry_after, reset=reset),
    )


async def learned(limiter: TokenBucketLimiter, limit: int = 10, key: Hashable = KEY) -> None:
    """
    Probe `key` and answer like a fresh server: `limit` allowed, `limit - 1` remaining.
    """
    await limiter.acquire(key, timeout=0)
    answer(limiter, limit=limit, remaining=limit - 1, key=key)


async def acquired_at(limiter: TokenBucketLimiter, clock: FakeClock, key: Hashable = KEY) -> float:
    await limiter.acquire(key)
    return clock.monotonic()


async def paced(limiter: TokenBucketLimiter, clock: FakeClock, count: int) -> list[float]:
    """
    Send `count` requests one after the other, each answered at once; return when each went.
    """
    times = []
    for _ in range(count):
        times.append(await acquired_at(limiter, clock))
        answer(limiter)
    return times


async def drain(limiter: TokenBucketLimiter, count: int) -> None:
    """
    Spend `count` tokens that must be there now (fails rather than waits), each answered.
    """
    for _ in range(count):
        await limiter.acquire(KEY, timeout=0)
        answer(limiter)


async def holding(limiter: TokenBucketLimiter, clock: FakeClock, times: list[float]) -> None:
    """
    Acquire, note when, and keep the task alive (a probe it holds stays held).
    """
    await limiter.acquire(KEY)
    times.append(clock.monotonic())
    await asyncio.Event().wait()


def outcome(task: asyncio.Task[T]) -> T:
    """
    The result of a task that must have finished (a test never hangs on a stuck waiter).
    """
    assert task.done(), "the task is still waiting"
    return task.result()


# -- conservative start -----------------------------------------------------------------------


async def test_a_new_key_lets_one_probe_through(limiter: TokenBucketLimiter, tasks: Tasks) -> None:
    """Until a response teaches the key, only one request at a time proceeds."""
    await limiter.acquire(KEY, timeout=0)
    second = await tasks.start(limiter.acquire(KEY))
    third = await tasks.start(limiter.acquire(KEY))
    assert (False, False) == (second.done(), third.done())
    expected = BucketState(
        mode="probing",
        learned=False,
        capacity=None,
        rate=None,
        tokens=0.0,
        frozen_until=None,
        waiting=2,
        in_flight=1,
    )
    assert expected == limiter.snapshot(KEY)


async def test_the_probe_response_teaches_the_bucket(
    limiter: TokenBucketLimiter, tasks: Tasks
) -> None:
    """The probe's answer sets capacity and rate and releases the waiters at once."""
    await limiter.acquire(KEY, timeout=0)
    waiters = [await tasks.start(limiter.acquire(KEY)) for _ in range(3)]
    answer(limiter, limit=10, remaining=9)
    await tasks.clock.advance(0)
    assert [True, True, True] == [w.done() for w in waiters]
    expected = BucketState(
        mode="metered",
        learned=True,
        capacity=10,
        rate=10.0,
        tokens=6.0,
        frozen_until=None,
        waiting=0,
        in_flight=3,
    )
    assert expected == limiter.snapshot(KEY)


@pytest.mark.parametrize(
    ("window", "limit", "rate"),
    [
        pytest.param(1.0, 10, 10.0, id="per-second"),
        pytest.param(60.0, 120, 2.0, id="per-minute"),
    ],
)
async def test_capacity_and_rate_are_learned_from_the_headers(
    clock: FakeClock, window: float, limit: int, rate: float
) -> None:
    """Capacity is X-RateLimit-Limit and the refill rate is Limit / window."""
    limiter = TokenBucketLimiter(window=window, clock=clock)
    await learned(limiter, limit=limit)
    assert (limit, rate, limit - 1.0) == (
        limiter.snapshot(KEY).capacity,
        limiter.snapshot(KEY).rate,
        limiter.snapshot(KEY).tokens,
    )


async def test_a_learned_bucket_grants_its_tokens_without_waiting(
    limiter: TokenBucketLimiter, tasks: Tasks
) -> None:
    """After the probe, the Remaining tokens go at once; the next request waits for refill."""
    await learned(limiter)
    for _ in range(9):
        await limiter.acquire(KEY, timeout=0)
    next_one = await tasks.start(limiter.acquire(KEY))
    assert (0.0, False) == (tasks.clock.monotonic(), next_one.done())


async def test_a_probe_waiter_wakes_when_the_probe_is_answered(
    limiter: TokenBucketLimiter, tasks: Tasks
) -> None:
    """A waiter behind the probe is let through by the answer, not by the probe timeout."""
    await limiter.acquire(KEY, timeout=0)
    waiter = await tasks.start(acquired_at(limiter, tasks.clock))
    await tasks.clock.advance(0.3)
    answer(limiter, limit=10, remaining=9)
    await tasks.clock.advance(0)
    assert 0.3 == outcome(waiter)


async def test_the_probe_ends_when_its_task_asks_again(
    limiter: TokenBucketLimiter, tasks: Tasks
) -> None:
    """A probe that got no response (the retry loop is back) does not hold the key."""
    await limiter.acquire(KEY, timeout=0)
    await limiter.acquire(
        KEY, timeout=0
    )  # the same task: its first request ended without an answer
    assert "probing" == limiter.snapshot(KEY).mode


async def test_the_probe_ends_when_its_task_finishes(
    limiter: TokenBucketLimiter, tasks: Tasks
) -> None:
    """A probe whose task ended (cancelled, or failed) lets the next waiter probe."""
    holder = await tasks.start(limiter.acquire(KEY))
    waiter = await tasks.start(acquired_at(limiter, tasks.clock))
    assert (True, 0.0) == (holder.done(), outcome(waiter))


async def test_a_lost_probe_expires(clock: FakeClock, tasks: Tasks) -> None:
    """A probe never answered by a task that lives on stops holding the key after probe_timeout."""
    limiter = TokenBucketLimiter(clock=clock, probe_timeout=5.0)
    lost = asyncio.Event()

    async def probe_and_hang() -> None:
        await limiter.acquire(KEY)
        await lost.wait()

    await tasks.start(probe_and_hang())
    waiter = await tasks.start(acquired_at(limiter, clock))
    await clock.advance(10.0)
    assert 5.0 == outcome(waiter)


@pytest.mark.parametrize(
    "status",
    [pytest.param(429, id="429"), pytest.param(503, id="503"), pytest.param(401, id="401")],
)
async def test_an_error_without_headers_keeps_probing(
    limiter: TokenBucketLimiter, status: int
) -> None:
    """A non-2xx answer without X-RateLimit-Limit says nothing of the quota."""
    await limiter.acquire(KEY, timeout=0)
    answer(limiter, status, limit=None, remaining=None)
    assert ("probing", False) == (limiter.snapshot(KEY).mode, limiter.snapshot(KEY).learned)


# -- unmetered --------------------------------------------------------------------------------


async def test_a_2xx_without_headers_makes_the_key_unmetered(
    clock: FakeClock, limiter: TokenBucketLimiter
) -> None:
    """No headers on a success: no pacing at all."""
    await limiter.acquire(KEY, timeout=0)
    answer(limiter, limit=None, remaining=None)
    for _ in range(100):
        await limiter.acquire(KEY, timeout=0)
    assert ("unmetered", math.inf, 0.0) == (
        limiter.snapshot(KEY).mode,
        limiter.snapshot(KEY).tokens,
        clock.monotonic(),
    )


async def test_an_unmetered_key_still_pauses_on_429(
    limiter: TokenBucketLimiter, tasks: Tasks
) -> None:
    """A 429 pauses an unmetered key, which then paces at half the rate the server admitted."""
    await limiter.acquire(KEY, timeout=0)
    answer(limiter, limit=None, remaining=None)
    answer(limiter, 429, limit=None, remaining=None, retry_after=2.0)
    times: list[float] = []
    for _ in range(3):
        await tasks.start(holding(limiter, tasks.clock, times))
    await tasks.clock.advance(5.0)
    # One answer admitted over (at least) one window: 1/s, halved; no herd after the pause,
    # and the first request, unanswered, holds the one place until it ages out at 2.5.
    assert ([2.0, 4.5], "adaptive", 0.5) == (
        times,
        limiter.snapshot(KEY).mode,
        limiter.snapshot(KEY).rate,
    )


async def test_headers_later_make_an_unmetered_key_metered(limiter: TokenBucketLimiter) -> None:
    """A response that carries the headers switches an unmetered key to metered."""
    await limiter.acquire(KEY, timeout=0)
    answer(limiter, limit=None, remaining=None)
    await limiter.acquire(KEY, timeout=0)
    answer(limiter, limit=5, remaining=3)
    assert ("metered", 5, 3.0) == (
        limiter.snapshot(KEY).mode,
        limiter.snapshot(KEY).capacity,
        limiter.snapshot(KEY).tokens,
    )


async def test_a_metered_key_ignores_a_response_without_headers(
    limiter: TokenBucketLimiter,
) -> None:
    """Once metered, a response without the headers (a proxy's 502) teaches nothing."""
    await learned(limiter)
    before = limiter.snapshot(KEY)
    answer(limiter, 502, limit=None, remaining=None)
    answer(limiter, 200, limit=None, remaining=None)
    assert before == limiter.snapshot(KEY)


# -- refill and correction --------------------------------------------------------------------


async def test_tokens_refill_continuously_at_limit_per_window(
    limiter: TokenBucketLimiter, tasks: Tasks
) -> None:
    """An empty bucket of 10 per second lets one request through every 0.1 s."""
    await learned(limiter)
    await drain(limiter, 9)
    times = await tasks.start(paced(limiter, tasks.clock, 5))
    await tasks.clock.advance(1.0)
    assert pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5]) == outcome(times)


async def test_a_higher_limit_wakes_the_waiter_early(
    limiter: TokenBucketLimiter, tasks: Tasks
) -> None:
    """A waiter due in 1 s at 1 per second goes sooner when a response teaches 10 per second."""
    await learned(limiter, limit=1)
    waiter = await tasks.start(acquired_at(limiter, tasks.clock))
    await tasks.clock.advance(0.2)
    answer(limiter, limit=10)
    await tasks.clock.advance(0.2)
    assert pytest.approx(0.28) == outcome(waiter)


async def test_tokens_never_exceed_capacity(clock: FakeClock, limiter: TokenBucketLimiter) -> None:
    """An idle bucket fills up to its capacity and no further."""
    await learned(limiter, limit=10)
    await clock.advance(60.0)
    assert 10.0 == limiter.snapshot(KEY).tokens


async def test_a_new_limit_resizes_the_bucket(limiter: TokenBucketLimiter) -> None:
    """A later, lower Limit lowers capacity and rate and keeps no more tokens than it."""
    await learned(limiter, limit=10)
    answer(limiter, limit=4, remaining=4)
    assert (4, 4.0, 4.0) == (
        limiter.snapshot(KEY).capacity,
        limiter.snapshot(KEY).rate,
        limiter.snapshot(KEY).tokens,
    )


@pytest.mark.parametrize(
    ("remaining", "tokens"),
    [
        pytest.param(0, 0.0, id="far-below-corrects"),
        pytest.param(7, 7.0, id="two-below-corrects"),
        pytest.param(8, 9.0, id="one-below-is-slack"),
        pytest.param(9, 9.0, id="equal"),
        pytest.param(10, 9.0, id="above-never-raises"),
    ],
)
async def test_remaining_corrects_the_tokens_downward_only_with_slack(
    limiter: TokenBucketLimiter, remaining: int, tokens: float
) -> None:
    """Tokens drop to Remaining only when Remaining < tokens - 1; never rise."""
    await learned(limiter)
    answer(limiter, remaining=remaining)
    assert tokens == limiter.snapshot(KEY).tokens


async def test_remaining_keeps_fractional_progress(
    clock: FakeClock, limiter: TokenBucketLimiter
) -> None:
    """A late 'Remaining: 0' does not wipe a token partly refilled since."""
    await learned(limiter)
    answer(limiter, remaining=0)
    await clock.advance(0.05)
    answer(limiter, remaining=0)
    assert pytest.approx(0.5) == limiter.snapshot(KEY).tokens


async def test_requests_in_flight_hold_back_the_refill(
    clock: FakeClock, limiter: TokenBucketLimiter
) -> None:
    """Tokens do not accrue past capacity minus the requests not yet answered."""
    await learned(limiter)
    for _ in range(9):
        await limiter.acquire(KEY, timeout=0)
    await clock.advance(0.4)
    assert (1.0, 9) == (limiter.snapshot(KEY).tokens, limiter.snapshot(KEY).in_flight)
    for _ in range(9):
        answer(limiter, remaining=5)
    await clock.advance(0.3)
    assert 0 == limiter.snapshot(KEY).in_flight
    assert pytest.approx(4.0) == limiter.snapshot(KEY).tokens


async def test_unanswered_requests_stop_counting_after_half_a_window(
    clock: FakeClock, limiter: TokenBucketLimiter
) -> None:
    """A request never answered (a reset connection) holds back the refill for window / 2 only."""
    await learned(limiter)
    for _ in range(9):
        await limiter.acquire(KEY, timeout=0)
    await clock.advance(0.5)
    assert 0 == limiter.snapshot(KEY).in_flight
    await clock.advance(0.5)
    assert pytest.approx(6.0) == limiter.snapshot(KEY).tokens


# -- 429 and Retry-After ----------------------------------------------------------------------


async def test_a_429_freezes_every_waiter_until_retry_after(
    limiter: TokenBucketLimiter, tasks: Tasks
) -> None:
    """All tasks waiting on the key stay paused until Retry-After, then go at half the rate."""
    clock = tasks.clock
    await learned(limiter)
    await drain(limiter, 9)
    waiters = [await tasks.start(acquired_at(limiter, clock)) for _ in range(4)]
    answer(limiter, 429, remaining=0, retry_after=3.0)
    assert (0.0, 3.0) == (limiter.snapshot(KEY).tokens, limiter.snapshot(KEY).frozen_until)
    await clock.advance(2.999)
    assert [False] * 4 == [w.done() for w in waiters]
    await clock.advance(1.0)
    # No Reset was sent, so the refusal also cut the rate from 10/s to 5/s (rule 10).
    assert pytest.approx([3.0, 3.2, 3.4, 3.6]) == [outcome(w) for w in waiters]


async def test_a_429_pauses_a_waiter_that_was_about_to_go(
    limiter: TokenBucketLimiter, tasks: Tasks
) -> None:
    """The head of the queue, asleep until its token, is held by a 429 that arrives meanwhile."""
    clock = tasks.clock
    await learned(limiter)
    await drain(limiter, 9)
    head = await tasks.start(acquired_at(limiter, clock))
    await clock.advance(0.05)
    answer(limiter, 429, remaining=0, retry_after=1.0)
    await clock.advance(2.0)
    assert 1.05 == outcome(head)


async def test_a_429_never_shortens_a_freeze(limiter: TokenBucketLimiter) -> None:
    """A later, shorter Retry-After keeps the longer freeze; a longer one extends it."""
    await learned(limiter)
    answer(limiter, 429, retry_after=5.0)
    answer(limiter, 429, retry_after=1.0)
    assert 5.0 == limiter.snapshot(KEY).frozen_until
    answer(limiter, 429, retry_after=8.0)
    assert 8.0 == limiter.snapshot(KEY).frozen_until


async def test_a_429_without_retry_after_pauses_for_the_default(clock: FakeClock) -> None:
    """Without Retry-After, a 429 pauses the key for `default_retry_after` (default: window)."""
    limiter = TokenBucketLimiter(clock=clock, window=2.0)
    await learned(limiter)
    answer(limiter, 429)
    assert 2.0 == limiter.snapshot(KEY).frozen_until


async def test_a_503_with_retry_after_freezes_too(limiter: TokenBucketLimiter) -> None:
    """Any error status with Retry-After pauses the key; without it, a 503 does not."""
    await learned(limiter)
    answer(limiter, 503, remaining=None)
    assert None is limiter.snapshot(KEY).frozen_until
    answer(limiter, 503, remaining=None, retry_after=4.0)
    assert 4.0 == limiter.snapshot(KEY).frozen_until


async def test_a_freeze_past_the_timeout_fails_at_once(
    clock: FakeClock, limiter: TokenBucketLimiter
) -> None:
    """A waiter whose timeout ends inside the freeze gets TimeoutError without waiting."""
    await learned(limiter)
    answer(limiter, 429, retry_after=30.0)
    with pytest.raises(TimeoutError, match="paused"):
        await limiter.acquire(KEY, timeout=10.0)
    assert 0.0 == clock.monotonic()


async def test_an_extended_freeze_fails_waiters_whose_timeout_it_passes(
    limiter: TokenBucketLimiter, tasks: Tasks
) -> None:
    """A 429 arriving while tasks wait fails at once those it would hold past their timeout."""
    await learned(limiter)
    await drain(limiter, 9)
    patient = await tasks.start(acquired_at(limiter, tasks.clock))
    hurried = await tasks.start(limiter.acquire(KEY, timeout=5.0))
    answer(limiter, 429, retry_after=20.0)
    await tasks.clock.advance(0)
    assert (True, False) == (hurried.done(), patient.done())
    assert isinstance(hurried.exception(), TimeoutError)
    await tasks.clock.advance(20.0)
    assert 20.0 == outcome(patient)


# -- fairness, cancellation, timeouts, keys ---------------------------------------------------


async def test_waiters_are_served_first_come_first_served(
    limiter: TokenBucketLimiter, tasks: Tasks
) -> None:
    """The task that started waiting first gets the next token."""
    clock = tasks.clock
    await learned(limiter)
    await drain(limiter, 9)
    served: list[str] = []

    async def client(name: str) -> None:
        await limiter.acquire(KEY)
        served.append(name)
        answer(limiter)

    for name in "abcdef":
        await tasks.start(client(name))
    await clock.advance(1.0)
    assert list("abcdef") == served


async def test_a_newcomer_does_not_overtake_the_queue(
    limiter: TokenBucketLimiter, tasks: Tasks
) -> None:
    """A token that becomes due goes to the oldest waiter, not to whoever asks at that moment."""
    clock = tasks.clock
    await learned(limiter)
    await drain(limiter, 9)
    first = await tasks.start(acquired_at(limiter, clock))
    await clock.advance(0.1)
    newcomer = await tasks.start(acquired_at(limiter, clock))
    await clock.advance(0.5)
    assert pytest.approx((0.1, 0.2)) == (outcome(first), outcome(newcomer))


async def test_a_cancelled_waiter_consumes_nothing(
    limiter: TokenBucketLimiter, tasks: Tasks
) -> None:
    """Cancelling a waiter, head or not, neither spends a token nor blocks the others."""
    clock = tasks.clock
    await learned(limiter)
    await drain(limiter, 9)
    head, middle, last = [await tasks.start(acquired_at(limiter, clock)) for _ in range(3)]
    head.cancel()
    middle.cancel()
    await clock.advance(0.2)
    assert pytest.approx(0.1) == outcome(last)
    assert 0 == limiter.snapshot(KEY).waiting


async def test_a_waiter_cancelled_just_after_its_grant_gives_the_token_back(
    limiter: TokenBucketLimiter, tasks: Tasks
) -> None:
    """A token handed over to a task cancelled before it resumed goes to the next waiter."""
    clock = tasks.clock
    await tasks.start(holding(limiter, clock, []))  # the probe
    granted = await tasks.start(acquired_at(limiter, clock))
    after = await tasks.start(acquired_at(limiter, clock))
    answer(limiter, limit=2, remaining=1)  # one token: handed to `granted`, not yet resumed
    granted.cancel()
    await clock.advance(0)
    assert (True, 0.0) == (granted.cancelled(), outcome(after))


async def test_acquire_times_out(limiter: TokenBucketLimiter, tasks: Tasks) -> None:
    """No token within `timeout` seconds raises TimeoutError then, and leaves the queue."""
    clock = tasks.clock
    await learned(limiter)
    await drain(limiter, 9)
    hurried = await tasks.start(limiter.acquire(KEY, timeout=0.05))
    patient = await tasks.start(acquired_at(limiter, clock))
    await clock.advance(0.05)
    assert isinstance(hurried.exception(), TimeoutError)
    await clock.advance(0.1)
    assert pytest.approx(0.1) == outcome(patient)


async def test_a_zero_timeout_only_takes_what_is_there(limiter: TokenBucketLimiter) -> None:
    """timeout=0 succeeds with a token at hand and fails at once without one."""
    await learned(limiter, limit=2)
    await limiter.acquire(KEY, timeout=0)
    with pytest.raises(TimeoutError):
        await limiter.acquire(KEY, timeout=0)


async def test_keys_are_independent(limiter: TokenBucketLimiter) -> None:
    """Exhausting or freezing one key leaves another untouched."""
    await learned(limiter, limit=1)
    answer(limiter, 429, retry_after=30.0)
    await limiter.acquire(OTHER_KEY, timeout=0)
    assert (30.0, None, "probing") == (
        limiter.snapshot(KEY).frozen_until,
        limiter.snapshot(OTHER_KEY).frozen_until,
        limiter.snapshot(OTHER_KEY).mode,
    )


def test_an_unseen_key_is_a_fresh_probing_bucket(limiter: TokenBucketLimiter) -> None:
    """snapshot() of a key never used describes a probing bucket with its probe free."""
    expected = BucketState(
        mode="probing",
        learned=False,
        capacity=None,
        rate=None,
        tokens=1.0,
        frozen_until=None,
        waiting=0,
        in_flight=0,
    )
    assert expected == limiter.snapshot(KEY)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"window": 0}, id="zero-window"),
        pytest.param({"window": -1.0}, id="negative-window"),
        pytest.param({"window": math.inf}, id="infinite-window"),
        pytest.param({"probe_timeout": 0}, id="zero-probe-timeout"),
        pytest.param({"default_retry_after": True}, id="bool"),
    ],
)
def test_invalid_durations_are_refused(options: dict[str, Any]) -> None:
    """Durations must be positive, finite numbers."""
    with pytest.raises(InvalidArgumentError):
        TokenBucketLimiter(**options)


# -- against a simulated server ---------------------------------------------------------------


@attrs.define
class ServerBucket:
    """
    The fake server's own token bucket (full at start, continuous refill, one token per
    request), answering one request as the server would, its headers read as the client reads
    them.
    """

    clock: FakeClock
    capacity: int
    window: float
    accepted: int = 0
    refused: int = 0
    _bucket: _RateLimiter = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        config = RateLimitConfig(
            requests=self.capacity, window=self.window, retry_after_format="integer"
        )
        self._bucket = _RateLimiter(config, self.clock)

    def handle(self) -> tuple[int, RateLimit]:
        headers: dict[str, str] = {}
        if self._bucket.admit("token", headers):
            self.accepted += 1
            status = 200
        else:
            self.refused += 1
            status = 429
        return status, parse_rate_limit(headers, now=self.clock.wall())


@attrs.define
class Network:
    """
    A limiter's client and a server bucket, talking over a link of given delays.
    """

    limiter: TokenBucketLimiter
    server: ServerBucket
    corrected: list[BucketState] = attrs.field(factory=list)

    async def exchange(self, there: float, back: float) -> None:
        """
        One request: acquire, `there` seconds to the server, `back` seconds to the answer.
        """
        clock = self.server.clock
        await self.limiter.acquire(KEY)
        await clock.sleep(there)
        status, rate_limit = self.server.handle()
        await clock.sleep(back)
        before = self.limiter.snapshot(KEY)
        self.limiter.observe(KEY, status, rate_limit)
        if before.learned and self.limiter.snapshot(KEY).tokens < before.tokens:
            self.corrected.append(before)


@pytest.mark.parametrize(
    ("latency", "capacity"),
    [
        pytest.param((0.0, 0.0), 10, id="instant"),
        pytest.param((0.005, 0.03), 10, id="lan"),
        pytest.param((0.02, 0.15), 10, id="wan"),
        pytest.param((0.05, 0.4), 10, id="slow-and-jittery"),
        pytest.param((0.02, 0.15), 3, id="small-quota"),
    ],
)
async def test_a_shared_limiter_keeps_a_server_bucket_busy_without_a_429(
    limiter: TokenBucketLimiter, tasks: Tasks, latency: tuple[float, float], capacity: int
) -> None:
    """16 tasks paced by one limiter use >= 95% of a same-size server bucket, with no 429."""
    network = Network(limiter, ServerBucket(clock=tasks.clock, capacity=capacity, window=1.0))
    jitter = random.Random(42)

    async def worker() -> None:
        while True:  # answers overtake each other: each leg has its own random delay
            await network.exchange(jitter.uniform(*latency), jitter.uniform(*latency))

    for _ in range(16):
        await tasks.start(worker())
    await tasks.clock.advance(30.0)
    most = capacity + capacity / network.server.window * 30.0
    assert (0, []) == (network.server.refused, network.corrected)
    assert network.server.accepted / most >= 0.95


async def test_a_burst_still_on_its_way_is_not_followed_by_more_than_the_server_takes(
    limiter: TokenBucketLimiter, tasks: Tasks
) -> None:
    """Requests granted but not yet arrived count against the refill: no 429 after a slow burst."""
    network = Network(limiter, ServerBucket(clock=tasks.clock, capacity=10, window=1.0))
    await tasks.start(network.exchange(0.01, 0.01))
    await tasks.clock.advance(2.0)  # both buckets full again
    for _ in range(10):
        await tasks.start(network.exchange(0.45, 0.01))  # the full bucket, slow to arrive
    for _ in range(4):
        await tasks.start(network.exchange(0.01, 0.01))  # and more, fast
    await tasks.clock.advance(2.0)
    assert (15, 0) == (network.server.accepted, network.server.refused)


# -- any quota window (rules 9 and 10) --------------------------------------------------------


async def cut_once(limiter: TokenBucketLimiter, clock: FakeClock) -> None:
    """
    Learn 10/s without a Reset, spend the full bucket, and be refused: the rate halves to
    5/s; return when the one-second pause is over.
    """
    await learned(limiter, limit=10)
    await drain(limiter, 9)
    answer(limiter, 429, remaining=0, retry_after=1.0)
    await clock.advance(1.0)


async def test_reset_sets_the_window_the_bucket_refills_over(limiter: TokenBucketLimiter) -> None:
    """Limit 60 with Reset 60: a per-minute quota, refilled at one request a second."""
    await limiter.acquire(KEY, timeout=0)
    answer(limiter, limit=60, remaining=0, reset=60.0)
    assert (60.0, 1.0) == (limiter.snapshot(KEY).window, limiter.snapshot(KEY).rate)


async def test_the_longest_reset_seen_is_the_window(limiter: TokenBucketLimiter) -> None:
    """A Reset read mid-window is shorter than the window: it never narrows a longer one."""
    await limiter.acquire(KEY, timeout=0)
    answer(limiter, limit=60, remaining=50, reset=20.0)
    answer(limiter, limit=60, remaining=0, reset=60.0)
    answer(limiter, limit=60, remaining=30, reset=5.0)
    assert (60.0, 1.0) == (limiter.snapshot(KEY).window, limiter.snapshot(KEY).rate)


async def test_a_refusal_with_a_known_window_pauses_without_cutting_the_rate(
    limiter: TokenBucketLimiter,
) -> None:
    """With the window known from Reset, a 429 freezes the key and leaves the rate alone."""
    await limiter.acquire(KEY, timeout=0)
    answer(limiter, limit=60, remaining=0, reset=60.0)
    answer(limiter, 429, limit=60, remaining=0, retry_after=2.0, reset=60.0)
    assert (1.0, 2.0) == (limiter.snapshot(KEY).rate, limiter.snapshot(KEY).frozen_until)


async def test_a_refusal_without_a_window_halves_the_rate(limiter: TokenBucketLimiter) -> None:
    """No Reset: a 429 after the server admitted under half the rate cuts to half of that."""
    await learned(limiter, limit=10)
    await drain(limiter, 3)
    answer(limiter, 429, remaining=0, retry_after=1.0)
    # Four answers over (at least) the one-second window: 4/s admitted, under half of 10/s.
    assert 2.0 == limiter.snapshot(KEY).rate


async def test_a_refusal_echoed_during_the_pause_cuts_the_rate_once(
    limiter: TokenBucketLimiter,
) -> None:
    """429s that arrive while the key is paused were sent before the first: one cut only."""
    await learned(limiter, limit=10)
    await drain(limiter, 7)
    for _ in range(3):
        answer(limiter, 429, remaining=0, retry_after=1.0)
    assert 5.0 == limiter.snapshot(KEY).rate


async def test_clean_answers_add_the_rate_back_in_steps(
    limiter: TokenBucketLimiter, tasks: Tasks
) -> None:
    """After a cut, each clean answer adds 1/64 of the cut rate, up to Limit / window."""
    await cut_once(limiter, tasks.clock)
    rates = []
    for count in (32, 32, 32):
        run = await tasks.start(paced(limiter, tasks.clock, count))
        await tasks.clock.advance(20.0)
        outcome(run)
        rates.append(limiter.snapshot(KEY).rate)
    assert pytest.approx([7.5, 10.0, 10.0]) == rates


async def test_refusals_with_nothing_admitted_between_halve_the_rate_each_time(
    limiter: TokenBucketLimiter, tasks: Tasks
) -> None:
    """Two cuts with no answer between: the rate halves twice, never collapses to nothing."""
    await cut_once(limiter, tasks.clock)
    answer(limiter, 429, remaining=0, retry_after=1.0)
    assert 2.5 == limiter.snapshot(KEY).rate
