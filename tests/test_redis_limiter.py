"""
The Redis-backed limiter against a real redis-server: one quota shared by several limiters
(each standing for a process), the same rules as the in-process one, and Redis failing.

Deterministic: the limiters take one `FakeClock`, whose time also stands in for the Redis
server's (`clock=`), shared with the fake API server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable

import pytest
import redis.asyncio as aioredis

from aelyst_async import (
    AelystClient,
    KeyPausedError,
    RateLimit,
    RateLimiter,
    Shard,
    TokenBucketLimiter,
)
from aelyst_async.redis import RedisRateLimiter
from aelyst_async.testing import Dataset, FakeAelystServer, FakeClock, RateLimitConfig

from .helpers import drain, ground_truth
from .redis_server import RedisServer, free_port

TOKEN = "sk-redis-limiter-5f0b"
KEY: Hashable = ("GET /contact/{identifier}/message/list", "fingerprint-a")


@pytest.fixture
async def namespace(redis_server: RedisServer, request: pytest.FixtureRequest) -> str:
    """A namespace of the test's own, so tests never share a bucket."""
    return f"test:{request.node.name}"


def limiter(
    server: RedisServer, namespace: str, clock: FakeClock, **options: object
) -> RedisRateLimiter:
    return RedisRateLimiter(server.url, namespace=namespace, clock=clock, **options)  # type: ignore[arg-type]


async def settle(*limiters: RedisRateLimiter) -> None:
    """Let the scripts observe() started in the background finish."""
    for each in limiters:
        await each.flush()


async def refused(one: RedisRateLimiter, retry_after: float) -> None:
    """Learn 10/s on KEY, then send one request that is refused for `retry_after` seconds."""
    await learned(one, 10, 9)
    await one.acquire(KEY)
    one.observe(KEY, 429, RateLimit(limit=10, remaining=0, retry_after=retry_after))
    await settle(one)


async def learned(one: RedisRateLimiter, limit: int, remaining: int, **headers: float) -> None:
    """Probe KEY and teach it the quota from the answer, in Redis."""
    await one.acquire(KEY)
    one.observe(KEY, 200, RateLimit(limit=limit, remaining=remaining, **headers))
    await settle(one)


async def test_four_limiters_on_one_token_share_the_quota_without_a_429(
    redis_server: RedisServer, namespace: str
) -> None:
    """Four clients, each with a limiter of its own, one token: exactly the data, no 429."""
    clock = FakeClock(auto_advance=True)
    dataset = Dataset(seed=3, contacts=40, messages=(5, 25))
    limiters = [limiter(redis_server, namespace, clock) for _ in range(4)]
    async with FakeAelystServer(
        token=TOKEN, dataset=dataset, rate_limit=RateLimitConfig(requests=10), clock=clock
    ) as server:

        async def worker(index: int) -> tuple[dict[str, list[dict[str, object]]], list[object]]:
            shard = list(Shard(index, 4).select(dataset.identifiers()))
            async with AelystClient(
                TOKEN, base_url=server.url, clock=clock, rate_limiter=limiters[index]
            ) as client:
                got, failures = await drain(client.messages.list_many(shard, limit=10))
            return got, list(failures)

        results = await asyncio.gather(*(worker(i) for i in range(4)))
    for each in limiters:
        await each.aclose()
    got = {i: m for part, _ in results for i, m in part.items()}
    assert ground_truth(dataset, dataset.identifiers()) == got
    assert ([], 0) == ([f for _, fs in results for f in fs], server.stats.rate_limited)
    shared = sum(each.stats.grants for each in limiters)
    assert (server.stats.requests, 0) == (shared, sum(e.stats.fallback_grants for e in limiters))


async def test_a_429_seen_by_one_process_pauses_the_others(
    redis_server: RedisServer, namespace: str
) -> None:
    """Retry-After observed by one limiter holds back another limiter's next request."""
    clock = FakeClock(auto_advance=True)
    first, second = (limiter(redis_server, namespace, clock) for _ in range(2))
    await refused(first, retry_after=3.0)
    await second.acquire(KEY)
    assert 3.0 == pytest.approx(clock.monotonic())
    await first.aclose()
    await second.aclose()


async def test_a_waiter_that_cannot_be_served_in_time_fails_at_once(
    redis_server: RedisServer, namespace: str
) -> None:
    """A timeout shorter than the pause raises KeyPausedError at once, saying how long."""
    clock = FakeClock(auto_advance=True)
    async with limiter(redis_server, namespace, clock) as one:
        await one.acquire(KEY)
        one.observe(KEY, 429, RateLimit(limit=10, remaining=0, retry_after=30.0))
        await settle(one)
        with pytest.raises(KeyPausedError) as paused:
            await one.acquire(KEY, timeout=5.0)
        assert (0.0, 30.0) == (clock.monotonic(), paused.value.retry_after)


async def test_steady_state_costs_two_round_trips_per_request(
    redis_server: RedisServer, namespace: str
) -> None:
    """Once learned, each request is one reservation and one observation: two round trips."""
    clock = FakeClock(auto_advance=True)
    async with limiter(redis_server, namespace, clock) as one:
        await learned(one, 10, 9)
        before = one.stats.round_trips
        for _ in range(50):
            await one.acquire(KEY)
            one.observe(KEY, 200, RateLimit(limit=10, remaining=0))
        await settle(one)
        assert 100 == one.stats.round_trips - before


async def test_pacing_through_redis_follows_the_learned_rate(
    redis_server: RedisServer, namespace: str
) -> None:
    """Limit 10 per second: after the 9 remaining, one request every 0.1 s."""
    clock = FakeClock(auto_advance=True)
    async with limiter(redis_server, namespace, clock) as one:
        await learned(one, 10, 9)
        times = []
        for _ in range(12):
            await one.acquire(KEY)
            times.append(round(clock.monotonic(), 6))
            one.observe(KEY, 200, RateLimit(limit=10))
            await settle(one)
        assert [0.0] * 9 + [0.1, 0.2, 0.3] == times


async def test_reset_sets_the_shared_window(redis_server: RedisServer, namespace: str) -> None:
    """X-RateLimit-Reset teaches the window in Redis: 60 per 60 s is one a second, for all."""
    clock = FakeClock(auto_advance=True)
    first, second = (limiter(redis_server, namespace, clock) for _ in range(2))
    await learned(first, 60, 0, reset=60.0)
    times = []
    for each in (second, first, second):
        await each.acquire(KEY)
        times.append(round(clock.monotonic(), 6))
    assert [1.0, 2.0, 3.0] == times
    await first.aclose()
    await second.aclose()


async def test_a_cancelled_waiter_gives_its_reservation_back(
    redis_server: RedisServer, namespace: str
) -> None:
    """A waiter cancelled while its token is not due yet consumes nothing."""
    clock = FakeClock()
    async with limiter(redis_server, namespace, clock) as one:
        first = asyncio.create_task(one.acquire(KEY))
        await clock.advance(0)
        await first
        one.observe(KEY, 200, RateLimit(limit=10, remaining=0))
        await settle(one)
        waiting = asyncio.create_task(one.acquire(KEY))
        await asyncio.sleep(0.05)  # its reservation reaches Redis (real I/O, not time)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await settle(one)
        after = asyncio.create_task(one.acquire(KEY))
        await asyncio.sleep(0.05)
        await clock.advance(0.1)
        await asyncio.sleep(0.05)
        assert after.done()


async def test_requests_of_a_killed_process_stop_counting_after_half_a_window(
    redis_server: RedisServer, namespace: str
) -> None:
    """A process that dies mid-request holds its place in flight for window / 2 at most."""
    clock = FakeClock(auto_advance=True)
    dead, alive = (limiter(redis_server, namespace, clock) for _ in range(2))
    await learned(alive, 2, 2)
    await dead.acquire(KEY)
    await dead.acquire(KEY)  # both never answered: the process is gone
    await alive.acquire(KEY)
    assert 1.0 >= clock.monotonic() >= 0.5
    await alive.aclose()
    await dead.aclose()


async def test_keys_are_namespaced_and_expire(redis_server: RedisServer, namespace: str) -> None:
    """The bucket lives under the namespace and expires after the ttl."""
    clock = FakeClock(auto_advance=True)
    async with limiter(redis_server, namespace, clock, ttl=30.0) as one:
        await one.acquire(KEY)
    client = aioredis.Redis.from_url(redis_server.url)
    keys = sorted(await client.keys(f"{namespace}:*"))
    ttls = [await client.ttl(k) for k in keys]
    await client.aclose()
    assert 2 == len(keys)
    assert all(0 < ttl <= 30 for ttl in ttls)


async def test_the_quota_key_defaults_to_route_and_token_and_can_be_set(
    redis_server: RedisServer, namespace: str
) -> None:
    """Two tokens have two buckets; key="org" puts every request on one."""
    clock = FakeClock(auto_advance=True)
    other: Hashable = ("GET /contact/{identifier}/message/list", "fingerprint-b")
    own = limiter(redis_server, namespace, clock)
    shared = limiter(redis_server, namespace + ":org", clock, key="org-42")
    assert own._keys(KEY) != own._keys(other)
    assert shared._keys(KEY) == shared._keys(other)
    await own.aclose()
    await shared.aclose()


async def test_unreachable_redis_falls_back_to_in_process_pacing_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No Redis at all: requests still go, paced in-process, and one WARNING says so."""
    caplog.set_level(logging.INFO, logger="aelyst_async")
    clock = FakeClock(auto_advance=True)
    dataset = Dataset(seed=4, contacts=10, messages=(5, 25))
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    async with (
        RedisRateLimiter(nowhere, clock=clock, operation_timeout=0.5) as lone,
        FakeAelystServer(
            token=TOKEN, dataset=dataset, rate_limit=RateLimitConfig(requests=10), clock=clock
        ) as server,
        AelystClient(TOKEN, base_url=server.url, clock=clock, rate_limiter=lone) as client,
    ):
        got, failures = await drain(client.messages.list_many(dataset.identifiers(), limit=10))
    assert (ground_truth(dataset, dataset.identifiers()), []) == (got, failures)
    assert 0 == server.stats.rate_limited
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert (1, 1) == (len(warnings), lone.stats.outages)
    assert "Redis unreachable" in warnings[0].getMessage()


async def test_a_redis_restarted_mid_run_is_shared_again_once_back(
    redis_server: RedisServer, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis stopped mid-run: the client goes on in-process; once Redis is back, it shares."""
    caplog.set_level(logging.INFO, logger="aelyst_async")
    clock = FakeClock(auto_advance=True)
    async with limiter(
        redis_server, namespace, clock, retry_interval=1.0, operation_timeout=0.5
    ) as one:
        for _ in range(3):
            await one.acquire(KEY)
            one.observe(KEY, 200, RateLimit(limit=100, remaining=99))
        await settle(one)
        redis_server.stop()
        for _ in range(3):
            await one.acquire(KEY)
            one.observe(KEY, 200, RateLimit(limit=100, remaining=99))
            await settle(one)
        down = one.stats.fallback_grants
        redis_server.start()
        await clock.sleep(1.0)  # the retry interval
        grants = one.stats.grants
        for _ in range(3):
            await one.acquire(KEY)
            one.observe(KEY, 200, RateLimit(limit=100, remaining=99))
        await settle(one)
    assert down >= 2
    assert grants + 3 == one.stats.grants
    messages = [r.getMessage() for r in caplog.records]
    assert 1 == sum("Redis unreachable" in m for m in messages)
    assert 1 == sum("shared again" in m for m in messages)


async def test_tasks_of_one_process_are_served_first_come_first_served(
    redis_server: RedisServer, namespace: str
) -> None:
    """Five tasks waiting on one key get their tokens in the order they asked."""
    clock = FakeClock(auto_advance=True)
    async with limiter(redis_server, namespace, clock) as one:
        await learned(one, 10, 0)
        order: list[int] = []

        async def take(n: int) -> None:
            await one.acquire(KEY)
            order.append(n)

        tasks = []
        for n in range(5):
            tasks.append(asyncio.create_task(take(n)))
            await asyncio.sleep(0)  # each starts waiting before the next is created
        await asyncio.gather(*tasks)
        assert [0, 1, 2, 3, 4] == order
        assert pytest.approx(0.5) == clock.monotonic()


async def test_a_redis_that_never_answers_falls_back_within_the_operation_timeout() -> None:
    """A server that accepts and stays silent: acquire() falls back instead of hanging."""

    done = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)  # the command, never answered
        await done.wait()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    clock = FakeClock(auto_advance=True)
    try:
        async with RedisRateLimiter(
            f"redis://127.0.0.1:{port}/0", clock=clock, operation_timeout=0.05
        ) as mute:
            await mute.acquire(KEY)
            assert (1, 1) == (mute.stats.outages, mute.stats.fallback_grants)
    finally:
        done.set()
        server.close()
        await server.wait_closed()


async def test_clearing_a_pause_lets_every_process_go_at_once(
    redis_server: RedisServer, namespace: str
) -> None:
    """clear_freeze() in one process ends a 30 s pause for another one at once."""
    clock = FakeClock(auto_advance=True)
    first, second = (limiter(redis_server, namespace, clock) for _ in range(2))
    await refused(first, retry_after=30.0)
    await first.clear_freeze(KEY)
    await second.acquire(KEY)
    assert 0.0 == clock.monotonic()
    await first.aclose()
    await second.aclose()


STEPS_429 = [(200, RateLimit(limit=10, remaining=9))] + [(200, RateLimit(limit=10))] * 9
SCENARIOS = {
    "learned-then-paced": [(200, RateLimit(limit=10, remaining=3))]
    + [(200, RateLimit(limit=10))] * 8,
    "per-minute-from-reset": [(200, RateLimit(limit=60, remaining=0, reset=60.0))]
    + [(200, RateLimit(limit=60, reset=59.0))] * 3,
    "refused-then-cut": [
        *STEPS_429,
        (429, RateLimit(limit=10, remaining=0, retry_after=2.0)),
        *[(200, RateLimit(limit=10))] * 6,
    ],
    "no-headers-then-adaptive": [
        *[(200, RateLimit())] * 3,
        (429, RateLimit(retry_after=1.0)),
        *[(200, RateLimit())] * 4,
    ],
}


@pytest.mark.parametrize("steps", list(SCENARIOS.values()), ids=list(SCENARIOS))
async def test_the_redis_limiter_grants_when_the_in_process_one_does(
    redis_server: RedisServer, namespace: str, steps: list[tuple[int, RateLimit]]
) -> None:
    """The same answers, one request at a time: both limiters grant at the same moments."""

    async def grants(limiter: RateLimiter, clock: FakeClock) -> list[float]:
        times = []
        for status, headers in steps:
            await limiter.acquire(KEY)
            times.append(round(clock.monotonic(), 6))
            limiter.observe(KEY, status, headers)
            if isinstance(limiter, RedisRateLimiter):
                await limiter.flush()
        return times

    local_clock, shared_clock = FakeClock(auto_advance=True), FakeClock(auto_advance=True)
    expected = await grants(TokenBucketLimiter(clock=local_clock), local_clock)
    async with limiter(redis_server, namespace, shared_clock) as shared:
        assert expected == await grants(shared, shared_clock)
    assert len(set(expected)) > 3  # the scenario paces, it does not just let everything through
