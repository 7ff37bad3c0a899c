"""
The clients the benchmarks drive: the SDK's `list_many`, and one hand-written paging loop that
every rival shares, over aiohttp or httpx, decoding with orjson or pydantic.

Rules:

1. The hand-written loop is the floor: `concurrency` workers share one iterator of contacts;
   each follows its contact's `next` links as they come, decodes every page, and on a 429
   sleeps `Retry-After` and asks again (the naive client of the rate-limit benchmark).
2. The SDK is driven as a user would: `list_many(..., concurrency=...)`, a consumer that
   counts each page and drops it.
3. A run with `seconds` stops there: the loop sends nothing after it, and the SDK's stream
   is closed, which cancels what is in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import attrs
import orjson

from aelyst_async import AelystClient, FailureResult, RateLimiter

from ._harness import PAGE_SIZE, TOKEN

__all__ = [
    "Tally",
    "identifiers",
    "parse_orjson",
    "parse_pydantic",
    "pull_aiohttp",
    "pull_httpx",
    "pull_sdk",
]

Get = Callable[[str], Awaitable[tuple[int, str | None, bytes]]]
"""One GET: url -> (status, Retry-After, body)."""
Parse = Callable[[bytes], tuple[int, str | None]]
"""One page body -> (messages on it, its `next` link or None)."""


@attrs.define(kw_only=True)
class Tally:
    """
    What one client run did, counted on the client's side.
    """

    messages: int = 0
    pages: int = 0
    requests: int = 0
    rate_limited: int = 0


def identifiers(contacts: int, count: int | None = None) -> Iterator[str]:
    """
    `count` identifiers cycling over the dataset's `contacts` (all of them once by default).
    """
    return (f"id:{1 + n % contacts}" for n in range(contacts if count is None else count))


def parse_orjson(body: bytes) -> tuple[int, str | None]:
    """
    The floor: JSON to dicts, nothing checked.
    """
    data = orjson.loads(body)
    return len(data["items"]), data["pagination"].get("next") or None


def parse_pydantic(body: bytes) -> tuple[int, str | None]:
    """
    pydantic v2, with models as faithful as the SDK's.
    """
    from ._rivals import pydantic_adapter

    page = pydantic_adapter.validate_json(body)
    return len(page.items), page.pagination.next or None


async def _loop(
    get: Get, parse: Parse, base_url: str, contacts: Iterator[str], concurrency: int, stop: float
) -> Tally:
    tally = Tally()

    async def worker() -> None:
        for identifier in contacts:
            url: str | None = f"{base_url}/contact/{identifier}/message/list?limit={PAGE_SIZE}"
            while url:
                if time.monotonic() >= stop:
                    return
                status, retry_after, body = await get(url)
                tally.requests += 1
                if status == 429:
                    tally.rate_limited += 1
                    await asyncio.sleep(float(retry_after or 1))
                    continue
                if status != 200:
                    raise RuntimeError(f"HTTP {status} from {url}")
                count, url = parse(body)
                tally.messages += count
                tally.pages += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tally


def _stop(seconds: float | None) -> float:
    return time.monotonic() + seconds if seconds is not None else float("inf")


async def pull_aiohttp(
    base_url: str,
    contacts: Iterator[str],
    *,
    parse: Parse,
    concurrency: int,
    seconds: float | None = None,
    token: str = TOKEN,
) -> Tally:
    """
    The hand-written loop over one `aiohttp.ClientSession`.
    """
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def get(url: str) -> tuple[int, str | None, bytes]:
            async with session.get(url) as response:
                body = await response.read()
                return response.status, response.headers.get("Retry-After"), body

        return await _loop(get, parse, base_url, contacts, concurrency, _stop(seconds))


async def pull_httpx(
    base_url: str,
    contacts: Iterator[str],
    *,
    parse: Parse,
    concurrency: int,
    seconds: float | None = None,
    token: str = TOKEN,
) -> Tally:
    """
    The hand-written loop over one `httpx.AsyncClient`.
    """
    import httpx

    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(headers=headers, limits=limits) as client:

        async def get(url: str) -> tuple[int, str | None, bytes]:
            response = await client.get(url)
            return response.status_code, response.headers.get("Retry-After"), response.content

        return await _loop(get, parse, base_url, contacts, concurrency, _stop(seconds))


async def pull_sdk(
    base_url: str,
    contacts: Iterator[str],
    *,
    concurrency: int,
    limiter: bool = False,
    seconds: float | None = None,
    token: str = TOKEN,
    on_page: Callable[[], Any] | None = None,
    rate_limiter: RateLimiter | None = None,
) -> Tally:
    """
    `client.messages.list_many` with a consumer that counts each page and drops it.

    Args:
        limiter: Pace with the client's default `TokenBucketLimiter` (else `rate_limiter=None`).
        on_page: Called after each page (the memory benchmark samples RSS there).
        rate_limiter: Pace with this limiter instead (`limiter` is then ignored).
    """
    tally = Tally()
    stop = _stop(seconds)
    options: dict[str, Any] = {} if limiter else {"rate_limiter": None}
    if rate_limiter is not None:
        options = {"rate_limiter": rate_limiter}
    async with AelystClient(token, base_url=base_url, **options) as client:
        stream = client.messages.list_many(contacts, concurrency=concurrency, limit=PAGE_SIZE)
        async with stream:
            async for result in stream:
                if isinstance(result, FailureResult):
                    raise result.error
                tally.messages += len(result.page.items)
                tally.pages += 1
                if on_page is not None:
                    on_page()
                if time.monotonic() >= stop:
                    break
        tally.requests = client.stats.requests
        tally.rate_limited = client.stats.rate_limited
    return tally
