"""
3. Rate-limit efficiency: the fake server admits `scale.rate_limit` requests per second (a
bucket of that many tokens, refilled continuously over one second); `scale.concurrency`
contacts are listed for `scale.rate_seconds`.

The SDK paces with its default `TokenBucketLimiter`; the naive client is the hand-written loop,
which sleeps `Retry-After` on each 429. Every run brings a token of its own, so it starts with
a full bucket on the server. Successes and 429s are the server's own counts.

The share of the limit is the successes over the most the server can admit in the run:
`limit` (the full bucket at the start) plus `limit` per second of the run.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Coroutine
from typing import Any

import attrs

from ._clients import Tally, identifiers, parse_orjson, pull_aiohttp, pull_sdk
from ._harness import Goal, Scale, Section, Server, median, rounds, stopwatch

__all__ = ["RateResult", "RateRun", "run"]

SDK = "aelyst list_many, default limiter"
NAIVE = "naive: aiohttp, sleeps Retry-After on 429"

Pull = Callable[[str, str], Coroutine[Any, Any, Tally]]


@attrs.frozen(kw_only=True)
class RateRun:
    """
    One run, counted by the server: successes, 429s, and how long it lasted.
    """

    ok: int
    rate_limited: int
    seconds: float
    limit: int

    @property
    def share(self) -> float:
        """
        Successes over the most the server admits in `seconds` from a full bucket.
        """
        return self.ok / (self.limit + self.limit * self.seconds)


@attrs.frozen(kw_only=True)
class RateResult:
    """
    The runs of each client, in round order.
    """

    scale: Scale
    runs: dict[str, list[RateRun]]

    def section(self) -> Section:
        scale = self.scale
        sdk = self.runs[SDK]
        share = median(r.share for r in sdk)
        worst = max(r.rate_limited for r in sdk)
        return Section(
            title="3. Rate-limit efficiency",
            intro=(
                f"The server admits {scale.rate_limit} requests/s (a bucket of "
                f"{scale.rate_limit}, refilled continuously); {scale.concurrency} contacts at "
                f"once for {scale.rate_seconds:g} s per run.\n"
                "Share of the limit: successful requests over the most the server admits in "
                "the run (the full bucket plus the refill)."
            ),
            header=(
                "client",
                "successful requests/s",
                "share of the limit",
                "429s per run (median)",
                "429s (worst run)",
            ),
            rows=tuple(
                (
                    name,
                    f"{median(r.ok / r.seconds for r in runs):.2f}",
                    f"{median(r.share for r in runs):.3f}",
                    f"{median(r.rate_limited for r in runs):g}",
                    f"{max(r.rate_limited for r in runs)}",
                )
                for name, runs in self.runs.items()
            ),
            goals=(
                Goal(text="at least 0.95 of the limit", met=share >= 0.95, measured=f"{share:.3f}"),
                Goal(
                    text="at most one 429 per run", met=worst <= 1, measured=f"worst run: {worst}"
                ),
            ),
        )


def run(scale: Scale) -> RateResult:
    """
    Both clients, `scale.runs` interleaved rounds, against one rate-limited server.
    """
    tokens = (f"bench-rate-{n}" for n in itertools.count())
    every = scale.contacts

    def sdk(url: str, token: str) -> Coroutine[Any, Any, Tally]:
        return pull_sdk(
            url,
            identifiers(every),
            concurrency=scale.concurrency,
            limiter=True,
            seconds=scale.rate_seconds,
            token=token,
        )

    def naive(url: str, token: str) -> Coroutine[Any, Any, Tally]:
        return pull_aiohttp(
            url,
            identifiers(every),
            parse=parse_orjson,
            concurrency=scale.concurrency,
            seconds=scale.rate_seconds,
            token=token,
        )

    with Server(
        contacts=scale.contacts, messages=scale.messages, rate_limit=scale.rate_limit
    ) as server:

        def measure(pull: Pull) -> Callable[[], RateRun]:
            def once() -> RateRun:
                before = server.counts()
                with stopwatch() as watch:
                    asyncio.run(pull(server.url, next(tokens)))
                time.sleep(0.2)  # let the server finish what was in flight at the stop
                counted = server.counts() - before
                return RateRun(
                    ok=counted.ok,
                    rate_limited=counted.rate_limited,
                    seconds=watch.cost.wall,
                    limit=scale.rate_limit,
                )

            return once

        return RateResult(
            scale=scale, runs=rounds({SDK: measure(sdk), NAIVE: measure(naive)}, scale.runs)
        )
