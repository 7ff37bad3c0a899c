"""
`AelystClient`: configuration, the session it owns, and the request path of each page
(`client.messages`, the resource, is `_messages.py`).

Rules:

1. The token lives in one private `_Secret`; no repr, log line or error message shows it,
   and it is only ever sent to the configured base URL (requests are built on it alone).
2. One rate limiter is shared by every task of a client, keyed by endpoint (route template)
   and by a fingerprint of the token, never by the token itself.
3. A client owns the aiohttp session it created and closes it; a session passed in is
   borrowed and left open.
4. A client belongs to the event loop of its first request: a request from another loop is
   refused with an `AelystError` that says what to do (aiohttp's session, and the limiter,
   cannot move between loops). A client dropped with its own session open warns once, with
   a `RuntimeWarning` (shown by default, like asyncio's "never awaited"), how to close it.
5. Each page fetch is one `PageCall`: it counts, logs and traces the attempts, and gives the
   page or the error its `ResponseInfo` (`_instrument.py`).
6. Creating a client loads only what creating it needs. The request path (retries,
   instrumentation, the limiter a client makes for itself, decoding) is imported by the
   first request or the first look at `rate_limiter`, so `import aelyst_async` costs
   little more than `import aiohttp`.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import ssl as _ssl
import warnings
from collections.abc import Awaitable, Callable, Hashable, Mapping
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Final

import attrs
import yarl

from ._checks import (
    check_bool,
    check_clock,
    check_int,
    check_methods,
)
from ._clock import Clock
from ._config import RetryPolicy, Timeout, check_retry
from ._decoding import decode_page
from ._exceptions import AelystError, InvalidArgumentError, ResponseTooLargeError
from ._http import Response, Transport
from ._identifiers import Identifier
from ._messages import Messages
from ._network import check_ssl, proxy_for, request_headers
from ._routes import (
    DEFAULT_BASE_URL,
    LIST_MESSAGES_PATH,
    LIST_MESSAGES_ROUTE,
    check_base_url,
    list_messages_url,
)
from ._transport import DEFAULT_MAX_RESPONSE_BYTES, AiohttpTransport

if TYPE_CHECKING:
    import aiohttp

    from ._instrument import Telemetry
    from ._limiter import RateLimiter
    from ._models import Page

__all__ = ["DEFAULT_BASE_URL", "AelystClient", "ClientStats"]

_OTHER_LOOP = (
    "this AelystClient was first used in another event loop (a second asyncio.run()?), and a"
    " client cannot move between loops: create it inside the coroutine that asyncio.run()"
    " runs, e.g. `async with AelystClient() as client:` in your main(), or make one client"
    " per asyncio.run()"
)
_UNCLOSED = (
    "{!r} was dropped without being closed, leaving its connections open: use"
    " `async with AelystClient() as client:`, or `await client.aclose()` when done with it"
)

TOKEN_ENV: Final = "AELYST_TOKEN"
BASE_URL_ENV: Final = "AELYST_BASE_URL"


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Final = _Default()
"""The default of `rate_limiter=`: a `TokenBucketLimiter` of the client's own, made when
first needed (module rule 6)."""


class _Secret:
    """
    The token, and the request headers that carry it, neither of which shows itself.
    """

    __slots__ = ("_headers", "_value")

    def __init__(self, value: str, *, headers: Mapping[str, str]) -> None:
        self._value = value
        # Built once: every request sends the same headers.
        self._headers = MappingProxyType({**headers, "Authorization": f"Bearer {value}"})

    def request_headers(self) -> Mapping[str, str]:
        """
        `headers` with the token's `Authorization` header added.
        """
        return self._headers

    def fingerprint(self) -> str:
        return hashlib.sha256(self._value.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return "_Secret('***')"

    __str__ = __repr__


@attrs.define(kw_only=True)
class ClientStats:
    """
    Counters of what a client sent, for progress displays and summaries.

    Attributes:
        requests: HTTP requests sent, retries included.
        retries: Requests that were retries of an earlier attempt.
        rate_limited: 429 answers received.
    """

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0


async def _unless_closed(
    closing: asyncio.Event,
    send: Callable[[float | None], Awaitable[Response]],
    remaining: float | None,
) -> Response:
    """
    One attempt, unless its `list_many` stream has closed meanwhile: a worker that swallowed
    its cancellation then stops here, before sending (`_bulk` rule 8).
    """
    if closing.is_set():
        raise asyncio.CancelledError("the list_many stream is closed")
    return await send(remaining)


def _check_rate_limiter(limiter: object) -> RateLimiter | _Default | None:
    """
    Validate `rate_limiter=`: `DEFAULT`, `None`, or something with a `RateLimiter`'s methods.

    Raises:
        InvalidArgumentError: Naming the value, when it is anything else.
    """
    if limiter is None or isinstance(limiter, _Default):
        return limiter
    checked: RateLimiter = check_methods(
        "rate_limiter", limiter, "RateLimiter (or be None)", ("acquire", "observe")
    )
    return checked


def _check_transport(
    transport: object,
    *,
    session: object,
    proxy: object,
    trust_env: object,
    ssl: object,
) -> Transport:
    """
    Validate `transport=`: a `Transport`, without the options of the SDK's own.

    Raises:
        InvalidArgumentError: Naming what is wrong.
    """
    checked: Transport = check_methods("transport", transport, "Transport", ("get", "aclose"))
    own = {"session": session, "proxy": proxy, "trust_env": trust_env}
    given = [f"{name}=" for name, value in own.items() if value is not None]
    given += ["ssl="] if ssl is not True else []
    if given:
        raise InvalidArgumentError(
            f"{', '.join(given)} {'configure' if len(given) > 1 else 'configures'} the SDK's "
            f"own transport: pass either that or transport=, not both (transport={transport!r})"
        )
    return checked


class AelystClient:
    """
    The Aelyst API client.

    Args:
        token: The API token; defaults to `$AELYST_TOKEN`.
        base_url: The API's base URL; defaults to `$AELYST_BASE_URL`, then
            `https://api.aelyst.ai/v1`.
        timeout: A `Timeout`, or seconds for the whole of each call.
        retry: The `RetryPolicy` of every call (default: `RetryPolicy()`).
        rate_limiter: The limiter shared by every request of this client: by default a
            `TokenBucketLimiter` of its own; pass one to share a quota between clients, or
            `None` to turn pacing off.
        session: An `aiohttp.ClientSession` to borrow; it is not closed by the client, and
            keeps its own proxy and TLS settings unless `proxy=` or `ssl=` are given.
        clock: The clock for pacing, backoff and deadlines (tests pass a `FakeClock`).
        max_response_bytes: The largest response body read, in bytes (default 16 MiB, some
            hundred times a full page); a longer one raises `ResponseTooLargeError`, counted
            after decompression. `None` lifts the cap (only for a server you trust). A
            transport of your own bounds its own reads; the client refuses a longer body
            when it returns one.
        proxy: The proxy every request goes through, e.g. `http://user:pass@proxy:3128`;
            by default the one the environment names (`HTTPS_PROXY`, `HTTP_PROXY`,
            `NO_PROXY`), read when the client is created.
        trust_env: Whether to read the proxy from the environment (default `True`); for a
            borrowed `session`, set `trust_env` on that session instead.
        ssl: `True` to verify the server's certificate, `False` not to (never in
            production), or an `ssl.SSLContext` (a private CA, a client certificate).
        default_headers: Headers sent with every request; they cannot set `Authorization`
            nor `User-Agent`.
        user_agent: Appended to the SDK's own `User-Agent`, e.g. `"my-app/1.2"`.
        telemetry: Where traces and metrics go, e.g. `aelyst_async.otel.OpenTelemetry()`
            (the `otel` extra); `None`, the default, traces nothing and imports nothing.
        transport: The `Transport` every request goes through, instead of the SDK's own
            aiohttp one (another HTTP library, a test double); the client closes it when it
            is closed. Not with `session=`, `proxy=`, `trust_env=` nor `ssl=`, which
            configure the SDK's own.

    Raises:
        InvalidArgumentError: When no token is given nor set, or an option is invalid.

    Example:
        ```python
        async with AelystClient() as client:  # token from $AELYST_TOKEN
            async for message in client.messages.list("id:123"):
                print(message.message_id)
        ```
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str | yarl.URL | None = None,
        timeout: Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        rate_limiter: RateLimiter | _Default | None = DEFAULT,
        session: aiohttp.ClientSession | None = None,
        clock: Clock | None = None,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
        proxy: str | yarl.URL | None = None,
        trust_env: bool | None = None,
        ssl: _ssl.SSLContext | bool = True,
        default_headers: Mapping[str, str] | None = None,
        user_agent: str | None = None,
        telemetry: Telemetry | None = None,
        transport: Transport | None = None,
    ) -> None:
        if token is None:
            token = os.environ.get(TOKEN_ENV)
        if not token or not isinstance(token, str):
            raise InvalidArgumentError(
                f"no API token: pass AelystClient(token=...) or set ${TOKEN_ENV}"
            )
        if token != token.strip() or any(ord(c) < 32 for c in token):
            raise InvalidArgumentError("the API token contains whitespace or control characters")
        self._token = _Secret(token, headers=request_headers(default_headers, user_agent))
        self._base_url = check_base_url(
            base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        )
        if trust_env is not None:
            check_bool("trust_env", trust_env)
        if session is not None and trust_env is not None:
            raise InvalidArgumentError(
                "trust_env= applies to the session the client creates; "
                "set it on the session you pass instead"
            )
        resolved_proxy = proxy_for(
            self._base_url, proxy=proxy, trust_env=session is None and trust_env is not False
        )
        self._timeout = Timeout.coerce(timeout)
        self._retry = check_retry(retry) or RetryPolicy()
        self._clock: Clock = check_clock("clock", clock)
        self._limiter = _check_rate_limiter(rate_limiter)  # DEFAULT: made on first use
        self._limiter_key: Hashable = (LIST_MESSAGES_ROUTE, self._token.fingerprint())
        self._route = f"{self._base_url.path}{LIST_MESSAGES_PATH}"
        self._route_description = f"GET {self._route}"
        self._max_bytes = check_int(
            "max_response_bytes", max_response_bytes, low=1024, optional=True
        )
        if transport is None:
            self._transport: Transport = AiohttpTransport(
                session,
                max_response_bytes=self._max_bytes,
                proxy=resolved_proxy,
                ssl=check_ssl(ssl),
            )
        else:
            self._transport = _check_transport(
                transport, session=session, proxy=proxy, trust_env=trust_env, ssl=ssl
            )
        self._telemetry: Telemetry | None = (
            None
            if telemetry is None
            else check_methods("telemetry", telemetry, "Telemetry", ("trace_call",))
        )
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None  # rule 4
        self.stats = ClientStats()
        self.messages = Messages(self)

    @property
    def base_url(self) -> yarl.URL:
        """
        The base URL every request is built on.
        """
        return self._base_url

    @property
    def rate_limiter(self) -> RateLimiter | None:
        """
        The limiter shared by this client's requests, or `None`.
        """
        if isinstance(self._limiter, _Default):
            from ._limiter import TokenBucketLimiter  # module rule 6

            self._limiter = TokenBucketLimiter(clock=self._clock)
        return self._limiter

    def __repr__(self) -> str:
        return f"AelystClient(base_url={str(self._base_url)!r})"

    async def __aenter__(self) -> AelystClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """
        Close the session the client created (a borrowed one stays open), or the transport
        it was given; a second call does nothing.
        """
        if self._closed:
            return
        self._closed = True
        await self._transport.aclose()

    def _check_loop(self) -> None:
        """
        Tie the client to the running loop on its first request; refuse any other loop.
        """
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise AelystError(_OTHER_LOOP)

    def __del__(self, _warnings: Any = warnings) -> None:
        # getattr: __init__ may have raised before the transport existed; a transport of
        # the user's own says nothing of a session.
        transport = getattr(self, "_transport", None)
        if getattr(transport, "owns_open_session", False) and not self._closed:
            _warnings.warn(_UNCLOSED.format(self), RuntimeWarning, stacklevel=1)

    async def _get(self, url: str, *, timeout: Timeout, remaining: float | None) -> Response:
        """
        One attempt through the transport; a body over the cap is refused, whichever
        transport read it (the SDK's own stops reading at the cap, another may not).
        """
        # The token is only ever put into a request built on the base URL.
        response = await self._transport.get(
            url, self._token.request_headers(), timeout=timeout, remaining=remaining
        )
        size, cap = len(response.body), self._max_bytes
        if cap is not None and size > cap:
            raise ResponseTooLargeError(
                f"the response body is {size} bytes, over the {cap}-byte cap "
                f"(max_response_bytes): GET {url}",
                status=response.status,
                limit=cap,
                received=size,
                url=url,
            )
        return response

    async def _fetch_page(
        self,
        identifier: Identifier,
        *,
        limit: int | None,
        cursor: str | None,
        retry: RetryPolicy | None = None,
        timeout: Timeout | None = None,
        closing: asyncio.Event | None = None,
    ) -> Page:
        if self._closed:
            raise AelystError("the client is closed")
        self._check_loop()
        from ._instrument import PageCall  # with the retries: loaded by the first request
        from ._retry import call_with_retries

        attempt_timeout = timeout or self._timeout
        url = list_messages_url(self._base_url, identifier, limit=limit, cursor=cursor)
        call = PageCall(
            functools.partial(self._get, url, timeout=attempt_timeout),
            clock=self._clock,
            stats=self.stats,
            route=self._route,
            base_url=self._base_url,
            identifier=identifier,
            url=url,
        )
        fetch = call_with_retries(
            call.send if closing is None else functools.partial(_unless_closed, closing, call.send),
            decode_page,
            policy=retry or self._retry,
            limiter=None if (limiter := self.rate_limiter) is None else call.timed(limiter),
            key=self._limiter_key,
            clock=self._clock,
            total=attempt_timeout.total,
            description=self._route_description,
        )
        if self._telemetry is None:
            return await fetch
        with call.traced(self._telemetry):  # the span is current while `fetch` runs
            return await fetch
