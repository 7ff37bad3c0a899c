"""
6. A quota shared across processes: 4 worker processes list contacts on one token for
`scale.rate_seconds`, against the fake server admitting `scale.rate_limit` requests per
second on that token, each paced by a `RedisRateLimiter` on one local Redis, or (the
"before" row) each by its own in-process `TokenBucketLimiter`.

7. The Redis limiter's cost per request beside the in-process one: `acquire()` then
`observe()` on a learned key whose quota never runs out, in one process, so every figure is
the limiter's own work (client CPU, Redis round trips, and the wall time `acquire()` adds).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import attrs

from aelyst_async import RateLimit, RateLimiter, TokenBucketLimiter
from aelyst_async.redis import RedisRateLimiter
from tests.redis_server import RedisServer

from ._harness import ROOT, Goal, Scale, Section, Server, median, rounds, stopwatch
from .ratelimit import RateRun

__all__ = ["CostRun", "QuotaResult", "QuotaRun", "run"]

WORKERS = 4
REDIS = "4 processes, RedisRateLimiter on one Redis"
BEFORE = "4 processes, in-process limiter each (before)"
IN_PROCESS = "TokenBucketLimiter (in-process)"
SHARED = "RedisRateLimiter (local Redis)"
KEY = ("GET /contact/{identifier}/message/list", "bench")


@attrs.frozen(kw_only=True)
class QuotaRun(RateRun):
    """
    One run of the 4 workers: the server's counts (as a rate-limit run), and the workers'.
    """

    worst_worker_429s: int
    round_trips_per_request: float | None


@attrs.frozen(kw_only=True)
class CostRun:
    """
    One cost run: per request, CPU and acquire() wall time in µs, and Redis round trips.
    """

    cpu_us: float
    acquire_us: float
    round_trips: float


@attrs.frozen(kw_only=True)
class QuotaResult:
    scale: Scale
    runs: dict[str, list[QuotaRun]]
    costs: dict[str, list[CostRun]]
    cost_requests: int

    def sections(self) -> tuple[Section, Section]:
        return self.shared_section(), self.cost_section()

    def shared_section(self) -> Section:
        scale, shared = self.scale, self.runs[REDIS]
        share = median(r.share for r in shared)
        worst = max(r.worst_worker_429s for r in shared)
        return Section(
            title="6. One quota, four processes",
            intro=(
                f"{WORKERS} worker processes on one token, {scale.concurrency} contacts at once "
                f"each, for {scale.rate_seconds:g} s per run; the server admits "
                f"{scale.rate_limit} requests/s on the token (a bucket of {scale.rate_limit}, "
                "refilled continuously).\n"
                "Share of the limit: the server's successful requests over the most it admits "
                "in the run (the full bucket plus the refill)."
            ),
            header=(
                "workers paced by",
                "share of the limit",
                "429s per run (median)",
                "429s of the worst worker (worst run)",
                "Redis round trips per request",
            ),
            rows=tuple(
                (
                    name,
                    f"{median(r.share for r in runs):.3f}",
                    f"{median(r.rate_limited for r in runs):g}",
                    f"{max(r.worst_worker_429s for r in runs)}",
                    _optional(median_or_none([r.round_trips_per_request for r in runs])),
                )
                for name, runs in self.runs.items()
            ),
            goals=(
                Goal(
                    text="through Redis, at least 0.95 of the limit together",
                    met=share >= 0.95,
                    measured=f"{share:.3f}",
                ),
                Goal(
                    text="through Redis, at most one 429 per worker per run",
                    met=worst <= 1,
                    measured=f"worst worker: {worst}",
                ),
            ),
            notes=(
                "Round trips per request count every script the limiter ran (the steady "
                "state is one reservation and one observation; learning the key and pauses "
                "add a few).",
            ),
        )

    def cost_section(self) -> Section:
        base = median(r.cpu_us for r in self.costs[IN_PROCESS])
        return Section(
            title="7. What the Redis limiter costs per request",
            intro=(
                f"{self.cost_requests} `acquire()` + `observe()` pairs on a learned key that never "
                "runs out, one process, Redis on 127.0.0.1: the limiter's own work per request."
            ),
            header=(
                "limiter",
                "client CPU µs per request",
                "vs in-process",
                "acquire() wall µs",
                "Redis round trips per request",
            ),
            rows=tuple(
                (
                    name,
                    f"{median(r.cpu_us for r in runs):.1f}",
                    f"{median(r.cpu_us for r in runs) / base:.1f}x",
                    f"{median(r.acquire_us for r in runs):.1f}",
                    f"{median(r.round_trips for r in runs):.2f}",
                )
                for name, runs in self.costs.items()
            ),
            notes=(
                "The wall time is what `acquire()` adds before each request: one round trip "
                "to Redis (the observation runs in the background, off the request's path).",
            ),
        )


def median_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return median(known) if known else None


def _optional(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _workers(
    server: Server, scale: Scale, token: str, redis_url: str | None
) -> list[dict[str, Any]]:
    config = {
        "url": server.url,
        "token": token,
        "redis": redis_url,
        "namespace": f"bench:{token}",
        "contacts": scale.contacts,
        "concurrency": scale.concurrency,
        "seconds": scale.rate_seconds,
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bench._quota_worker", json.dumps(config)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(WORKERS)
    ]
    reports = []
    for process in processes:
        out, _ = process.communicate(timeout=scale.rate_seconds * 10 + 60)
        if process.returncode != 0:
            raise RuntimeError(f"a quota worker failed ({process.returncode})")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def cost_requests(scale: Scale) -> int:
    """
    Requests per cost run: 2,000 at full scale.
    """
    return scale.decode_batch * 10


async def _cost(limiter: RateLimiter, requests: int) -> CostRun:
    limiter.observe(KEY, 200, RateLimit(limit=10**9, remaining=10**9))
    await limiter.acquire(KEY)
    limiter.observe(KEY, 200, RateLimit(limit=10**9, remaining=10**9))
    if isinstance(limiter, RedisRateLimiter):
        await limiter.flush()
        before = limiter.stats.round_trips
    waited = 0.0
    with stopwatch() as watch:
        for _ in range(requests):
            start = time.perf_counter()
            await limiter.acquire(KEY)
            waited += time.perf_counter() - start
            limiter.observe(KEY, 200, RateLimit(limit=10**9, remaining=10**9))
        trips = 0.0
        if isinstance(limiter, RedisRateLimiter):
            await limiter.flush()
            trips = (limiter.stats.round_trips - before) / requests
    if isinstance(limiter, RedisRateLimiter):
        await limiter.aclose()
    return CostRun(
        cpu_us=watch.cost.cpu / requests * 1e6,
        acquire_us=waited / requests * 1e6,
        round_trips=trips,
    )


def run(scale: Scale) -> QuotaResult:
    """
    Both ways of pacing 4 processes, then both limiters' costs, `scale.runs` rounds each.
    """
    tokens = (f"bench-quota-{n}" for n in itertools.count())
    redis = RedisServer()
    redis.start()
    try:
        with Server(
            contacts=scale.contacts, messages=scale.messages, rate_limit=scale.rate_limit
        ) as server:

            def measure(redis_url: str | None) -> Callable[[], QuotaRun]:
                def once() -> QuotaRun:
                    before = server.counts()
                    reports = _workers(server, scale, next(tokens), redis_url)
                    time.sleep(0.2)  # let the server finish what was in flight at the stop
                    counted = server.counts() - before
                    requests = sum(r["requests"] for r in reports)
                    trips = [r["round_trips"] for r in reports]
                    return QuotaRun(
                        ok=counted.ok,
                        rate_limited=counted.rate_limited,
                        # From the first worker's start to the last one's end, not
                        # their start-up (a few hundred ms each).
                        seconds=max(r["ended"] for r in reports)
                        - min(r["started"] for r in reports),
                        limit=scale.rate_limit,
                        worst_worker_429s=max(r["rate_limited"] for r in reports),
                        round_trips_per_request=(
                            None if None in trips else sum(trips) / max(1, requests)
                        ),
                    )

                return once

            shared = rounds({REDIS: measure(redis.url), BEFORE: measure(None)}, scale.runs)

        def cost(make: Callable[[], RateLimiter]) -> Callable[[], CostRun]:
            return lambda: asyncio.run(_cost(make(), cost_requests(scale)))

        costs = rounds(
            {
                IN_PROCESS: cost(TokenBucketLimiter),
                SHARED: cost(lambda: RedisRateLimiter(redis.url, namespace="bench:cost")),
            },
            scale.runs,
        )
    finally:
        redis.stop()
    return QuotaResult(scale=scale, runs=shared, costs=costs, cost_requests=cost_requests(scale))
