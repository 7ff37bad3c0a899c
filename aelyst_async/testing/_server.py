"""
The fake Aelyst server: `GET /v1/contact/{identifier}/message/list` as the reference page says.

Rules:

1. A request goes through, in order: authentication (401), the rate limiter (429), the fault
   plan, then validation (400), lookup (404) and the page (200). So a wrong token always gets
   its 401 and uses no rate-limit token, and a faulted request has used one.
2. The identifier is read from the raw path and percent-decoded exactly once, strictly (bad
   UTF-8 is a 400). The router is not trusted with it: aiohttp versions differ on `%2F`.
3. With a rate limiter, every response after authentication carries `X-RateLimit-Limit`
   and `X-RateLimit-Remaining`; without one, no response ever carries them (unless a
   `rate_limited` fault asks for them).
4. A page's body is a pure function of (identifier, limit, cursor, link base), so encoded
   pages are kept in a bounded LRU cache: the server is never a client's bottleneck.
5. The rate limiter's time comes from the injected `Clock`; only the `slow` fault waits on
   real time, because it exists to trip client timeouts.
6. Hostile bodies (`oversized`, `endless`, `gzip_bomb`) are generated while they are sent,
   a chunk at a time, and stop when the client hangs up: the server never holds them.
7. Every response it answers carries `X-Request-Id: req_<n>`, n counting the server's
   requests from 1, as a real API's request ids do.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import email.utils
import http
import logging
import math
import urllib.parse
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Final, Literal

import attrs
import orjson
import yarl
from aiohttp import web

from .._clock import Clock, SystemClock
from .._exceptions import InvalidArgumentError
from .._instrument import contact_hash
from .._routes import LIST_MESSAGES_PATH, LIST_MESSAGES_ROUTE, LIST_PREFIX, LIST_SUFFIX, MAX_LIMIT
from ._data import Dataset, is_valid_identifier
from ._faults import Fault, FaultPlan

__all__ = [
    "DEFAULT_TOKEN",
    "OPTIONS_KEY",
    "STATS_KEY",
    "FakeAelystServer",
    "RateLimitConfig",
    "ServerOptions",
    "ServerStats",
    "create_app",
    "run_server",
    "serve",
]

LinkStyle = Literal["canonical", "relative", "seed"]
EmptyLink = Literal["empty", "null", "missing"]
RetryAfterFormat = Literal["decimal", "integer", "http-date"]
ResetFormat = Literal["none", "seconds", "epoch"]

_LOGGER = logging.getLogger("aelyst_async.testing")
_FAULT_APPLIED: contextvars.ContextVar[str] = contextvars.ContextVar("aelyst_fault", default="-")
"""The fault `_respond` applied to the request of the running handler task, for its log line
(not the request's own storage: aiohttp 3.14 warns on its string keys, and a test session
that turns warnings into errors would get a 500 instead of the fault)."""
_PREFIX = "/v1" + LIST_PREFIX
_SEED_LINK = "https://api.aelyst.ai" + LIST_MESSAGES_PATH
_DEFAULT_LIMIT = 10
DEFAULT_TOKEN: Final = "test-token"
"""The token the fake server accepts unless told another."""
_TOKEN_EPSILON = 1e-9  # float refill error must not turn "exactly one token back" into a 429


def _error_body(code: int, message: str) -> bytes:
    return orjson.dumps({"code": code, "message": message})


_UNAUTHORIZED = _error_body(401, "UN_AUTHORIZED")
_INVALID = _error_body(400, "Validation error.")
_NOT_FOUND = _error_body(404, "Contact not found.")
_NO_ROUTE = _error_body(404, "Not found.")
_TOO_MANY = _error_body(429, "Too Many Requests")


@attrs.frozen(kw_only=True)
class RateLimitConfig:
    """
    A token bucket per (token, endpoint), as the server enforces it.

    Args:
        requests: The bucket's capacity, `X-RateLimit-Limit`.
        window: Seconds to refill the whole bucket; it refills continuously at
            `requests / window` tokens per second. Each request costs one token; a request
            refused with 429 costs none.
        retry_after_format: `decimal` seconds (`0.25`, rounded up to the millisecond),
            `integer` seconds (rounded up), or an `http-date`.
        headers: Send `X-RateLimit-Limit` and `X-RateLimit-Remaining` on every response.
        reset: Also send `X-RateLimit-Reset`, the time until the bucket is full again:
            `none`, `seconds` from now (rounded up), or the `epoch` Unix time of it.
            Only with `headers`.
        retry_after: Send `Retry-After` on a 429 (`False`: a server that says nothing of
            when to come back).

    Example:
        ```python
        FakeAelystServer(rate_limit=RateLimitConfig(requests=10, window=1.0), clock=clock)
        ```
    """

    requests: int = attrs.field(
        validator=[attrs.validators.instance_of(int), attrs.validators.ge(1)]
    )
    window: float = attrs.field(default=1.0, converter=float, validator=attrs.validators.gt(0))
    retry_after_format: RetryAfterFormat = attrs.field(
        default="decimal", validator=attrs.validators.in_(("decimal", "integer", "http-date"))
    )
    headers: bool = True
    reset: ResetFormat = attrs.field(
        default="none", validator=attrs.validators.in_(("none", "seconds", "epoch"))
    )
    retry_after: bool = True


def _fault_plan(value: FaultPlan | None) -> FaultPlan:
    return FaultPlan() if value is None else value


def _check_token(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise InvalidArgumentError(f"token must be a non-empty str or None, not {value!r}")


@attrs.frozen(kw_only=True)
class ServerOptions:
    """
    How a fake server behaves. Every entry point takes these fields as keyword arguments.

    Args:
        token: The bearer token accepted; `None` accepts any non-empty token.
        dataset: The contacts and messages served.
        link_style: The form of `next`/`previous` links: `canonical` (absolute, on the
            server's own URL), `relative` (`/v1/contact/...`), or `seed` (exactly the
            reference page's form: `https://api.aelyst.ai/contact/{identifier}/message/list?...`,
            another host, no `/v1`, the literal text `{identifier}`).
        last_next: The link on the last page's `next` and the first page's `previous`:
            `empty` (`""`), `null` (JSON null), or `missing` (the key is left out).
        rate_limit: The rate limiter, or `None` for none (and no rate-limit headers).
        faults: The fault plan; `None` gives an empty one that can be scripted later.
        clock: The rate limiter's clock.
        base_url: The base of `canonical` links; by default the URL the client used
            (`http://<Host header>/v1`).
        page_cache_size: How many encoded pages to keep (0: none).
        log_requests: Log each request served, at INFO on the `aelyst_async.testing`
            logger (see `_describe_request`); off by default, so that the SDK's own log records
            are alone.
    """

    token: str | None = attrs.field(default=DEFAULT_TOKEN, validator=_check_token)
    dataset: Dataset = attrs.field(factory=Dataset)
    link_style: LinkStyle = attrs.field(
        default="canonical", validator=attrs.validators.in_(("canonical", "relative", "seed"))
    )
    last_next: EmptyLink = attrs.field(
        default="empty", validator=attrs.validators.in_(("empty", "null", "missing"))
    )
    rate_limit: RateLimitConfig | None = None
    faults: FaultPlan = attrs.field(factory=FaultPlan, converter=_fault_plan)
    clock: Clock = attrs.field(factory=SystemClock)
    base_url: str | None = None
    page_cache_size: int = attrs.field(default=256, validator=attrs.validators.ge(0))
    log_requests: bool = False


@attrs.define(kw_only=True)
class ServerStats:
    """
    What a fake server has seen. Counters only grow, except `in_flight`.

    Attributes:
        requests: Requests received.
        by_status: Responses sent, by HTTP status (a dropped connection has none).
        rate_limited: 429 answers of the rate limiter (a `rate_limited` fault counts in
            `faults`; both count in `by_status[429]`).
        faults: Faults injected, by kind.
        in_flight: Requests being handled now.
        max_in_flight: The most requests handled at once.
    """

    requests: int = 0
    by_status: collections.Counter[int] = attrs.field(factory=collections.Counter)
    rate_limited: int = 0
    faults: collections.Counter[str] = attrs.field(factory=collections.Counter)
    in_flight: int = 0
    max_in_flight: int = 0


OPTIONS_KEY = web.AppKey("aelyst_fake_options", ServerOptions)
STATS_KEY = web.AppKey("aelyst_fake_stats", ServerStats)


def _retry_after(seconds: float, style: RetryAfterFormat, clock: Clock) -> str:
    if style == "integer":
        return str(max(1, math.ceil(seconds - _TOKEN_EPSILON)))
    if style == "http-date":
        return email.utils.formatdate(math.ceil(clock.wall() + seconds), usegmt=True)
    return f"{math.ceil(seconds * 1000 - _TOKEN_EPSILON) / 1000:.3f}".rstrip("0").rstrip(".")


class _RateLimiter:
    """
    Token buckets per (token, endpoint) on an injected clock.
    """

    def __init__(self, config: RateLimitConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._rate = config.requests / config.window
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # key -> (tokens, at)

    def admit(self, token: str, headers: dict[str, str]) -> bool:
        """
        Take a token for a request if one is left, and fill in the response headers.

        Args:
            token: The caller's bearer token.
            headers: The response headers to fill in.

        Returns:
            Whether the request may go on.
        """
        config, now, key = self._config, self._clock.monotonic(), (token, LIST_MESSAGES_ROUTE)
        tokens, at = self._buckets.get(key, (float(config.requests), now))
        tokens = min(float(config.requests), tokens + max(0.0, now - at) * self._rate)
        admitted = tokens >= 1 - _TOKEN_EPSILON
        if admitted:
            tokens = max(0.0, tokens - 1)
        elif config.retry_after:
            headers["Retry-After"] = _retry_after(
                (1 - tokens) / self._rate, config.retry_after_format, self._clock
            )
        self._buckets[key] = (tokens, now)
        if config.headers:
            headers["X-RateLimit-Limit"] = str(config.requests)
            headers["X-RateLimit-Remaining"] = str(math.floor(tokens + _TOKEN_EPSILON))
            full_in = max(0, math.ceil((config.requests - tokens) / self._rate - _TOKEN_EPSILON))
            if config.reset == "seconds":
                headers["X-RateLimit-Reset"] = str(full_in)
            elif config.reset == "epoch":
                headers["X-RateLimit-Reset"] = str(math.ceil(self._clock.wall()) + full_in)
        return admitted


def _bearer(header: str | None) -> str | None:
    """
    The token of an `Authorization: Bearer <token>` header (the scheme in any case).
    """
    scheme, _, token = (header or "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def _describe_request(
    request: web.Request, response: web.StreamResponse | None, elapsed: float
) -> str:
    """
    The log line of one request served, in the key=value form of the SDK's: method, route
    template, the contact as the SDK's short hash, the limit, whether a cursor was given,
    the status (or `dropped`), the time taken and the fault applied. Never the token or a
    concrete identifier: the same rule as the SDK's logs.
    """
    raw_path = request.rel_url.raw_path
    segment = raw_path[len(_PREFIX) : -len(LIST_SUFFIX)]
    if raw_path.startswith(_PREFIX) and raw_path.endswith(LIST_SUFFIX) and segment:
        contact = contact_hash(urllib.parse.unquote(segment, errors="replace"))
        route = f"/v1{LIST_MESSAGES_PATH} contact=#{contact}"
    else:
        route = "(no such route)"
    query = request.query
    limit = query.get("limit", "-")
    limit = limit if limit == "-" or (limit.isdigit() and len(limit) <= 6) else "(invalid)"
    return (
        f"served {request.method} {route} limit={limit} "
        f"cursor={'yes' if query.get('cursorId') else 'no'} "
        f"status={'(dropped)' if response is None else response.status} "
        f"elapsed_ms={elapsed * 1000:.1f} fault={_FAULT_APPLIED.get()}"
    )


def _json(status: int, body: bytes, headers: Mapping[str, str]) -> web.Response:
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


class _Handler:
    """
    The one request handler; holds the server's state.
    """

    def __init__(self, options: ServerOptions, stats: ServerStats) -> None:
        self._options = options
        self._stats = stats
        self._limiter = (
            None if options.rate_limit is None else _RateLimiter(options.rate_limit, options.clock)
        )
        self._cache: collections.OrderedDict[tuple[str, str | None, str | None, str], bytes] = (
            collections.OrderedDict()
        )

    async def handle(self, request: web.Request) -> web.StreamResponse:
        stats = self._stats
        stats.requests += 1
        request_id = f"req_{stats.requests}"
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        started = self._options.clock.monotonic()
        _FAULT_APPLIED.set("-")  # one connection's requests may share a task
        try:
            response = await self._respond(request)
        finally:
            stats.in_flight -= 1
        if self._options.log_requests and _LOGGER.isEnabledFor(logging.INFO):
            elapsed = self._options.clock.monotonic() - started
            _LOGGER.info("%s", _describe_request(request, response, elapsed))
        if response is None:  # the connection was dropped: aiohttp's response goes nowhere
            return web.Response()
        stats.by_status[response.status] += 1
        if not response.prepared:  # a truncated answer has sent its headers already
            response.headers["X-Request-Id"] = request_id
        return response

    async def _respond(self, request: web.Request) -> web.StreamResponse | None:
        options = self._options
        token = _bearer(request.headers.get("Authorization"))
        if token is None or (options.token is not None and token != options.token):
            return _json(401, _UNAUTHORIZED, {})
        headers: dict[str, str] = {}
        if self._limiter is not None and not self._limiter.admit(token, headers):
            self._stats.rate_limited += 1
            return _json(429, _TOO_MANY, headers)
        fault = options.faults.decide(request.raw_path)
        if fault is not None:
            _FAULT_APPLIED.set(fault.kind)
            self._stats.faults[fault.kind] += 1
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
            elif fault.kind in _STREAMED:
                return await _stream(request, fault, headers)
            elif fault.kind == "bad_next" and not fault.keep_items:
                return _json(200, _page_with_next(None, fault.link), headers)
            elif fault.kind not in ("truncate", "cut_json", "bad_next"):
                return self._fault_response(request, fault, headers)
        status, body = self._page(request)
        if fault is None or fault.kind == "slow":
            return _json(status, body, headers)
        if fault.kind == "bad_next":
            return _json(
                status, _page_with_next(body, fault.link) if status == 200 else body, headers
            )
        if fault.kind == "cut_json":
            return _json(status, body[: len(body) // 2], headers)
        return await _truncated(request, status, body, headers)

    def _fault_response(
        self, request: web.Request, fault: Fault, headers: dict[str, str]
    ) -> web.Response | None:
        if fault.kind == "drop":
            _hang_up(request)
            return None
        if fault.kind != "rate_limited":
            return web.Response(
                status=fault.code, body=fault.body, content_type=fault.content_type, headers=headers
            )
        config = self._options.rate_limit
        style: RetryAfterFormat = "decimal" if config is None else config.retry_after_format
        clock = self._options.clock
        if fault.date_skew is not None:
            style, clock = "http-date", _SkewedClock(clock, fault.date_skew)
            headers["Date"] = email.utils.formatdate(clock.wall(), usegmt=True)
        headers["Retry-After"] = _retry_after(fault.retry_after, style, clock)
        headers["X-RateLimit-Limit"] = str(fault.limit if config is None else config.requests)
        headers["X-RateLimit-Remaining"] = "0"
        if fault.code == 429:
            return _json(429, _TOO_MANY, headers)
        message = http.HTTPStatus(fault.code).phrase
        return _json(fault.code, _error_body(fault.code, message), headers)

    def _page(self, request: web.Request) -> tuple[int, bytes]:
        """
        The status and body of a request that got through authentication, limiter and faults.

        An empty `cursorId` is taken as no cursor; any other cursor must name a message.
        """
        raw_path = request.rel_url.raw_path
        segment = raw_path[len(_PREFIX) : -len(LIST_SUFFIX)]
        if not raw_path.endswith(LIST_SUFFIX) or not segment or "/" in segment:
            return 404, _NO_ROUTE
        options, query = self._options, request.query
        limit_text, cursor = query.get("limit"), query.get("cursorId") or None
        base = ""
        if options.link_style == "canonical":
            base = options.base_url or f"{request.scheme}://{request.host}/v1"
        key = (segment, limit_text, cursor, base)
        body = self._cache.get(key)
        if body is not None:
            self._cache.move_to_end(key)
            return 200, body
        try:
            identifier = urllib.parse.unquote(segment, errors="strict")
        except UnicodeDecodeError:
            return 400, _INVALID
        limit = _limit(limit_text)
        if limit is None or not is_valid_identifier(identifier):
            return 400, _INVALID
        contact = options.dataset.find(identifier)
        if contact is None:
            return 404, _NOT_FOUND
        try:
            window = options.dataset.page(contact, cursor, limit)
        except ValueError:
            return 400, _INVALID
        pagination: dict[str, str | None] = {}
        for name, link_cursor in (
            ("next", window.next_cursor),
            ("previous", window.previous_cursor),
        ):
            if link_cursor is not None:
                pagination[name] = self._link(base, identifier, limit, link_cursor)
            elif options.last_next != "missing":
                pagination[name] = "" if options.last_next == "empty" else None
        items = options.dataset.messages_of(contact, window.start, window.stop)
        body = orjson.dumps({"items": items, "pagination": pagination})
        if options.page_cache_size:
            self._cache[key] = body
            if len(self._cache) > options.page_cache_size:
                self._cache.popitem(last=False)
        return 200, body

    def _link(self, base: str, identifier: str, limit: int, cursor: str) -> str:
        query = f"?limit={limit}&cursorId={cursor}"
        style = self._options.link_style
        if style == "seed":
            return _SEED_LINK + query
        path = f"{LIST_PREFIX}{urllib.parse.quote(identifier, safe=':@+')}{LIST_SUFFIX}{query}"
        return f"{base}{path}" if style == "canonical" else f"/v1{path}"


class _SkewedClock:
    """
    A clock whose wall time is `skew` seconds off another's (a server with a wrong clock).
    """

    def __init__(self, clock: Clock, skew: float) -> None:
        self._clock = clock
        self._skew = skew

    def monotonic(self) -> float:
        return self._clock.monotonic()

    def wall(self) -> float:
        return self._clock.wall() + self._skew

    async def sleep(self, seconds: float) -> None:
        await self._clock.sleep(seconds)


def _page_with_next(body: bytes | None, link: object) -> bytes:
    """
    A page body (or an empty page) whose `pagination.next` is `link`.
    """
    page: dict[str, Any] = {"items": []} if body is None else orjson.loads(body)
    page["pagination"] = {**page.get("pagination", {}), "next": link}
    return orjson.dumps(page)


_STREAMED = frozenset({"oversized", "endless", "gzip_bomb"})
_CHUNK = 64 * 1024
_ENDLESS_ITEM = orjson.dumps(
    {
        "messageId": "endless",
        "userId": "0",
        "traffic": "incoming",
        "type": "text",
        "message": {"text": "x" * 200},
        "status": [],
        "createdAt": "2024-01-01T00:00:00.000Z",
    }
)


async def _chunks(fault: Fault) -> AsyncIterator[bytes]:
    """
    The body of a streamed fault, a chunk at a time (module rule 6).
    """
    if fault.kind == "oversized":
        left = fault.size
        filler = b" " * _CHUNK
        while left > 0:
            yield filler[: min(left, _CHUNK)]
            left -= _CHUNK
    elif fault.kind == "endless":
        yield b'{"items":['
        run = b",".join([_ENDLESS_ITEM] * 256) + b","
        while True:
            yield run
    else:
        squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
        zeros = bytes(_CHUNK * 16)
        left = fault.size
        while left > 0:
            # Flushed each time, so that every step writes and a client gone is noticed.
            yield squeeze.compress(zeros[: min(left, len(zeros))]) + squeeze.flush(
                zlib.Z_SYNC_FLUSH
            )
            left -= len(zeros)
        yield squeeze.flush()


async def _stream(
    request: web.Request, fault: Fault, headers: dict[str, str]
) -> web.StreamResponse:
    """
    Send a streamed fault's body until it ends or the client hangs up.
    """
    response = web.StreamResponse(status=200, headers=headers)
    response.content_type = "application/json"
    if fault.kind == "oversized":
        response.content_length = fault.size
    else:
        response.enable_chunked_encoding()
    if fault.kind == "gzip_bomb":
        response.headers["Content-Encoding"] = "gzip"
    await response.prepare(request)
    try:
        async for chunk in _chunks(fault):
            await response.write(chunk)
            await asyncio.sleep(0)  # a write that fits the buffer does not yield: let others run
        await response.write_eof()
    except (ConnectionError, RuntimeError):  # the client hung up, as it should
        _hang_up(request)
    return response


def _hang_up(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.close()


async def _truncated(
    request: web.Request, status: int, body: bytes, headers: dict[str, str]
) -> web.StreamResponse:
    """
    Send the status and headers with the full `Content-Length`, half the body, and hang up.
    """
    response = web.StreamResponse(status=status, headers=headers)
    response.content_type = "application/json"
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    _hang_up(request)
    return response


def _limit(text: str | None) -> int | None:
    if text is None:
        return _DEFAULT_LIMIT
    if not (text.isascii() and text.isdigit()):
        return None
    limit = int(text)
    return limit if 1 <= limit <= MAX_LIMIT else None


def _options(options: ServerOptions | None, overrides: Mapping[str, Any]) -> ServerOptions:
    if options is None:
        return ServerOptions(**overrides)
    return attrs.evolve(options, **overrides) if overrides else options


def create_app(options: ServerOptions | None = None, /, **overrides: Any) -> web.Application:
    """
    Build the fake server as an `aiohttp.web.Application`, to serve however you like.

    Args:
        options: The server's options; `ServerOptions()` by default.
        **overrides: Fields of `ServerOptions` to set (on top of `options`).

    Returns:
        The application; `app[OPTIONS_KEY]` and `app[STATS_KEY]` give its options and stats.

    Example:
        ```python
        from aiohttp.test_utils import TestServer

        async with TestServer(create_app(token="t")) as server:
            base_url = str(server.make_url("/v1"))
        ```
    """
    resolved = _options(options, overrides)
    stats = ServerStats()
    app = web.Application()
    app[OPTIONS_KEY] = resolved
    app[STATS_KEY] = stats
    # Everything under /v1/contact/, newlines included: the handler reads the raw path (rule 2).
    app.router.add_get(_PREFIX + r"{tail:[\s\S]+}", _Handler(resolved, stats).handle)
    return app


class FakeAelystServer:
    """
    The fake Aelyst server on a real socket, for tests, demos and benchmarks.

    Args:
        options: The server's options; `ServerOptions()` by default.
        host: The address to listen on.
        port: The port; 0 picks a free one.
        **overrides: Fields of `ServerOptions` to set (on top of `options`).

    Example:
        ```python
        async with FakeAelystServer(token="t", dataset=Dataset(seed=0, contacts=20)) as server:
            client = AelystClient(token="t", base_url=server.url)
            truth = server.dataset.messages("id:1")
        ```
    """

    def __init__(
        self,
        options: ServerOptions | None = None,
        /,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        **overrides: Any,
    ) -> None:
        self.options = _options(options, overrides)
        self.app = create_app(self.options)
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """
        The base URL a client uses, `http://<host>:<port>/v1`.

        Raises:
            RuntimeError: Before the server is started.
        """
        if self._runner is None:
            raise RuntimeError("the fake server is not started")
        return str(yarl.URL.build(scheme="http", host=self.host, port=self.port, path="/v1"))

    @property
    def dataset(self) -> Dataset:
        """
        The contacts and messages served: the ground truth.
        """
        return self.options.dataset

    @property
    def faults(self) -> FaultPlan:
        """
        The fault plan, scriptable while the server runs.
        """
        return self.options.faults

    @property
    def stats(self) -> ServerStats:
        """
        What the server has seen.
        """
        return self.app[STATS_KEY]

    async def start(self) -> None:
        """
        Start listening; `port` becomes the real port.

        Raises:
            RuntimeError: When the server is already started.
        """
        if self._runner is not None:
            raise RuntimeError("the fake server is already started")
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self.port = runner.addresses[0][1]
        self._runner = runner

    async def close(self) -> None:
        """
        Stop listening and close open connections.
        """
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeAelystServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        where = self.url if self._runner is not None else "not started"
        return f"FakeAelystServer({where})"


async def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    options: ServerOptions | None = None,
    *,
    on_ready: Callable[[FakeAelystServer], None] | None = None,
    **overrides: Any,
) -> None:
    """
    Run the fake server until cancelled (for the CLI and benchmarks).

    Args:
        host: The address to listen on.
        port: The port; 0 picks a free one.
        options: The server's options; `ServerOptions()` by default.
        on_ready: Called with the started server (e.g. to print `server.url`).
        **overrides: Fields of `ServerOptions` to set (on top of `options`).
    """
    async with FakeAelystServer(options, host=host, port=port, **overrides) as server:
        if on_ready is not None:
            on_ready(server)
        await asyncio.Event().wait()


def run_server(
    host: str = "127.0.0.1",
    port: int = 8080,
    options: ServerOptions | None = None,
    *,
    on_ready: Callable[[FakeAelystServer], None] | None = None,
    **overrides: Any,
) -> None:
    """
    Run the fake server in a new event loop until Ctrl-C.

    Args:
        host: The address to listen on.
        port: The port; 0 picks a free one.
        options: The server's options; `ServerOptions()` by default.
        on_ready: Called with the started server (e.g. to print `server.url`).
        **overrides: Fields of `ServerOptions` to set (on top of `options`).
    """
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(host, port, options, on_ready=on_ready, **overrides))
