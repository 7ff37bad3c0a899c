"""
How well `Timeout(total=...)` holds while the client decodes large pages (CPU-heavy decoding).

Usage, from the repository root:

    python -m bench.deadline [--items 50000] [--total 2] [--concurrency 8] [--runs 3]

A server in its own process answers every request with one page of `--items` messages (about
15 MiB at 50,000, under the 16 MiB cap); `--concurrency` calls run at once, each with
`Timeout(total=--total)` and no retries, and each is timed until its first page or its error.
The SDK as it is (a large body decoded on its decode thread, the deadline watched by the event
loop) runs against the same calls with every body decoded inline in the event loop, as before:
the table gives the median over `--runs` runs of the slowest call, and the overshoot beyond
the deadline. The goal: within 10% of `total` or 1 s, whichever is larger.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

import orjson
from aiohttp import web

import aelyst_async._retry
from aelyst_async import AelystClient, APITimeoutError, RetryPolicy, Timeout

from ._harness import ROOT

ITEM = {
    "messageId": 1010000001,
    "channelMessageId": "wamid.5159b73432",
    "contactId": 1,
    "channelId": 102,
    "traffic": "outgoing",
    "message": {"type": "text", "text": "Great, see you then"},
    "status": [{"value": "pending", "timestamp": 1668038755}],
    "sender": {"source": "user", "userId": "100000003", "teamId": "5001"},
}


def serve(items: int) -> None:
    """
    Answer every list request with the same page of `items` messages; print the base URL.
    """
    body = orjson.dumps(
        {"items": [{**ITEM, "messageId": n} for n in range(items)], "pagination": {"next": None}}
    )

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/v1/contact/{identifier}/message/list", page)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        print(f"http://{host}:{port}/v1 {len(body)}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


async def slowest_call(url: str, total: float, concurrency: int) -> tuple[float, int]:
    """
    The seconds of the slowest of `concurrency` calls, and how many of them timed out.
    """
    async with AelystClient(
        "bench-token",
        base_url=url,
        timeout=Timeout(total=total),
        retry=RetryPolicy.disabled(),
        rate_limiter=None,
    ) as client:

        async def one(n: int) -> tuple[float, bool]:
            started = time.perf_counter()
            try:
                async for _ in client.messages.list(f"id:{n}").pages():
                    break
            except APITimeoutError:
                return time.perf_counter() - started, True
            return time.perf_counter() - started, False

        results = await asyncio.gather(*(one(n) for n in range(1, concurrency + 1)))
    return max(seconds for seconds, _ in results), sum(timed_out for _, timed_out in results)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.deadline")
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--total", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.serve:
        serve(options.items)
        return
    command = [sys.executable, "-m", "bench.deadline", "--serve", "--items", str(options.items)]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url, size = server.stdout.readline().split()
        threshold = aelyst_async._retry.THREADED_DECODE_BYTES
        slowest: dict[str, list[float]] = {"decode thread (the SDK)": [], "inline (before)": []}
        for _ in range(options.runs):
            for variant in slowest:
                inline = variant.startswith("inline")
                aelyst_async._retry.THREADED_DECODE_BYTES = 1 << 62 if inline else threshold
                seconds, _ = asyncio.run(slowest_call(url, options.total, options.concurrency))
                slowest[variant].append(seconds)
        aelyst_async._retry.THREADED_DECODE_BYTES = threshold
    finally:
        server.terminate()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()
    allowed = max(0.1 * options.total, 1.0)
    print(
        f"{options.concurrency} calls at once, each one page of {options.items:,} messages "
        f"({int(size) / 2**20:.1f} MiB), Timeout(total={options.total:g}); "
        f"median of {options.runs} runs; allowed overshoot {allowed:g}s\n"
    )
    print("| decoding | slowest call s | overshoot s | within the goal |")
    print("|---|--:|--:|---|")
    for variant, runs in slowest.items():
        seconds = statistics.median(runs)
        over = max(0.0, seconds - options.total)
        print(f"| {variant} | {seconds:.2f} | {over:.2f} | {'yes' if over <= allowed else 'no'} |")


if __name__ == "__main__":
    main()
