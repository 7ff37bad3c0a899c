"""
One page fetch as it is counted, logged and traced, attempt by attempt.

Rules:

1. Every attempt updates the client's `ClientStats`, makes one DEBUG line on the
   `aelyst_async` logger and, when telemetry is configured, one telemetry record; every
   response gets its `ResponseInfo`, which the page or the error it becomes carries.
2. The DEBUG line names the method and route template, the contact as a short stable hash
   (`contact=#1a2b3c4d`: the same contact always has the same hash, and the hash does not
   show the identifier), the status or the fault, the time the attempt took, the time it
   waited for the rate limiter, the rate-limit headers seen, the attempt number and the
   server's request id. Never a token, a body, a URL or a concrete identifier.
3. Nothing is formatted when DEBUG is off, and nothing is traced when no telemetry is
   configured: an attempt then costs a few clock reads more, and no telemetry library is
   imported.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterator
from typing import TYPE_CHECKING, Protocol

import attrs
import yarl

from ._exceptions import APIConnectionError, APITimeoutError
from ._http import Response
from ._identifiers import Identifier
from ._limiter import RateLimiter
from ._models import RateLimit
from ._protocol import parse_rate_limit
from ._response import ResponseInfo, redact_headers
from ._routes import redact_url

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from ._client import ClientStats
    from ._clock import Clock

__all__ = ["Attempt", "CallDescription", "CallTrace", "PageCall", "Telemetry", "contact_hash"]

_LOGGER = logging.getLogger("aelyst_async")


def contact_hash(identifier: Identifier | str) -> str:
    """
    A short, stable stand-in for an identifier in logs and spans: 8 hex digits of its SHA-256
    (of its text, `email:abdc@gmail.com`, which the fake server hashes as it received it).
    """
    return hashlib.sha256(str(identifier).encode()).hexdigest()[:8]


@attrs.frozen(kw_only=True)
class CallDescription:
    """
    One page fetch as telemetry may describe it: nothing here names the contact.

    Attributes:
        method: The HTTP method.
        route: The path template, e.g. `/v1/contact/{identifier}/message/list`.
        base_url: The client's base URL (for `server.address` and `server.port`).
        url: The request's URL with the identifier and the cursor redacted.
        contact: The contact's `contact_hash`.
    """

    method: str
    route: str
    base_url: yarl.URL
    url: str
    contact: str


@attrs.frozen(kw_only=True)
class Attempt:
    """
    One attempt of a page fetch, as the log line and telemetry see it.

    Attributes:
        number: 1 for the first attempt, 2 for the first retry, ...
        limiter_wait: Seconds this attempt waited for the rate limiter.
        duration: Seconds from sending the request to having its whole response.
        status: The HTTP status, or `None` when no response arrived.
        fault: `timeout` or `connection error` when no response arrived, else `None`.
        rate_limit: The rate-limit headers of the response.
        request_id: The server's id of the request, when it sent one.
    """

    number: int
    limiter_wait: float
    duration: float
    status: int | None
    fault: str | None = None
    rate_limit: RateLimit = attrs.field(factory=RateLimit)
    request_id: str | None = None


class CallTrace(Protocol):
    """
    What telemetry is told of one page fetch while it runs.
    """

    def attempted(self, attempt: Attempt) -> None:
        """
        One attempt has ended, with a response or a fault.
        """
        ...


class Telemetry(Protocol):
    """
    A tracing back end: `aelyst_async.otel.OpenTelemetry` is the one the SDK ships.
    """

    def trace_call(self, call: CallDescription) -> AbstractContextManager[CallTrace]:
        """
        A context around one page fetch (a span), current while its attempts run; it sees
        the exception that ends the fetch, if one does.
        """
        ...


class _TimedLimiter:
    """
    One call's view of the client's limiter: the same limiter, its waits timed.
    """

    def __init__(self, limiter: RateLimiter, clock: Clock) -> None:
        self._limiter = limiter
        self._clock = clock
        self._waited = 0.0

    async def acquire(self, key: Hashable, *, timeout: float | None = None) -> None:
        started = self._clock.monotonic()
        try:
            await self._limiter.acquire(key, timeout=timeout)
        finally:
            self._waited += self._clock.monotonic() - started

    def observe(self, key: Hashable, status: int, rate_limit: RateLimit) -> None:
        self._limiter.observe(key, status, rate_limit)

    def take_wait(self) -> float:
        """
        The seconds waited since the last call, which starts the count again.
        """
        waited, self._waited = self._waited, 0.0
        return waited


class PageCall:
    """
    The attempts of one page fetch: sends them, counts them, logs them, traces them.

    Args:
        send: Sends one attempt; receives the seconds left of the call as `remaining=`.
        clock: The client's clock.
        stats: The client's counters.
        route: The path template, e.g. `/v1/contact/{identifier}/message/list`.
        base_url: The client's base URL.
        identifier: The contact (only its hash is ever shown).
        url: The request's URL (only its redacted form is ever shown).
        logger: Where the DEBUG lines go.
    """

    def __init__(
        self,
        send: Callable[..., Awaitable[Response]],
        *,
        clock: Clock,
        stats: ClientStats,
        route: str,
        base_url: yarl.URL,
        identifier: Identifier,
        url: str,
        logger: logging.Logger = _LOGGER,
    ) -> None:
        self._send = send
        self._clock = clock
        self._stats = stats
        self._route = route
        self._base_url = base_url
        self._identifier = identifier
        self._url = url
        self._trace: CallTrace | None = None
        self._logger = logger
        self._started = clock.monotonic()
        self._attempts = 0
        self._timed: _TimedLimiter | None = None

    @functools.cached_property
    def description(self) -> CallDescription:
        """
        The fetch as logs and telemetry may describe it; built only when one of them asks.
        """
        return CallDescription(
            method="GET",
            route=self._route,
            base_url=self._base_url,
            url=redact_url(self._url),
            contact=contact_hash(self._identifier),
        )

    @contextlib.contextmanager
    def traced(self, telemetry: Telemetry) -> Iterator[None]:
        """
        Run the fetch inside `telemetry`'s context: its span, current meanwhile.
        """
        with telemetry.trace_call(self.description) as trace:
            self._trace = trace
            yield

    def timed(self, limiter: RateLimiter) -> RateLimiter:
        """
        `limiter`, its waits timed for this fetch's records.
        """
        self._timed = _TimedLimiter(limiter, self._clock)
        return self._timed

    async def send(self, remaining: float | None) -> Response:
        """
        Make one attempt: the response comes back with its `ResponseInfo`.

        Raises:
            APIConnectionError: As the transport raised it, once logged and traced.
        """
        self._attempts += 1
        stats = self._stats
        stats.requests += 1
        stats.retries += self._attempts > 1
        waited = 0.0 if self._timed is None else self._timed.take_wait()
        started = self._clock.monotonic()
        try:
            response = await self._send(remaining=remaining)
        except APIConnectionError as exc:
            fault = "timeout" if isinstance(exc, APITimeoutError) else "connection error"
            duration = self._clock.monotonic() - started
            attempt = Attempt(
                number=self._attempts,
                limiter_wait=waited,
                duration=duration,
                status=None,
                fault=fault,
            )
            self._record(attempt)
            raise
        finished = self._clock.monotonic()
        stats.rate_limited += response.status == 429
        info = ResponseInfo(
            status=response.status,
            headers=redact_headers(response.headers),
            attempts=self._attempts,
            elapsed_seconds=finished - self._started,
            received_timestamp=self._clock.wall(),
        )
        if self._trace is not None or self._logger.isEnabledFor(logging.DEBUG):
            rate_limit = parse_rate_limit(response.headers, now=self._clock.wall())
            attempt = Attempt(
                number=self._attempts,
                limiter_wait=waited,
                duration=finished - started,
                status=response.status,
                rate_limit=rate_limit,
                request_id=info.request_id,
            )
            self._record(attempt)
        return Response(
            status=response.status,
            headers=response.headers,
            body=response.body,
            url=response.url,
            info=info,
        )

    def _record(self, attempt: Attempt) -> None:
        if self._trace is not None:
            self._trace.attempted(attempt)
        if not self._logger.isEnabledFor(logging.DEBUG):
            return
        call, rate_limit = self.description, attempt.rate_limit
        self._logger.debug(
            "%s %s contact=#%s attempt=%d status=%s elapsed_ms=%.1f limiter_wait_ms=%.1f "
            "ratelimit_limit=%s ratelimit_remaining=%s retry_after=%s request_id=%s",
            call.method,
            call.route,
            call.contact,
            attempt.number,
            attempt.status if attempt.status is not None else f"({attempt.fault})",
            attempt.duration * 1000,
            attempt.limiter_wait * 1000,
            _or_dash(rate_limit.limit),
            _or_dash(rate_limit.remaining),
            "-" if rate_limit.retry_after is None else f"{rate_limit.retry_after:g}s",
            attempt.request_id or "-",
        )


def _or_dash(value: int | None) -> str:
    return "-" if value is None else str(value)
