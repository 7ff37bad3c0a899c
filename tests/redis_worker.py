"""
One worker process of the multi-process tests and benchmarks: lists its shard of the
contacts through a limiter (Redis-backed or in-process) and writes what it got as JSON.

    python -m tests.redis_worker BASE_URL TOKEN CONTACTS K N LIMITER OUT
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from aelyst_async import AelystClient, Shard, TokenBucketLimiter
from aelyst_async.testing import Dataset

from .helpers import drain


async def work(argv: list[str]) -> dict[str, object]:
    base_url, token, contacts, index, count, limiter_url = argv
    shard = Shard(int(index), int(count))
    identifiers = list(shard.select(Dataset(seed=17, contacts=int(contacts)).identifiers()))
    if limiter_url == "in-process":
        limiter = None
        rate_limiter: object = TokenBucketLimiter()
    else:
        from aelyst_async.redis import RedisRateLimiter

        limiter = RedisRateLimiter(limiter_url, namespace="test:processes")
        rate_limiter = limiter
    started, cpu = time.perf_counter(), time.process_time()
    async with AelystClient(token, base_url=base_url, rate_limiter=rate_limiter) as client:  # type: ignore[arg-type]
        got, failures = await drain(client.messages.list_many(identifiers, limit=10))
        stats = client.stats
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    report = {
        "got": got,
        "failures": [str(f.identifier) for f in failures],
        "requests": stats.requests,
        "rate_limited": stats.rate_limited,
        "elapsed": elapsed,
        "cpu": cpu,
        "round_trips": None if limiter is None else limiter.stats.round_trips,
        "fallback_grants": None if limiter is None else limiter.stats.fallback_grants,
    }
    if limiter is not None:
        await limiter.aclose()
    return report


if __name__ == "__main__":
    result = asyncio.run(work(sys.argv[1:-1]))
    Path(sys.argv[-1]).write_text(json.dumps(result), encoding="utf-8")
