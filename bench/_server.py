"""
The benchmarks' fake server, run as `python -m bench._server '<config as JSON>'`.

It prints its base URL on one line once it listens, then serves until terminated. Besides the
API it answers `GET /bench/stats` with its counters, for `Server.counts()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import sys

from aiohttp import web

from aelyst_async.testing import STATS_KEY, Dataset, RateLimitConfig, create_app

from ._harness import PAGE_SIZE


async def _serve(contacts: int, messages: int, rate_limit: int | None) -> None:
    app = create_app(
        token=None,  # any token: each rate-limit run brings its own, and its own bucket
        dataset=Dataset(seed=1, contacts=contacts, messages=messages),
        rate_limit=None if rate_limit is None else RateLimitConfig(requests=rate_limit),
        page_cache_size=contacts * max(1, math.ceil(messages / PAGE_SIZE)) + 16,
    )
    stats = app[STATS_KEY]

    async def counts(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "requests": stats.requests,
                "ok": stats.by_status[200],
                "rate_limited": stats.rate_limited,
            }
        )

    app.router.add_get("/bench/stats", counts)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    print(f"http://{host}:{port}/v1", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    config = json.loads(sys.argv[1])
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(config["contacts"], config["messages"], config["rate_limit"]))


if __name__ == "__main__":
    main()
