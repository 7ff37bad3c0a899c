"""
2. End to end, and 5. overhead per request.

`scale.contacts` contacts of `scale.messages` messages each, listed at `scale.concurrency`
against the fake server in its own process, with no rate limit: the SDK's `list_many` (no
limiter; for scale also with its default limiter), against the hand-written loop over
aiohttp + orjson dicts (the floor), aiohttp + pydantic and httpx + pydantic.

The overhead per request is a variant's client CPU per request minus what decoding one page
costs it (timed in the same run on a page of the same dataset): what the HTTP client, the
paging and the SDK's plumbing cost around the decoder.
"""

from __future__ import annotations

import asyncio
import importlib.util
import urllib.request
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import attrs

from . import decode as decode_bench
from ._clients import (
    Tally,
    identifiers,
    parse_orjson,
    parse_pydantic,
    pull_aiohttp,
    pull_httpx,
    pull_sdk,
)
from ._harness import (
    PAGE_SIZE,
    TOKEN,
    Cost,
    Goal,
    Scale,
    Section,
    Server,
    median,
    ratio,
    ratio_range,
    rounds,
    stopwatch,
)

__all__ = ["E2EResult", "Run", "run", "variants"]

FLOOR = "aiohttp + orjson dicts (floor)"
AIOHTTP_PYDANTIC = "aiohttp + pydantic"
HTTPX_PYDANTIC = "httpx + pydantic"
SDK = "aelyst list_many"
SDK_LIMITER = "aelyst list_many, default limiter (scale only)"

Pull = Callable[[str, Iterator[str]], Coroutine[Any, Any, Tally]]


@attrs.frozen(kw_only=True)
class Run:
    """
    One client run: what it did, what it cost this process, and what decoding one page costs
    its decoder (timed right after it, in the same round).
    """

    tally: Tally
    cost: Cost
    decode: float

    @property
    def rate(self) -> float:
        return self.tally.messages / self.cost.wall

    @property
    def cpu_per_10k(self) -> float:
        return self.cost.cpu / self.tally.messages * 10_000

    @property
    def cpu_per_request(self) -> float:
        return self.cost.cpu / self.tally.requests

    @property
    def overhead(self) -> float:
        """
        Client CPU seconds per request outside decoding.
        """
        return self.cpu_per_request - self.decode


def variants(concurrency: int) -> dict[str, tuple[Pull, str]]:
    """
    Every client whose libraries are installed: (how it pulls, the decoder it pays for).
    """

    def sdk(limiter: bool) -> Pull:
        return lambda url, ids: pull_sdk(url, ids, concurrency=concurrency, limiter=limiter)

    found: dict[str, tuple[Pull, str]] = {
        FLOOR: (
            lambda url, ids: pull_aiohttp(url, ids, parse=parse_orjson, concurrency=concurrency),
            decode_bench.FLOOR,
        ),
    }
    if importlib.util.find_spec("pydantic") and importlib.util.find_spec("msgspec"):
        found[AIOHTTP_PYDANTIC] = (
            lambda url, ids: pull_aiohttp(url, ids, parse=parse_pydantic, concurrency=concurrency),
            decode_bench.PYDANTIC,
        )
        if importlib.util.find_spec("httpx"):
            found[HTTPX_PYDANTIC] = (
                lambda url, ids: pull_httpx(
                    url, ids, parse=parse_pydantic, concurrency=concurrency
                ),
                decode_bench.PYDANTIC,
            )
    found[SDK] = (sdk(False), decode_bench.SDK)
    found[SDK_LIMITER] = (sdk(True), decode_bench.SDK)
    return found


def _measure(
    pull: Pull, url: str, scale: Scale, decoder: decode_bench.Decoder, body: bytes
) -> Callable[[], Run]:
    """
    One run of a client over the whole dataset, then its decoder timed on `body`.
    """
    expected = scale.contacts * scale.messages

    async def timed() -> tuple[Tally, Cost]:
        with stopwatch() as watch:
            tally = await pull(url, identifiers(scale.contacts))
        if tally.messages != expected:
            raise RuntimeError(f"listed {tally.messages} messages, not {expected}")
        return tally, watch.cost

    decode = decode_bench.seconds_per_page(decoder, body, scale.decode_batch)

    def measure() -> Run:
        with decoder.around():
            tally, cost = asyncio.run(timed())
        return Run(tally=tally, cost=cost, decode=decode())

    return measure


@attrs.frozen(kw_only=True)
class E2EResult:
    """
    The runs of every client, in round order.
    """

    scale: Scale
    runs: dict[str, list[Run]]

    def sections(self) -> tuple[Section, Section]:
        """
        Section 2 (end to end) and section 5 (overhead per request).
        """
        runs, scale = self.runs, self.scale
        floor = runs[FLOOR]
        vs_floor = {
            name: ratio([r.rate for r in rs], [r.rate for r in floor]) for name, rs in runs.items()
        }
        lowest, highest = ratio_range([r.rate for r in runs[SDK]], [r.rate for r in floor])
        goals = [
            Goal(
                text="at least 0.5x the floor's messages/s",
                met=vs_floor[SDK] >= 0.5,
                measured=f"{vs_floor[SDK]:.3f}x; rounds from {lowest:.2f}x to {highest:.2f}x",
            )
        ]
        for rival in (AIOHTTP_PYDANTIC, HTTPX_PYDANTIC):
            if rival in runs:
                lead = ratio([r.rate for r in runs[SDK]], [r.rate for r in runs[rival]])
                goals.append(
                    Goal(
                        text=f"ahead of {rival}",
                        met=lead > 1,
                        measured=f"{lead:.2f}x its messages/s",
                    )
                )
        total = scale.contacts * scale.messages
        e2e = Section(
            title="2. End to end",
            intro=(
                f"{scale.contacts} contacts x {scale.messages} messages ({total:,} messages, "
                f"{total // PAGE_SIZE:,} requests) at concurrency {scale.concurrency}; the fake "
                "server in its own process, no rate limit; CPU is the client process's own."
            ),
            header=("client", "messages/s", "vs floor", "client CPU s per 10k messages"),
            rows=tuple(
                (
                    name,
                    f"{median(r.rate for r in rs):,.0f}",
                    f"{vs_floor[name]:.2f}x",
                    f"{median(r.cpu_per_10k for r in rs):.3f}",
                )
                for name, rs in runs.items()
            ),
            goals=tuple(goals),
            notes=(
                "Ratios are medians of per-round ratios; both the floor and the SDK keep one "
                "core busy, so messages/s follows client CPU per message.",
                "The default-limiter row paces with the limiter the SDK uses by default; this "
                "server sends no rate-limit headers, so the limiter learns the key is unmetered.",
            ),
        )
        overhead = Section(
            title="5. Overhead per request",
            intro=(
                "Client CPU per request minus the CPU of decoding one page with the client's "
                "own decoder, timed in the same rounds: HTTP client, paging and plumbing."
            ),
            header=(
                "client",
                "CPU µs/request",
                "decode µs/page",
                "overhead µs/request",
                "vs floor",
            ),
            rows=tuple(
                (
                    name,
                    f"{median(r.cpu_per_request for r in rs) * 1e6:,.0f}",
                    f"{median(r.decode for r in rs) * 1e6:,.0f}",
                    f"{median(r.overhead for r in rs) * 1e6:,.0f}",
                    f"{ratio([r.overhead for r in rs], [r.overhead for r in floor]):.2f}x",
                )
                for name, rs in runs.items()
            ),
            notes=(
                "Decoding inside a run costs more than in the tight loop that times it (colder "
                "caches, garbage collection of the pages still queued): that difference counts "
                "as overhead here.",
            ),
        )
        return e2e, overhead


def _page_body(url: str) -> bytes:
    """
    A full page of the benchmark's dataset, as this server sends it.
    """
    request = urllib.request.Request(
        f"{url}/contact/id:1/message/list?limit={PAGE_SIZE}",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body: bytes = response.read()
    return body


def run(scale: Scale) -> E2EResult:
    """
    Every client over the whole dataset, `scale.e2e_runs` interleaved rounds, after one untimed
    pass of the floor that fills the server's page cache.
    """
    clients = variants(scale.concurrency)
    decoders = decode_bench.decoders()
    with Server(contacts=scale.contacts, messages=scale.messages) as server:
        body = _page_body(server.url)
        measures = {
            name: _measure(pull, server.url, scale, decoders[decoder], body)
            for name, (pull, decoder) in clients.items()
        }
        measures[FLOOR]()
        return E2EResult(scale=scale, runs=rounds(measures, scale.e2e_runs))
