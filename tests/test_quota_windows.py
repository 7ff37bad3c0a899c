"""
Any quota window: a client paced by the default limiter against servers whose window is not
the one second it assumes (learned from `X-RateLimit-Reset`, or adapted to without it).
"""

from __future__ import annotations

import pytest

from aelyst_async import AelystClient, RateLimiter, TokenBucketLimiter
from aelyst_async.redis import RedisRateLimiter
from aelyst_async.testing import Dataset, FakeAelystServer, FakeClock, RateLimitConfig

from .helpers import drain, ground_truth
from .redis_server import RedisServer

TOKEN = "sk-windows-77e1"
QUOTA, WINDOW = 30, 30.0  # 30 requests per 30 s: one a second, after a burst of 30


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(RateLimitConfig(requests=QUOTA, window=WINDOW), id="per-window-no-reset"),
        pytest.param(
            RateLimitConfig(requests=QUOTA, window=WINDOW, headers=False, retry_after=False),
            id="no-headers-at-all",
        ),
        pytest.param(
            RateLimitConfig(requests=QUOTA, window=WINDOW, reset="seconds"), id="reset-seconds"
        ),
        pytest.param(
            RateLimitConfig(requests=QUOTA, window=WINDOW, reset="epoch"), id="reset-epoch"
        ),
    ],
)
@pytest.mark.parametrize("kind", ["in-process", "redis"])
async def test_a_long_window_ends_with_few_refusals_and_most_of_the_quota_used(
    config: RateLimitConfig, kind: str, request: pytest.FixtureRequest
) -> None:
    """Over several windows: under 5% of requests refused, at least half the quota used."""
    clock = FakeClock(auto_advance=True, epoch=1_767_225_600.0)
    limiter: RateLimiter = TokenBucketLimiter(clock=clock)
    if kind == "redis":
        redis: RedisServer = request.getfixturevalue("redis_server")
        limiter = RedisRateLimiter(redis.url, namespace=f"test:{request.node.name}", clock=clock)
    dataset = Dataset(seed=13, contacts=150, messages=(10, 10))
    async with FakeAelystServer(
        token=TOKEN, dataset=dataset, rate_limit=config, clock=clock
    ) as server:
        async with AelystClient(
            TOKEN, base_url=server.url, clock=clock, rate_limiter=limiter
        ) as client:
            got, failures = await drain(
                client.messages.list_many(dataset.identifiers(), concurrency=8, limit=5)
            )
        stats = server.stats
    if isinstance(limiter, RedisRateLimiter):
        await limiter.aclose()
        assert 0 == limiter.stats.fallback_grants
    admitted = stats.requests - stats.rate_limited
    admissible = QUOTA + clock.monotonic() * QUOTA / WINDOW
    assert ([], ground_truth(dataset, dataset.identifiers())) == (failures, got)
    assert clock.monotonic() >= 5 * WINDOW  # a run of several windows
    assert stats.rate_limited / stats.requests < 0.05
    assert admitted / admissible >= 0.5
