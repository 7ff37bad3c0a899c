"""
4. Memory: `list_many` over many messages with a consumer that drops each page.

Each run is a fresh child process (`python -m bench.memory '<config>'`): it creates the client,
takes its resident set size as the baseline, lists `size` messages at the end-to-end
concurrency (contacts cycle over the server's dataset, so its page cache holds them all), and
samples its RSS after every page. The figure is the peak minus the baseline.

Beside it, what a `Message` the caller keeps costs: the bytes allocated (as `tracemalloc`
counts them) by decoding pages of the decode benchmark's body and keeping every page, per
message, so the models, their tuples and strings, and the page's own share.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import os
import resource
import sys
import tracemalloc
from typing import Any

import attrs

from ._clients import identifiers, parse_orjson, pull_aiohttp, pull_sdk
from ._harness import Goal, Scale, Section, Server, median, rounds, run_child, stopwatch

__all__ = ["MemoryResult", "retained_bytes_per_message", "run"]

MB = 1024 * 1024


def _rss() -> int:
    """
    This process's resident set size in bytes (elsewhere than Linux: its peak so far).
    """
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except FileNotFoundError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS


async def _child(config: dict[str, Any]) -> dict[str, Any]:
    count = config["size"] // config["messages"]
    peak = baseline = 0

    def sample() -> None:
        nonlocal peak
        peak = max(peak, _rss())

    gc.collect()
    peak = baseline = _rss()
    with stopwatch() as watch:
        tally = await pull_sdk(
            config["url"],
            identifiers(config["contacts"], count),
            concurrency=config["concurrency"],
            on_page=sample,
        )
    return {
        "messages": tally.messages,
        "baseline": baseline,
        "peak": peak,
        "seconds": watch.cost.wall,
    }


def retained_bytes_per_message(pages: int = 200) -> float:
    """
    Bytes allocated per message by decoding `pages` pages and keeping them all.
    """
    from aelyst_async import RateLimit
    from aelyst_async._converter import decode_page
    from aelyst_async._http import Response

    from .decode import page_body

    response = Response(status=200, headers={}, body=page_body())
    decode_page(response, RateLimit())  # hooks generated, caches warm: not counted
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        kept = [decode_page(response, RateLimit()) for _ in range(pages)]
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    return used / sum(len(page.items) for page in kept)


@attrs.frozen(kw_only=True)
class MemoryResult:
    """
    Each child's report, per size, in round order; and the bytes of a retained message.
    """

    runs: dict[int, list[dict[str, Any]]]
    retained: float

    def growth(self, size: int) -> float:
        """
        Peak RSS growth in bytes, median of the runs.
        """
        return median(r["peak"] - r["baseline"] for r in self.runs[size])

    def section(self) -> Section:
        sizes = sorted(self.runs)
        small, large = self.growth(sizes[0]), self.growth(sizes[-1])
        flat = large - small <= max(2 * MB, 0.1 * small)
        return Section(
            title="4. Memory",
            intro=(
                "`list_many` with a consumer that drops each page; every run in a fresh process: "
                "peak resident set size during the run minus the RSS just before it."
            ),
            header=("messages", "baseline RSS MB", "peak RSS growth MB", "messages/s"),
            rows=tuple(
                (
                    f"{size:,}",
                    f"{median(r['baseline'] for r in self.runs[size]) / MB:.1f}",
                    f"{self.growth(size) / MB:.1f}",
                    f"{median(r['messages'] / r['seconds'] for r in self.runs[size]):,.0f}",
                )
                for size in sizes
            ),
            goals=(
                Goal(
                    text="peak RSS growth under 50 MB",
                    met=large < 50 * MB,
                    measured=f"{large / MB:.1f} MB at {sizes[-1]:,} messages",
                ),
                Goal(
                    text="not growing with the message count",
                    met=flat,
                    measured=f"{(large - small) / MB:+.1f} MB from {sizes[0]:,} to {sizes[-1]:,}",
                ),
            ),
            notes=(
                f"A `Message` kept by the caller costs {self.retained:,.0f} bytes "
                "(`retained_bytes_per_message`: the models, tuples and strings of a decoded "
                "page kept whole, per message).",
            ),
        )


def run(scale: Scale) -> MemoryResult:
    """
    Every size, `scale.runs` interleaved rounds, each run in a fresh process.
    """
    with Server(contacts=scale.contacts, messages=scale.messages) as server:
        asyncio.run(  # one pass fills the server's page cache
            pull_aiohttp(
                server.url,
                identifiers(scale.contacts),
                parse=parse_orjson,
                concurrency=scale.concurrency,
            )
        )

        def child(size: int) -> dict[str, Any]:
            config = {
                "url": server.url,
                "size": size,
                "messages": scale.messages,
                "contacts": scale.contacts,
                "concurrency": scale.concurrency,
            }
            report = run_child("bench.memory", config)
            if report["messages"] != size:
                raise RuntimeError(f"listed {report['messages']} messages, not {size}")
            return report

        measures = {size: functools.partial(child, size) for size in scale.memory_sizes}
        return MemoryResult(
            runs=rounds(measures, scale.runs), retained=retained_bytes_per_message()
        )


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_child(json.loads(sys.argv[1])))))
