"""
The retry loop: one call, several attempts, one deadline. Pure orchestration: the attempt
itself (`send`) and the decoding (`decode`) are given, and nothing here imports aiohttp.

Rules:

1. Each attempt: wait for the rate limiter, send, read the rate-limit headers, tell the
   limiter, classify the response, decode a 2xx.
2. Retried: connection errors, timeouts, the statuses in `policy.retry_statuses`, and
   decode errors when `policy.retry_decode_errors`. Anything else is raised at once, so
   400, 401, 403 and 404 cost exactly one attempt. When `policy.max_attempts` attempts have
   failed, the last error is raised as it is.
3. The wait before retry number `n` (1 for the first retry) is `policy.backoff(n, random())`
   (full jitter), unless the response said how long to wait:
   - a `Retry-After` longer than `policy.max_retry_after` raises the error (a
     `RateLimitError` carries `retry_after` and `retry_at`) at once, without waiting;
   - with a rate limiter, a response with `Retry-After`, or any 429, has paused the key in
     the limiter (its contract), so the wait happens in the next `acquire()` and the loop
     does not sleep on top of it;
   - without one, the loop sleeps `Retry-After` (backoff for a 429 without it).
   The limiter is told a `Retry-After` capped at `policy.max_retry_after`: a call raises on
   a longer one, but the shared key is paused no longer than the policy allows, so one
   absurd header cannot brick every later call (the same for a 503 as for a 429).
4. Deadline. `total` seconds cover attempts, sleeps and limiter waits together: each
   attempt's `send` gets the seconds left, and `acquire` the same as its timeout. When the
   time left cannot cover the next wait (known in advance: a backoff or a `Retry-After`), or
   the limiter cannot grant in time, or no time is left for an attempt, the loop stops
   without waiting in vain and raises `APITimeoutError("GET /v1/...: deadline of Ns exceeded
   after K attempts")`, chained from the last error (in `__cause__`; `None` when no attempt
   was made). One exception type for "out of time" lets callers catch it (it is also a
   `TimeoutError`) whatever the last failure was, and the cause is one attribute away.
   Except: a call that cannot start because the limiter pauses its key past the deadline
   raises `RateLimitError` with `retry_after` and `retry_at` (when the pause ends), as the
   response that caused the pause would have. A body of `THREADED_DECODE_BYTES` or more is
   decoded in a worker thread while the loop watches the deadline, so that decoding a
   large body (or many at once) cannot hold a call past it.
5. Logging, to the `aelyst_async` logger: exactly one INFO line per retry, naming the
   route template (`description`), the wait, the attempt about to be made and the reason
   (`HTTP 503`, `connection error`, `timeout`, `invalid body`). Nothing at INFO or above on
   success, and never a body, a header, a token or a concrete identifier.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import random as _random
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

import attrs

from ._clock import Clock
from ._config import RetryPolicy
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseDecodeError,
    APIStatusError,
    APITimeoutError,
    RateLimitError,
)
from ._http import Response
from ._limiter import RateLimiter
from ._models import RateLimit
from ._protocol import error_for_response, parse_rate_limit, utc_datetime

__all__ = ["THREADED_DECODE_BYTES", "call_with_retries"]

T = TypeVar("T")

THREADED_DECODE_BYTES = 256 * 1024
"""Bodies from this size up are decoded in a worker thread (module rule 4)."""


@functools.cache
def _decoder() -> concurrent.futures.ThreadPoolExecutor:
    """
    One thread for every large decode of the process: decoders hold the GIL for long stretches
    in C, so several at once would starve the event loop (and its timers) between them.
    Made on the first large body, so that importing the package starts no thread machinery.
    """
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="aelyst-decode")


_LOGGER = logging.getLogger("aelyst_async")


class _Deadline:
    """
    The time left of one call.
    """

    def __init__(self, clock: Clock, total: float | None, description: str) -> None:
        self.clock = clock
        self.total = total
        self.description = description
        self.at = None if total is None else clock.monotonic() + total

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - self.clock.monotonic()

    def exceeded(self, attempts: int, last: APIError | None) -> APITimeoutError:
        """
        The error to raise, `from last`, when the deadline cannot cover what is left to do.
        """
        plural = "" if attempts == 1 else "s"
        return APITimeoutError(
            f"{self.description}: deadline of {self.total:g}s exceeded after {attempts} "
            f"attempt{plural}",
            url=None if last is None else last.url,
        )


async def call_with_retries(
    send: Callable[[float | None], Awaitable[Response]],
    decode: Callable[[Response, RateLimit], T],
    *,
    policy: RetryPolicy,
    limiter: RateLimiter | None,
    key: Hashable,
    clock: Clock,
    total: float | None,
    random: Callable[[], float] = _random.random,
    logger: logging.Logger = _LOGGER,
    description: str,
) -> T:
    """
    Make one API call, retrying it as `policy` allows within `total` seconds.

    Args:
        send: Makes one attempt; receives the seconds left for the whole call (`None`: no
            deadline) and raises `APIConnectionError` or `APITimeoutError` on transport faults.
        decode: Turns a 2xx response into the result; raises `APIResponseDecodeError`.
        policy: What is retried, how often, and how long to back off.
        limiter: The rate limiter to wait on before each attempt, or `None`.
        key: The limiter key of this call.
        clock: The clock for backoff sleeps and the deadline.
        total: Seconds for the whole call, attempts, sleeps and limiter waits together;
            `None` for no deadline.
        random: A source of numbers in `[0, 1)` for the jitter.
        logger: Where the retry lines go.
        description: The call as it may be logged: method and route template, never a
            concrete identifier nor a token, e.g. `GET /v1/contact/{identifier}/message/list`.

    Returns:
        What `decode` made of the first successful response.

    Raises:
        APIStatusError: A response that is not retried, or the last one when attempts ran
            out (`RateLimitError` also when `Retry-After` exceeds `policy.max_retry_after`).
        APIConnectionError: The last transport fault when attempts ran out.
        APIResponseDecodeError: A body that could not be decoded, when not retried or last.
        APITimeoutError: When the deadline cannot cover what is left to do (module rule 4).

    Example:
        ```python
        page = await call_with_retries(
            send, decode_page, policy=RetryPolicy(), limiter=limiter, key=key,
            clock=SystemClock(), total=60, description="GET /v1/contact/{identifier}/message/list",
        )
        ```
    """
    deadline = _Deadline(clock, total, description)
    last_error: APIError | None = None
    attempt = 0
    while True:
        if limiter is not None:
            try:
                await limiter.acquire(key, timeout=deadline.remaining())
            except TimeoutError as exc:
                paused_for = getattr(exc, "retry_after", None)
                if isinstance(paused_for, (int, float)):
                    raise _paused(deadline, float(paused_for), last_error) from last_error
                raise deadline.exceeded(attempt, last_error) from last_error
        remaining = deadline.remaining()
        if remaining is not None and remaining <= 0:
            raise deadline.exceeded(attempt, last_error) from last_error
        attempt += 1
        retry_after: float | None = None
        try:
            response = await send(remaining)
        except APIConnectionError as exc:
            error: APIError = exc
            reason = "timeout" if isinstance(exc, APITimeoutError) else "connection error"
        else:
            rate_limit = parse_rate_limit(response.headers, now=clock.wall())
            if limiter is not None:
                limiter.observe(key, response.status, _capped(rate_limit, policy))
            status_error = error_for_response(response, rate_limit)
            if status_error is None:
                try:
                    return await _decode(decode, response, rate_limit, deadline, attempt)
                except APIResponseDecodeError as exc:
                    if not policy.retry_decode_errors:
                        raise
                    error, reason = exc, "invalid body"
            else:
                retry_after = rate_limit.retry_after
                _raise_unless_retryable(status_error, retry_after, policy)
                error, reason = status_error, f"HTTP {status_error.status}"
        last_error = error
        if attempt >= policy.max_attempts:
            raise error
        wait, waits_in_limiter = _wait_before_retry(
            error, retry_after, attempt, policy, limiter, random
        )
        remaining = deadline.remaining()
        if remaining is not None and wait >= remaining:
            raise deadline.exceeded(attempt, last_error) from last_error
        when = (
            "when the rate limiter allows" if waits_in_limiter and wait == 0 else f"in {wait:.2f}s"
        )
        logger.info(
            "retrying %s %s (attempt %d of %d): %s",
            description,
            when,
            attempt + 1,
            policy.max_attempts,
            reason,
        )
        if not waits_in_limiter:
            await clock.sleep(wait)


def _capped(rate_limit: RateLimit, policy: RetryPolicy) -> RateLimit:
    """
    The rate limit as the limiter is told it: `Retry-After` at most `max_retry_after`.
    """
    retry_after = rate_limit.retry_after
    if retry_after is None or retry_after <= policy.max_retry_after:
        return rate_limit
    return attrs.evolve(rate_limit, retry_after=policy.max_retry_after)


def _paused(deadline: _Deadline, retry_after: float, last: APIError | None) -> RateLimitError:
    """
    The error of a call whose key is paused past its deadline (module rule 4).
    """
    status = last.status if isinstance(last, APIStatusError) else 429
    return RateLimitError(
        f"{deadline.description}: the rate limiter pauses this key for another "
        f"{retry_after:.3g}s, past the deadline of {deadline.total:g}s; retry after "
        f"{retry_after:.3g}s",
        status=status,
        retry_after=retry_after,
        url=None if last is None else last.url,
        received_at=utc_datetime(deadline.clock.wall()),
    )


async def _decode(
    decode: Callable[[Response, RateLimit], T],
    response: Response,
    rate_limit: RateLimit,
    deadline: _Deadline,
    attempts: int,
) -> T:
    """
    Decode a 2xx: at once for a small body, in a worker thread within the deadline for a
    large one (module rule 4).
    """
    remaining = deadline.remaining()
    if remaining is None or len(response.body) < THREADED_DECODE_BYTES:
        return decode(response, rate_limit)
    work = asyncio.get_running_loop().run_in_executor(_decoder(), decode, response, rate_limit)
    timer = asyncio.ensure_future(deadline.clock.sleep(remaining))
    either: set[asyncio.Future[Any]] = {work, timer}
    try:
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        # A decode still queued is dropped; one running cannot be stopped, and its result
        # is dropped when it ends.
        if not work.done():
            work.cancel()
    if work.cancelled():
        raise deadline.exceeded(attempts, None)
    return work.result()


def _raise_unless_retryable(
    error: APIStatusError, retry_after: float | None, policy: RetryPolicy
) -> None:
    """
    Raise a status error that module rules 2 and 3 do not retry.
    """
    if error.status not in policy.retry_statuses:
        raise error
    if retry_after is not None and retry_after > policy.max_retry_after:
        raise error


def _wait_before_retry(
    error: APIError,
    retry_after: float | None,
    attempt: int,
    policy: RetryPolicy,
    limiter: RateLimiter | None,
    random: Callable[[], float],
) -> tuple[float, bool]:
    """
    How long to wait before the next attempt, and whether the limiter does the waiting.

    Returns:
        `(seconds, in_limiter)`; when `in_limiter`, `seconds` is what the response asked for
        (0 when it did not say) and the loop does not sleep.
    """
    paused_by_server = retry_after is not None or isinstance(error, RateLimitError)
    if limiter is not None and paused_by_server:
        return retry_after or 0.0, True
    if retry_after is not None:
        return retry_after, False
    return policy.backoff(attempt, random()), False
