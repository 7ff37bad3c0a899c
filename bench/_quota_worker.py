"""
One worker process of the shared-quota benchmark, run as
`python -m bench._quota_worker '<config as JSON>'`: lists contacts for `seconds` through the
limiter it is given and prints what it did as one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from aelyst_async import RateLimiter, TokenBucketLimiter
from aelyst_async.redis import RedisRateLimiter

from ._clients import identifiers, pull_sdk


async def _work(config: dict[str, Any]) -> dict[str, Any]:
    redis_url = config["redis"]
    limiter: RateLimiter = (
        TokenBucketLimiter()
        if redis_url is None
        else RedisRateLimiter(redis_url, namespace=config["namespace"])
    )
    cpu, started = time.process_time(), time.time()
    tally = await pull_sdk(
        config["url"],
        identifiers(config["contacts"], 10**9),
        concurrency=config["concurrency"],
        seconds=config["seconds"],
        token=config["token"],
        rate_limiter=limiter,
    )
    cpu = time.process_time() - cpu
    round_trips = None
    if isinstance(limiter, RedisRateLimiter):
        await limiter.aclose()
        round_trips = limiter.stats.round_trips
    return {
        "requests": tally.requests,
        "rate_limited": tally.rate_limited,
        "cpu": cpu,
        "started": started,  # wall clock: the workers run on one host
        "ended": time.time(),
        "round_trips": round_trips,
    }


def main() -> None:
    print(json.dumps(asyncio.run(_work(json.loads(sys.argv[1])))), flush=True)


if __name__ == "__main__":
    main()
