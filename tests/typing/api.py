"""
The public API as a user's code calls it: type-checked by mypy --strict and pyright, never run.

A change that breaks a user's type-checked code (a return type widened, a parameter renamed
or retyped, a name no longer exported) fails `nox -s types` here. pytest does not collect
this file.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import AsyncIterator, Hashable
from pathlib import Path
from typing import Any

import aiohttp
import yarl

from aelyst_async import (
    DEFAULT_BASE_URL,
    NO_SAFE_CURSOR,
    AelystClient,
    AelystError,
    APIConnectionError,
    APIError,
    APIResponseDecodeError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BucketState,
    ClientStats,
    Clock,
    DeliveryStatus,
    ExportError,
    ExportOptions,
    ExportSnapshot,
    ExportSummary,
    FailedContact,
    FailureResult,
    Identifier,
    InvalidArgumentError,
    KeyPausedError,
    Message,
    MessagePager,
    MessageStatus,
    MessageStream,
    MessageTag,
    NoSafeCursor,
    NotFoundError,
    Page,
    PageResult,
    Pagination,
    PaginationError,
    PlainProgress,
    RateLimit,
    RateLimiter,
    RateLimitError,
    ResponseInfo,
    ResponseTooLargeError,
    RetryPolicy,
    Sender,
    SystemClock,
    TextMessage,
    Timeout,
    TokenBucketLimiter,
    Traffic,
    UnknownMessage,
    __version__,
    run_export,
)
from aelyst_async.testing import (
    Dataset,
    FakeAelystServer,
    FakeClock,
    Fault,
    FaultPlan,
    RateLimitConfig,
    ServerOptions,
    ServerStats,
)

if sys.version_info >= (3, 11):
    from typing import assert_type
else:
    from typing_extensions import assert_type


async def configure_clients(session: aiohttp.ClientSession) -> None:
    """A client takes its options as values, and shares a limiter and a session."""
    default: str = DEFAULT_BASE_URL
    assert_type(__version__, str)
    limiter = TokenBucketLimiter(window=1.0, clock=SystemClock(), default_retry_after=2.0)
    async with AelystClient(
        "token",
        base_url=yarl.URL("https://api.aelyst.ai/v1"),
        timeout=Timeout(connect=5, read=20, total=None),
        retry=RetryPolicy(max_attempts=8, backoff_cap=30.0, retry_statuses=frozenset({503})),
        rate_limiter=limiter,
        session=session,
        clock=FakeClock(auto_advance=True),
    ) as client:
        assert_type(client, AelystClient)
        assert_type(client.base_url, yarl.URL)
        assert_type(client.rate_limiter, RateLimiter | None)
        assert_type(client.stats, ClientStats)
        assert_type(client.stats.retries, int)
    async with AelystClient(timeout=30, rate_limiter=None) as unpaced:
        assert_type(unpaced, AelystClient)
    await AelystClient().aclose()
    assert_type(RetryPolicy.disabled(), RetryPolicy)
    assert_type(RetryPolicy().backoff(1, 0.5), float)
    assert_type(Timeout.coerce(10), Timeout)
    assert_type(limiter.snapshot(("GET", "key")), BucketState)


async def list_one_contact(client: AelystClient) -> list[Message]:
    """`list` returns a pager: messages with `async for`, pages with `.pages()`."""
    pager = client.messages.list(
        Identifier.email("abdc@gmail.com"),
        limit=50,
        cursor_id=None,
        max_items=100,
        retry=RetryPolicy.disabled(),
        timeout=Timeout(total=60),
    )
    assert_type(pager, MessagePager)
    assert_type(pager.identifier, Identifier)
    messages = [message async for message in pager]
    assert_type(messages, list[Message])
    pages = pager.pages()
    assert_type(pages, AsyncIterator[Page])
    async for page in pages:
        assert_type(page.items, tuple[Message, ...])
        assert_type(page.next_cursor, str | None)
        assert_type(page.has_next, bool)
        assert_type(page.pagination, Pagination)
        assert_type(page.rate_limit, RateLimit)
        assert_type(page.rate_limit.retry_after, float | None)
    return [m async for m in client.messages.list("id:1", cursor_id="1030000350")]


def read_a_message(message: Message) -> str:
    """Enum fields are open (`Enum | str`); a body is text, unknown, or absent."""
    assert_type(message.message_id, int)
    assert_type(message.channel_message_id, str | int | None)
    assert_type(message.traffic, Traffic | str)
    assert_type(message.status, tuple[MessageStatus, ...])
    assert_type(message.sender, Sender | None)
    for status in message.status:
        assert_type(status.value, DeliveryStatus | str)
        assert_type(status.at, dt.datetime)
    body = message.message
    if isinstance(body, TextMessage):
        assert_type(body.message_tag, MessageTag | str | None)
        return body.text
    if isinstance(body, UnknownMessage):
        return body.type
    assert_type(body, None)
    return ""


async def list_many_contacts(client: AelystClient) -> dict[str, str | NoSafeCursor | None]:
    """`list_many` streams `PageResult`s and `FailureResult`s."""
    failed: dict[str, str | NoSafeCursor | None] = {}

    async def identifiers() -> AsyncIterator[str]:
        yield "id:1"

    stream = client.messages.list_many(
        identifiers(), concurrency=16, limit=50, cursors={"id:1": "1"}, fail_fast=False
    )
    assert_type(stream, MessageStream)
    async with stream:
        async for result in stream:
            assert_type(result, PageResult | FailureResult)
            if isinstance(result, FailureResult):
                assert_type(result.error, AelystError)
                failed[result.identifier] = result.resume_cursor
            else:
                assert_type(result.page, Page)
                assert_type(result.done, bool)
    async with client.messages.list_many([Identifier.id(1), "phone:+60121233112"]) as again:
        await again.aclose()
    return failed


async def export_to_a_file(client: AelystClient) -> int:
    """`run_export` writes JSON Lines and returns a summary."""
    summary = await run_export(
        client,
        ["id:1", "id:2"],
        Path("messages.jsonl"),
        concurrency=4,
        resume=True,
        progress=PlainProgress(sys.stderr, every=1.0),
    )
    assert_type(summary, ExportSummary)
    assert_type(summary.snapshot, ExportSnapshot)
    assert_type(summary.failed, tuple[FailedContact, ...])
    assert_type(summary.ok, bool)
    options = ExportOptions(concurrency=4, checkpoint="messages.ckpt", total=2)
    assert_type(options.checkpoint, Path | None)
    again = await run_export(client, ["id:1"], "messages.jsonl", options=options, resume=True)
    return summary.snapshot.messages + again.snapshot.messages


def handle_errors(error: AelystError) -> float | None:
    """The tree's attributes are typed on the class that carries them."""
    assert_type(error.resume_cursor, str | NoSafeCursor | None)
    assert_type(error.identifier, str | None)
    if isinstance(error, RateLimitError):
        assert_type(error.retry_after, float | None)
        assert_type(error.retry_at, dt.datetime | None)
        return error.retry_after
    if isinstance(error, (AuthenticationError, NotFoundError)):
        assert_type(error.status, int)
    if isinstance(error, APIStatusError):
        assert_type(error.code, int | str | None)
        assert_type(error.api_message, str | None)
        assert_type(error.rate_limit, RateLimit | None)
    if isinstance(error, APIResponseDecodeError):
        assert_type(error.body, str)
    if isinstance(error, (APITimeoutError, APIConnectionError, APIError)):
        assert_type(error.url, str | None)
    if isinstance(error, PaginationError):
        assert_type(error.cursor, str | None)
        assert_type(error.link, str | None)
        assert_type(error.page, Page | None)
    if isinstance(error, ResponseTooLargeError):
        assert_type((error.status, error.limit, error.received), tuple[int, int, int])
        assert_type(error.content_length, int | None)
    if isinstance(error, APIConnectionError):
        assert_type(error.host, str | None)
        assert_type(error.unreachable, bool)
    if error.resume_cursor is NO_SAFE_CURSOR:
        return None
    invalid: ValueError = InvalidArgumentError("bad")
    timeout: TimeoutError = APITimeoutError("late")
    export: AelystError = ExportError("in the way")
    return None


class MyLimiter:
    """A rate limiter of one's own satisfies the `RateLimiter` protocol structurally."""

    async def acquire(self, key: Hashable, *, timeout: float | None = None) -> None:
        return None

    def observe(self, key: Hashable, status: int, rate_limit: RateLimit) -> None:
        return None


class MyClock:
    """So does a clock."""

    def monotonic(self) -> float:
        return 0.0

    def wall(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        return None


def custom_seams() -> AelystClient:
    limiter: RateLimiter = MyLimiter()
    clock: Clock = MyClock()
    return AelystClient("token", rate_limiter=limiter, clock=clock)


def the_bucket_is_a_rate_limiter() -> RateLimiter:
    """`TokenBucketLimiter` satisfies the `RateLimiter` protocol the client takes."""
    return TokenBucketLimiter()


async def use_the_fake_server() -> None:
    """The test tools, as a user's tests call them."""
    clock = FakeClock(auto_advance=False)
    plan = FaultPlan().next(Fault.status(503), times=2).fraction(0.1, [Fault.drop()], seed=1)
    options = ServerOptions(
        token="t",
        dataset=Dataset(seed=1, contacts=50, messages=(0, 100)),
        rate_limit=RateLimitConfig(requests=10, window=1.0),
        faults=plan,
        clock=clock,
    )
    async with FakeAelystServer(options, port=0, link_style="seed") as server:
        assert_type(server.url, str)
        assert_type(server.stats, ServerStats)
        assert_type(server.dataset.messages("id:1"), list[dict[str, Any]])
        assert_type(server.dataset.special.many_pages, str)
        server.faults.next(Fault.rate_limited(retry_after=2.0))
        await clock.advance(2.0)
        assert_type(clock.slept, list[float])


def untrusted_server(limiter: TokenBucketLimiter, failure: FailureResult) -> AelystClient:
    """The options and results that keep a hostile server in check."""
    limiter.clear_freeze()
    limiter.clear_freeze(("GET /contact/{identifier}/message/list", "fingerprint"))
    assert_type(failure.page, Page | None)
    paused: TimeoutError = KeyPausedError("paused", retry_after=1.0)
    assert_type(KeyPausedError("paused", retry_after=1.0).retry_after, float)
    return AelystClient("t", max_response_bytes=1024 * 1024)


async def observe_and_configure_the_network(page: Page, error: APIStatusError) -> str | None:
    """Response metadata, telemetry and the network options, as a user's code uses them."""
    import ssl

    from aelyst_async.otel import OpenTelemetry, redact_url

    info = page.response
    assert_type(info, ResponseInfo | None)
    if info is not None:
        assert_type(info.status, int)
        assert_type(info.request_id, str | None)
        assert_type(info.attempts, int)
        assert_type(info.elapsed, dt.timedelta)
        assert_type(info.received_at, dt.datetime)
        assert_type(info.headers.get("X-RateLimit-Remaining"), str | None)
    assert_type(redact_url("https://api.aelyst.ai/v1/contact/id:1/message/list"), str)
    async with AelystClient(
        "token",
        proxy="http://proxy.internal:3128",
        trust_env=False,
        ssl=ssl.create_default_context(),
        default_headers={"X-Team": "growth"},
        user_agent="my-app/1.0",
        telemetry=OpenTelemetry(),
    ):
        pass
    return None if error.response is None else error.response.request_id
