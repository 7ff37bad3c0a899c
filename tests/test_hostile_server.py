"""
A hostile or buggy server, over real HTTP: bounded bodies, sane Retry-After, no lost page,
bounded errors, and a dead host recognised as such.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypeVar

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from click.testing import CliRunner

from aelyst_async import (
    NO_SAFE_CURSOR,
    AelystClient,
    APIConnectionError,
    APITimeoutError,
    FailureResult,
    Identifier,
    InternalServerError,
    InvalidArgumentError,
    Message,
    NotFoundError,
    Page,
    PageResult,
    PaginationError,
    RateLimit,
    RateLimitError,
    ResponseTooLargeError,
    RetryPolicy,
    SystemClock,
    Timeout,
    TokenBucketLimiter,
    run_export,
)
from aelyst_async._bulk import DEAD_HOST_FAILURES, BulkEngine
from aelyst_async._cli._app import cli
from aelyst_async._converter import decode_page
from aelyst_async._http import Response
from aelyst_async._pagination import MAX_EMPTY_PAGES
from aelyst_async._protocol import error_for_response
from aelyst_async.testing import Dataset, FakeAelystServer, FakeClock, Fault

from .helpers import drain, list_all, wire

TOKEN = "sk-hostile-77c1b0"
CAP = 64 * 1024
FAST = RetryPolicy(backoff_base=0.001, backoff_cap=0.01)
T = TypeVar("T")


pytestmark = pytest.mark.aelyst_server(token=TOKEN, dataset=Dataset(seed=5, contacts=12))


async def collect(items: AsyncIterator[T], into: list[T]) -> None:
    """Append what an async iterator yields to `into`, until it ends or raises."""
    async for item in items:
        into.append(item)


def busiest(server: FakeAelystServer) -> str:
    """The contact with the most messages (several pages of 10)."""
    return max(server.dataset.identifiers(), key=lambda i: len(server.dataset.messages(i)))


async def dead_url() -> str:
    """The base URL of a port nothing listens on any more."""
    async with FakeAelystServer(token=TOKEN) as gone:
        return gone.url


# -- response size --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "refused_before_reading"),
    [
        pytest.param(Fault.oversized(), True, id="2-GiB-content-length"),
        pytest.param(Fault.endless(), False, id="endless-chunked"),
        pytest.param(Fault.gzip_bomb(), False, id="gzip-bomb"),
    ],
)
async def test_a_body_over_the_cap_raises_response_too_large_and_is_not_retried(
    server: FakeAelystServer, fault: Fault, refused_before_reading: bool
) -> None:
    """Over max_response_bytes: ResponseTooLargeError with the cap and bytes read, one request."""
    server.faults.next(fault, times=5)
    async with AelystClient(
        TOKEN, base_url=server.url, max_response_bytes=CAP, retry=FAST
    ) as client:
        with pytest.raises(ResponseTooLargeError) as info:
            await list_all(client, busiest(server))
    error = info.value
    assert (200, CAP, 1) == (error.status, error.limit, server.stats.requests)
    if refused_before_reading:
        assert (0, 2 * 1024**3) == (error.received, error.content_length)
    else:
        assert CAP < error.received <= CAP + 256 * 1024


async def test_a_page_under_the_cap_is_read_whole(server: FakeAelystServer) -> None:
    """The cap does not get in the way of real pages."""
    identifier = busiest(server)
    async with AelystClient(TOKEN, base_url=server.url, max_response_bytes=CAP) as client:
        assert server.dataset.messages(identifier) == await list_all(client, identifier)


@pytest.mark.parametrize("value", [0, 1023, -1, 1.5, "16M", True])
def test_an_invalid_cap_is_refused_at_once(value: object) -> None:
    """max_response_bytes is an integer of at least 1024, or None."""
    with pytest.raises(InvalidArgumentError, match="max_response_bytes"):
        AelystClient(TOKEN, max_response_bytes=value)  # type: ignore[arg-type]


PEAK_RSS_SCRIPT = """
import asyncio, sys
from aelyst_async import AelystClient, ResponseTooLargeError, RetryPolicy

def kib(field):
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1])

async def main(url, identifier):
    async with AelystClient("{token}", base_url=url, retry=RetryPolicy.disabled()) as client:
        [m async for m in client.messages.list(identifier)]  # warm: imports, session, a page
        try:
            with open("/proc/self/clear_refs", "w") as clear:
                clear.write("5")  # the peak (VmHWM) starts again from the current RSS
        except OSError:
            pass  # a kernel that refuses: the peak may then predate this call
        before = kib("VmRSS")
        try:
            [m async for m in client.messages.list(identifier)]
        except ResponseTooLargeError as error:
            print(before, kib("VmHWM"), error.received)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.mark.skipif(
    not Path("/proc/self/clear_refs").exists(), reason="reads peak RSS from Linux's /proc"
)
@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(Fault.oversized(), id="2-GiB-content-length"),
        pytest.param(Fault.endless(), id="endless-chunked"),
        pytest.param(Fault.gzip_bomb(), id="gzip-bomb"),
    ],
)
async def test_refusing_a_hostile_body_keeps_peak_memory_near_the_cap(
    server: FakeAelystServer, fault: Fault
) -> None:
    """Peak RSS of a client refusing the body grows by at most the 16 MiB cap and a few MiB."""
    identifier = busiest(server)
    server.faults.next(Fault.bad_next(None), times=1)  # the warm-up: one page, the last
    server.faults.next(fault, times=1)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        PEAK_RSS_SCRIPT.format(token=TOKEN),
        server.url,
        identifier,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    before_kib, after_kib, _received = map(int, out.split())
    growth_mib = (after_kib - before_kib) / 1024
    assert growth_mib < 16 + 4, f"peak RSS grew by {growth_mib:.1f} MiB"


# -- Retry-After and the shared limiter -----------------------------------------------------


async def test_an_absurd_retry_after_freezes_the_shared_key_no_longer_than_the_policy(
    server: FakeAelystServer,
) -> None:
    """Retry-After: 1e9 raises for that call; the shared key pauses 60 s, not 31 years."""
    clock = FakeClock(auto_advance=True)
    limiter = TokenBucketLimiter(clock=clock)
    identifier = busiest(server)
    server.faults.next(Fault.rate_limited(retry_after=1e9), times=1)
    policy = RetryPolicy(max_retry_after=60)
    async with (
        AelystClient(
            TOKEN, base_url=server.url, clock=clock, rate_limiter=limiter, retry=policy
        ) as a,
        AelystClient(TOKEN, base_url=server.url, clock=clock, rate_limiter=limiter) as b,
    ):
        with pytest.raises(RateLimitError) as info:
            await list_all(a, identifier)
        assert 1e9 == info.value.retry_after
        started = clock.monotonic()
        first = await anext(aiter(b.messages.list(identifier, timeout=Timeout(total=None))))
        waited = clock.monotonic() - started
    assert server.dataset.messages(identifier)[0] == wire([first])[0]
    assert 0 < waited <= 60


async def test_a_503_with_an_absurd_retry_after_freezes_no_longer_than_the_policy(
    server: FakeAelystServer,
) -> None:
    """The same rule for a 503 with Retry-After as for a 429."""
    clock = FakeClock(auto_advance=True)
    limiter = TokenBucketLimiter(clock=clock)
    server.faults.next(Fault.rate_limited(retry_after=1e9, status=503), times=1)
    async with AelystClient(
        TOKEN, base_url=server.url, clock=clock, rate_limiter=limiter
    ) as client:
        with pytest.raises(InternalServerError):
            await list_all(client, "id:1")
        key = client._limiter_key
    frozen_until = limiter.snapshot(key).frozen_until
    assert frozen_until is not None
    assert frozen_until - clock.monotonic() <= RetryPolicy().max_retry_after


async def test_a_call_that_cannot_start_before_its_deadline_raises_rate_limit_error(
    server: FakeAelystServer,
) -> None:
    """Key paused past the call's deadline: RateLimitError with retry_at, and no request."""
    clock = FakeClock(auto_advance=True)
    limiter = TokenBucketLimiter(clock=clock)
    server.faults.next(Fault.rate_limited(retry_after=50), times=1)
    async with (
        AelystClient(
            TOKEN,
            base_url=server.url,
            clock=clock,
            rate_limiter=limiter,
            retry=RetryPolicy.disabled(),
        ) as first,
        AelystClient(
            TOKEN, base_url=server.url, clock=clock, rate_limiter=limiter, timeout=Timeout(total=10)
        ) as second,
    ):
        with pytest.raises(RateLimitError):
            await list_all(first, "id:1")
        with pytest.raises(RateLimitError) as info:
            await list_all(second, "id:1")
    assert info.value.retry_after == pytest.approx(50)
    assert info.value.retry_at is not None
    assert "deadline" in str(info.value)
    assert 1 == server.stats.requests


@pytest.mark.parametrize("status", [429, 503])
async def test_a_server_clock_hours_ahead_gets_its_few_seconds(
    server: FakeAelystServer, status: int
) -> None:
    """An HTTP-date Retry-After is read against the response's Date, not the client's clock."""
    clock = FakeClock(auto_advance=True)
    identifier = busiest(server)
    fault = Fault.rate_limited(retry_after=5, status=status, date_skew=3 * 3600)
    server.faults.next(fault, times=1)
    start = clock.monotonic()
    async with AelystClient(TOKEN, base_url=server.url, clock=clock) as client:
        assert server.dataset.messages(identifier) == await list_all(client, identifier)
    assert 5 <= clock.monotonic() - start <= 8


async def test_clear_freeze_lets_the_next_call_go_at_once(server: FakeAelystServer) -> None:
    """An operator who knows better clears the freeze: the next call waits for nothing."""
    clock = FakeClock(auto_advance=True)
    limiter = TokenBucketLimiter(clock=clock)
    server.faults.next(Fault.rate_limited(retry_after=50), times=1)
    async with AelystClient(
        TOKEN, base_url=server.url, clock=clock, rate_limiter=limiter, retry=RetryPolicy.disabled()
    ) as client:
        with pytest.raises(RateLimitError):
            await list_all(client, "id:1")
        assert limiter.snapshot(client._limiter_key).frozen_until is not None
        limiter.clear_freeze()
        assert limiter.snapshot(client._limiter_key).frozen_until is None
        before = clock.monotonic()
        await anext(aiter(client.messages.list("id:1")))
    assert before == clock.monotonic()


# -- no page is lost ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "shown"),
    [
        pytest.param("/v1/contact/id:1/message/list?limit=10", None, id="no-cursorId"),
        pytest.param("/v1/contact/id:1/message/list?limit=10&cursorId=", None, id="empty-cursor"),
        pytest.param("garbage", None, id="not-a-url"),
        pytest.param(12345, "12345", id="a-number"),
    ],
)
async def test_a_page_with_an_unusable_next_link_is_delivered_then_the_error(
    server: FakeAelystServer, link: object, shown: str | None
) -> None:
    """The page's items are yielded; then PaginationError carries the link and no safe cursor."""
    identifier = busiest(server)
    server.faults.next(Fault.bad_next(link), times=1)
    got: list[Message] = []
    async with AelystClient(TOKEN, base_url=server.url) as client:
        with pytest.raises(PaginationError) as info:
            await collect(aiter(client.messages.list(identifier, limit=10)), got)
    assert server.dataset.messages(identifier)[:10] == wire(got)
    assert (shown or link) == info.value.link
    assert NO_SAFE_CURSOR is info.value.resume_cursor


async def test_no_error_when_max_items_is_satisfied_by_that_page(server: FakeAelystServer) -> None:
    """max_items reached on the page with the bad link: the iteration just ends."""
    identifier = busiest(server)
    server.faults.next(Fault.bad_next("garbage"), times=1)
    async with AelystClient(TOKEN, base_url=server.url) as client:
        got = await list_all(client, identifier, limit=10, max_items=10)
    assert server.dataset.messages(identifier)[:10] == got


async def test_a_repeated_cursor_delivers_the_page_then_raises(server: FakeAelystServer) -> None:
    """A next link that points back at a visited cursor: the new page, then the error."""
    identifier = busiest(server)
    async with AelystClient(TOKEN, base_url=server.url) as client:
        first = await anext(aiter(client.messages.list(identifier, limit=10).pages()))
        assert first.pagination.next is not None
        pages: list[Page] = []
        # The first page as it is; the second's next link goes back to the first's cursor.
        server.faults.next(Fault.slow(0), times=1).next(Fault.bad_next(first.pagination.next))
        with pytest.raises(PaginationError, match="twice") as info:
            await collect(client.messages.list(identifier, limit=10).pages(), pages)
    got = [message for page in pages for message in page.items]
    assert server.dataset.messages(identifier)[:20] == wire(got)
    assert (first.next_cursor, NO_SAFE_CURSOR) == (info.value.cursor, info.value.resume_cursor)


async def test_a_run_of_empty_pages_is_bounded(server: FakeAelystServer) -> None:
    """MAX_EMPTY_PAGES empty pages with ever-new cursors end in PaginationError, resumable."""
    for n in range(MAX_EMPTY_PAGES + 5):
        server.faults.next(Fault.bad_next(f"?cursorId=empty-{n}", keep_items=False))
    async with AelystClient(TOKEN, base_url=server.url) as client:
        with pytest.raises(PaginationError, match="empty pages") as info:
            await list_all(client, "id:1")
    last = f"empty-{MAX_EMPTY_PAGES - 1}"
    assert (MAX_EMPTY_PAGES, last) == (server.stats.requests, info.value.resume_cursor)


@pytest.mark.parametrize(("limit", "second_page"), [(5, 5), (None, 20)])
async def test_the_callers_limit_wins_over_the_links(
    server: FakeAelystServer, limit: int | None, second_page: int
) -> None:
    """The caller's limit sizes every page; a link's limit applies only when none was given."""
    identifier = busiest(server)
    async with AelystClient(TOKEN, base_url=server.url) as client:
        first = await anext(aiter(client.messages.list(identifier, limit=limit or 10).pages()))
        link = f"/v1/contact/{identifier}/message/list?limit=20&cursorId={first.next_cursor}"
        server.faults.next(Fault.bad_next(link), times=1)
        pages = [p async for p in client.messages.list(identifier, limit=limit).pages()]
    assert second_page == len(pages[1].items)


async def test_list_many_delivers_the_page_with_its_failure_and_no_safe_cursor(
    server: FakeAelystServer,
) -> None:
    """In list_many the bad page comes inside its FailureResult: nothing lost, nothing twice."""
    identifier = busiest(server)
    server.faults.next(Fault.bad_next("garbage"), times=1)
    async with AelystClient(TOKEN, base_url=server.url) as client:
        got, failures = await drain(client.messages.list_many([identifier], limit=10))
    (failure,) = failures
    assert failure.page is not None
    assert isinstance(failure.error, PaginationError)
    assert NO_SAFE_CURSOR is failure.resume_cursor
    assert [] == got.get(identifier, [])
    assert server.dataset.messages(identifier)[:10] == wire(failure.page.items)


async def test_no_safe_cursor_is_refused_as_a_cursor(server: FakeAelystServer) -> None:
    """Passing NO_SAFE_CURSOR back is refused at once, never taken for 'start over'."""
    async with AelystClient(TOKEN, base_url=server.url) as client:
        with pytest.raises(InvalidArgumentError, match="NO_SAFE_CURSOR"):
            client.messages.list("id:1", cursor_id=NO_SAFE_CURSOR)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError, match="NO_SAFE_CURSOR"):
            client.messages.list_many(["id:1"], cursors={"id:1": NO_SAFE_CURSOR})  # type: ignore[arg-type]
    assert 0 == server.stats.requests


# -- errors stay readable -------------------------------------------------------------------


async def test_a_huge_error_message_gives_a_bounded_str(server: FakeAelystServer) -> None:
    """str(error) is about 1 KiB whatever the server's message; the excerpt stays on the error."""
    server.faults.next(Fault.status(500, {"code": 500, "message": "m" * 60_000}), times=1)
    async with AelystClient(TOKEN, base_url=server.url, retry=RetryPolicy.disabled()) as client:
        with pytest.raises(InternalServerError) as info:
            await list_all(client, "id:1")
    assert len(str(info.value)) <= 1024
    assert info.value.api_message is not None
    assert len(info.value.api_message) == 4096


async def test_not_found_names_the_contact(server: FakeAelystServer) -> None:
    """NotFoundError says which identifier."""
    async with AelystClient(TOKEN, base_url=server.url) as client:
        with pytest.raises(NotFoundError, match=r"contact 'email:nobody@example\.com'"):
            await list_all(client, "email:nobody@example.com")


async def test_a_404_on_a_base_url_without_version_says_so(server: FakeAelystServer) -> None:
    """base_url without /v1: the 404 suggests the URL with it."""
    base = server.url.removesuffix("/v1")
    async with AelystClient(TOKEN, base_url=base) as client:
        with pytest.raises(NotFoundError, match="no API version prefix") as info:
            await list_all(client, "id:1")
    assert f"did you mean {server.url!r}" in str(info.value)


async def test_a_refused_connection_names_the_host_and_the_reason() -> None:
    """Nothing listening: 'cannot connect to 127.0.0.1:PORT: connection refused'."""
    url = await dead_url()
    port = url.split(":")[2].split("/")[0]
    async with AelystClient(TOKEN, base_url=url, retry=RetryPolicy.disabled()) as client:
        with pytest.raises(APIConnectionError) as info:
            await list_all(client, "id:1")
    assert f"cannot connect to 127.0.0.1:{port}: connection refused" in str(info.value)
    assert (f"127.0.0.1:{port}", True) == (info.value.host, info.value.unreachable)


# -- bulk and export against a dead host ----------------------------------------------------


async def test_list_many_against_a_dead_host_ends_with_one_error_naming_it() -> None:
    """Contacts in a row cannot connect: one APIConnectionError naming the host, within a minute."""
    url = await dead_url()
    clock = FakeClock(auto_advance=True)
    start = clock.monotonic()
    failures: list[PageResult | FailureResult] = []
    async with AelystClient(TOKEN, base_url=url, clock=clock) as client:
        stream = client.messages.list_many([f"id:{n}" for n in range(1, 1000)], concurrency=4)
        with pytest.raises(APIConnectionError, match="is unreachable") as info:
            await collect(stream, failures)
    assert len(failures) < DEAD_HOST_FAILURES
    assert info.value.host is not None
    assert info.value.host in str(info.value)
    assert clock.monotonic() - start < 60


async def test_a_slow_host_that_answers_is_not_taken_for_dead(server: FakeAelystServer) -> None:
    """Timeouts are not connection failures: every contact is reported, none ends the stream."""
    server.faults.fraction(1.0, [Fault.slow(0.5)])
    identifiers = list(server.dataset.identifiers())[: DEAD_HOST_FAILURES + 2]
    async with AelystClient(
        TOKEN, base_url=server.url, retry=RetryPolicy.disabled(), timeout=Timeout(read=0.02)
    ) as client:
        got, failures = await drain(client.messages.list_many(identifiers, concurrency=4))
    assert len(identifiers) == len(failures) + len(got)
    assert any(isinstance(f.error, APITimeoutError) for f in failures)


def test_export_against_a_dead_host_exits_1_naming_the_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`aelyst export` on a refused host: one error line naming it, exit status 1."""
    url = asyncio.run(dead_url())

    async def no_wait(self: SystemClock, seconds: float) -> None:
        await asyncio.sleep(0)

    monkeypatch.setattr(SystemClock, "sleep", no_wait)  # the backoffs take no time
    contacts = tmp_path / "contacts.txt"
    contacts.write_text("".join(f"id:{n}\n" for n in range(1, 200)))
    result = CliRunner().invoke(
        cli,
        ["export", "--contacts", str(contacts), "--out", str(tmp_path / "o.jsonl"),
         "--progress", "none"],
        env={"AELYST_BASE_URL": url, "AELYST_TOKEN": TOKEN},
        catch_exceptions=False,
    )  # fmt: skip
    host = url.split("//")[1].split("/")[0]
    (line,) = result.stderr.splitlines()
    assert (1, True) == (
        result.exit_code,
        line.startswith(f"error: giving up: {host} is unreachable"),
    )


# -- cursors= -------------------------------------------------------------------------------


async def test_cursors_take_identifier_objects_and_strings_alike(server: FakeAelystServer) -> None:
    """An Identifier key resumes its contact exactly as its string form does."""
    identifier = busiest(server)
    async with AelystClient(TOKEN, base_url=server.url) as client:
        first = await anext(aiter(client.messages.list(identifier, limit=10).pages()))
        assert first.next_cursor is not None
        got, failures = await drain(
            client.messages.list_many(
                [identifier], limit=10, cursors={Identifier.parse(identifier): first.next_cursor}
            )
        )
    assert ([], server.dataset.messages(identifier)[10:]) == (failures, got[identifier])


@pytest.mark.parametrize(
    "cursors",
    [
        pytest.param({"bogus": "1"}, id="not-an-identifier"),
        pytest.param({"id:1": ""}, id="empty-cursor"),
        pytest.param({"id:1": 5}, id="not-a-str"),
        pytest.param(["id:1"], id="not-a-mapping"),
    ],
)
async def test_an_invalid_cursors_entry_is_refused_at_once(
    server: FakeAelystServer, cursors: object
) -> None:
    """A bad key or cursor: InvalidArgumentError when list_many is called, naming it."""
    async with AelystClient(TOKEN, base_url=server.url) as client:
        with pytest.raises(InvalidArgumentError, match="cursors"):
            client.messages.list_many(["id:1"], cursors=cursors)  # type: ignore[arg-type]


async def test_a_cursor_for_a_contact_not_in_the_input_is_reported(
    server: FakeAelystServer,
) -> None:
    """Never silently dropped: a FailureResult naming it, carrying the cursor given."""
    async with AelystClient(TOKEN, base_url=server.url) as client:
        _, failures = await drain(client.messages.list_many(["id:1"], cursors={"id:2": "abc"}))
    (failure,) = failures
    assert ("id:2", "abc") == (failure.identifier, failure.resume_cursor)
    assert isinstance(failure.error, InvalidArgumentError)
    assert "never appeared" in str(failure.error)


async def test_with_fail_fast_the_bad_page_comes_with_the_error(server: FakeAelystServer) -> None:
    """list_many(fail_fast=True) raises the PaginationError; its `page` holds the messages."""
    identifier = busiest(server)
    server.faults.next(Fault.bad_next("garbage"), times=1)
    async with AelystClient(TOKEN, base_url=server.url) as client:
        with pytest.raises(PaginationError) as info:
            await drain(client.messages.list_many([identifier], limit=10, fail_fast=True))
    assert info.value.page is not None
    assert server.dataset.messages(identifier)[:10] == wire(info.value.page.items)


def test_a_404_from_the_api_itself_gives_no_base_url_hint() -> None:
    """The API's own 'Contact not found.' proves the base URL right: no version hint."""
    error = error_for_response(
        Response(
            status=404,
            headers={},
            body=b'{"code": 404, "message": "Contact not found."}',
            url="https://proxy.example/aelyst/contact/id:9/message/list",
        ),
        RateLimit(),
    )
    assert "HTTP 404: Contact not found. (contact 'id:9')" == str(error)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: Fault.oversized(0), id="oversized-of-nothing"),
        pytest.param(lambda: Fault.gzip_bomb(-1), id="negative-bomb"),
        pytest.param(lambda: Fault.rate_limited(status=200), id="rate-limited-with-200"),
        pytest.param(
            lambda: Fault.rate_limited(date_skew="3h"),  # type: ignore[arg-type]
            id="skew-not-a-number",
        ),
    ],
)
def test_a_hostile_fault_with_invalid_options_is_refused(make: Callable[[], Fault]) -> None:
    """The new fault kinds check their options at once."""
    with pytest.raises(InvalidArgumentError):
        make()


def test_any_answer_from_the_server_resets_the_dead_host_count() -> None:
    """Unreachable, unreachable, ..., an HTTP 404, then the count starts again from zero."""

    async def never(identifier: Identifier, limit: int | None, cursor: str | None) -> Page:
        raise AssertionError("not called")

    engine = BulkEngine(never, [], concurrency=1, limit=None, cursors=None, fail_fast=False)
    refused = APIConnectionError("refused", host="h:1", unreachable=True)
    read_timeout = APITimeoutError("slow", host="h:1")
    not_found = NotFoundError("HTTP 404", status=404)
    outcomes = [
        engine.count_unreachable(error)
        for error in [
            *[refused] * (DEAD_HOST_FAILURES - 1),
            not_found,
            *[refused] * (DEAD_HOST_FAILURES - 1),
            read_timeout,
        ]
    ]
    assert [None] * len(outcomes) == outcomes
    dead = engine.count_unreachable(refused)
    assert dead is not None
    assert "h:1 is unreachable" in str(dead)


async def test_a_deadline_holds_over_http_while_a_large_page_decodes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 300 KiB page whose decoding outlasts Timeout(total=10): APITimeoutError at 10 s."""
    loop = asyncio.get_running_loop()
    started = asyncio.Event()
    release = threading.Event()
    body = orjson.dumps({"items": [], "pagination": {"next": None}, "padding": "x" * 300_000})

    def slow_decode(response: Response, rate_limit: RateLimit) -> Page:
        loop.call_soon_threadsafe(started.set)
        release.wait(30)  # stands for seconds of CPU, until the test says so
        return decode_page(response, rate_limit)

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/v1/contact/{identifier}/message/list", handler)
    monkeypatch.setattr("aelyst_async._client.decode_page", slow_decode)
    clock = FakeClock()
    async with (
        TestServer(app) as http,
        AelystClient(TOKEN, base_url=str(http.make_url("/v1")), clock=clock, timeout=10) as client,
    ):
        call = asyncio.create_task(list_all(client, "id:1"))
        await started.wait()
        await clock.advance(10)
        try:
            with pytest.raises(APITimeoutError, match="deadline of 10s exceeded"):
                await call
        finally:
            release.set()


async def test_an_export_loses_nothing_and_repeats_nothing_past_a_bad_next_link(
    server: FakeAelystServer, tmp_path: Path
) -> None:
    """The contact fails at the bad page, left unwritten; --resume fetches it again: exact truth."""
    identifier = busiest(server)
    contacts = [identifier, *(c for c in server.dataset.identifiers() if c != identifier)]
    out = tmp_path / "messages.jsonl"
    # One contact at a time: its first page as it is, the second with a garbage next link.
    server.faults.next(Fault.slow(0)).next(Fault.bad_next("garbage"))
    async with AelystClient(TOKEN, base_url=server.url) as client:
        summary = await run_export(client, contacts, out, limit=10, concurrency=1)
        assert [identifier] == [failed.identifier for failed in summary.failed]
        summary = await run_export(client, contacts, out, limit=10, resume=True)
    assert () == summary.failed
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    expected = [(c, m) for c in contacts for m in server.dataset.messages(c)]
    key = orjson.OPT_SORT_KEYS
    assert sorted(orjson.dumps(pair, option=key) for pair in expected) == sorted(
        orjson.dumps((line["contact"], line["message"]), option=key) for line in lines
    )
