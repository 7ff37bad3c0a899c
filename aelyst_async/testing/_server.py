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
import email.utils
import logging
import math
import signal
import urllib.parse
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import attrs
import orjson
import yarl
from aiohttp import web

from .._checks import (
    check_int,
    check_text,
)
from .._clock import Clock
from .._instrument import contact_hash
from .._protocol import LIMIT_HEADER, REMAINING_HEADER, RESET_HEADER, RETRY_AFTER_HEADER
from .._routes import (
    API_ORIGIN,
    LIST_MESSAGES_PATH,
    LIST_MESSAGES_ROUTE,
    LIST_PREFIX,
    LIST_SUFFIX,
    MAX_LIMIT,
    VERSION_PATH,
)
from ._data import Dataset, is_valid_identifier
from ._faults import Fault, FaultPlan, status_phrase
from ._options import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    RateLimitConfig,
    RetryAfterFormat,
    ServerOptions,
    ServerStats,
)

__all__ = [
    "OPTIONS_KEY",
    "STATS_KEY",
    "FakeAelystServer",
    "create_app",
    "run_server",
    "serve",
]

_LOGGER = logging.getLogger("aelyst_async.testing")
_PREFIX = VERSION_PATH + LIST_PREFIX
_SEED_LINK = API_ORIGIN + LIST_MESSAGES_PATH  # the reference page's form: no version
_DEFAULT_LIMIT = 10

_TOKEN_EPSILON = 1e-9  # float refill error must not turn "exactly one token back" into a 429


def _error_body(code: int, message: str) -> bytes:
    return orjson.dumps({"code": code, "message": message})


_UNAUTHORIZED = _error_body(401, "UN_AUTHORIZED")
_INVALID = _error_body(400, "Validation error.")
_NOT_FOUND = _error_body(404, "Contact not found.")
_NO_ROUTE = _error_body(404, "Not found.")
_TOO_MANY = _error_body(429, "Too Many Requests")


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
            headers[RETRY_AFTER_HEADER] = _retry_after(
                (1 - tokens) / self._rate, config.retry_after_format, self._clock
            )
        self._buckets[key] = (tokens, now)
        if config.headers:
            headers[LIMIT_HEADER] = str(config.requests)
            headers[REMAINING_HEADER] = str(math.floor(tokens + _TOKEN_EPSILON))
            full_in = max(0, math.ceil((config.requests - tokens) / self._rate - _TOKEN_EPSILON))
            if config.reset == "seconds":
                headers[RESET_HEADER] = str(full_in)
            elif config.reset == "epoch":
                headers[RESET_HEADER] = str(math.ceil(self._clock.wall()) + full_in)
        return admitted


def _bearer(header: str | None) -> str | None:
    """
    The token of an `Authorization: Bearer <token>` header (the scheme in any case).
    """
    scheme, _, token = (header or "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def _describe_request(
    request: web.Request, response: web.StreamResponse | None, elapsed: float, fault: Fault | None
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
        route = f"{VERSION_PATH}{LIST_MESSAGES_PATH} contact=#{contact}"
    else:
        route = "(no such route)"
    query = request.query
    limit = query.get("limit", "-")
    limit = limit if limit == "-" or (limit.isdigit() and len(limit) <= 6) else "(invalid)"
    return (
        f"served {request.method} {route} limit={limit} "
        f"cursor={'yes' if query.get('cursorId') else 'no'} "
        f"status={'(dropped)' if response is None else response.status} "
        f"elapsed_ms={elapsed * 1000:.1f} fault={'-' if fault is None else fault.kind}"
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
        fault: Fault | None = None
        try:
            headers: dict[str, str] = {}
            response: web.StreamResponse | None = self._refusal(request, headers)
            if response is None:
                fault = self._options.faults.decide(request.raw_path)
                response = await self._respond(request, fault, headers)
        finally:
            stats.in_flight -= 1
        if self._options.log_requests and _LOGGER.isEnabledFor(logging.INFO):
            elapsed = self._options.clock.monotonic() - started
            _LOGGER.info("%s", _describe_request(request, response, elapsed, fault))
        if response is None:  # the connection was dropped: aiohttp's response goes nowhere
            return web.Response()
        stats.by_status[response.status] += 1
        if not response.prepared:  # a truncated answer has sent its headers already
            response.headers["X-Request-Id"] = request_id
        return response

    def _refusal(self, request: web.Request, headers: dict[str, str]) -> web.Response | None:
        """
        The 401 of a wrong token or the 429 of the rate limiter (rule 1), or `None` when the
        request goes on; fills in the rate-limit headers.
        """
        options = self._options
        token = _bearer(request.headers.get("Authorization"))
        if token is None or (options.token is not None and token != options.token):
            return _json(401, _UNAUTHORIZED, {})
        if self._limiter is not None and not self._limiter.admit(token, headers):
            self._stats.rate_limited += 1
            return _json(429, _TOO_MANY, headers)
        return None

    async def _respond(
        self, request: web.Request, fault: Fault | None, headers: dict[str, str]
    ) -> web.StreamResponse | None:
        """
        The answer to an admitted request: the page, or the fault's answer (`None`: dropped).
        """
        if fault is not None:
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
        headers[RETRY_AFTER_HEADER] = _retry_after(fault.retry_after, style, clock)
        headers[LIMIT_HEADER] = str(fault.limit if config is None else config.requests)
        headers[REMAINING_HEADER] = "0"
        if fault.code == 429:
            return _json(429, _TOO_MANY, headers)
        return _json(fault.code, _error_body(fault.code, status_phrase(fault.code)), headers)

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
            base = options.base_url or f"{request.scheme}://{request.host}{VERSION_PATH}"
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
        return f"{base}{path}" if style == "canonical" else f"{VERSION_PATH}{path}"


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
        host: str = DEFAULT_HOST,
        port: int = 0,
        **overrides: Any,
    ) -> None:
        self.options = _options(options, overrides)
        self.app = create_app(self.options)
        self.host = check_text("host", host)
        self.port = check_int("port", port, low=0, high=65535)
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
        return str(yarl.URL.build(scheme="http", host=self.host, port=self.port, path=VERSION_PATH))

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
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
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
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    options: ServerOptions | None = None,
    *,
    on_ready: Callable[[FakeAelystServer], None] | None = None,
    **overrides: Any,
) -> None:
    """
    Run the fake server in a new event loop until Ctrl-C (SIGINT) or SIGTERM.

    Args:
        host: The address to listen on.
        port: The port; 0 picks a free one.
        options: The server's options; `ServerOptions()` by default.
        on_ready: Called with the started server (e.g. to print `server.url`).
        **overrides: Fields of `ServerOptions` to set (on top of `options`).
    """
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_until_stopped(host, port, options, on_ready=on_ready, **overrides))


async def _serve_until_stopped(
    host: str,
    port: int,
    options: ServerOptions | None,
    *,
    on_ready: Callable[[FakeAelystServer], None] | None,
    **overrides: Any,
) -> None:
    """
    `serve`, until SIGINT or SIGTERM. The event loop handles both, installed before the
    server starts: a signal sent once `on_ready` has run always stops it.
    """
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, main.cancel)  # not on Windows, nor off the main thread
    with contextlib.suppress(asyncio.CancelledError):
        await serve(host, port, options, on_ready=on_ready, **overrides)
