"""
What the SDK tells of its requests: one DEBUG line per attempt, `AELYST_LOG`, and the
`ResponseInfo` of pages and errors; never the token nor the identifier.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

import aelyst_async
from aelyst_async import (
    AelystClient,
    APIConnectionError,
    APIStatusError,
    Identifier,
    NotFoundError,
    ResponseInfo,
    RetryPolicy,
    Timeout,
    to_wire,
)
from aelyst_async._instrument import contact_hash
from aelyst_async._logs import LOGGER_NAME, configure_from_env
from aelyst_async._response import redact_headers, request_id_of
from aelyst_async.testing import Dataset, FakeAelystServer, FakeClock, Fault

from .observing import email_of, fetch_pages, leaks

TOKEN = "sk-observe-5f0c1e2d"
pytestmark = pytest.mark.aelyst_server(token=TOKEN, dataset=Dataset(seed=3, contacts=5))
FAST = RetryPolicy(backoff_base=0.001, backoff_cap=0.01)
ROUTE = "GET /v1/contact/{identifier}/message/list"


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    return caplog


# -- the DEBUG line of each attempt ---------------------------------------------------------------


async def test_each_attempt_is_one_debug_line_with_its_facts(
    server: FakeAelystServer, debug_log: pytest.LogCaptureFixture
) -> None:
    """A page fetched after one 503 makes two DEBUG lines: route, contact hash, status, timing."""
    identifier = email_of(server)
    server.faults.next(Fault.status(503))
    async with AelystClient(TOKEN, base_url=server.url, retry=FAST) as client:
        await fetch_pages(client, identifier, limit=50, max_items=5)
    lines = [r.getMessage() for r in debug_log.records if r.levelno == logging.DEBUG]
    assert 2 == len(lines)
    first, second = lines
    hashed = contact_hash(Identifier.parse(identifier))
    assert first.startswith(f"{ROUTE} contact=#{hashed} attempt=1 status=503 ")
    assert second.startswith(f"{ROUTE} contact=#")
    assert " attempt=2 status=200 " in second
    for field in ("elapsed_ms=", "limiter_wait_ms=", "ratelimit_limit=", "ratelimit_remaining="):
        assert field in second
    assert "request_id=req_2" in second
    assert [] == leaks("\n".join(lines), TOKEN, identifier)


async def test_a_fault_without_response_is_logged_by_its_kind(
    server: FakeAelystServer, debug_log: pytest.LogCaptureFixture
) -> None:
    """A timed-out attempt is logged as `status=(timeout)`, then its retry as usual."""
    server.faults.next(Fault.slow(2.0))
    async with AelystClient(
        TOKEN, base_url=server.url, retry=FAST, timeout=Timeout(read=0.05)
    ) as client:
        await fetch_pages(client, "id:1", max_items=1)
    lines = [r.getMessage() for r in debug_log.records if r.levelno == logging.DEBUG]
    assert " attempt=1 status=(timeout) " in lines[0]
    assert " attempt=2 status=200 " in lines[1]


async def test_the_contact_hash_is_short_and_stable() -> None:
    """The same identifier always gets the same 8 hex digits, which do not show it."""
    identifier = Identifier.parse("email:someone@example.com")
    assert contact_hash(identifier) == contact_hash(Identifier.parse("email:someone@example.com"))
    assert 8 == len(contact_hash(identifier))
    assert contact_hash(identifier) != contact_hash(Identifier.parse("id:1"))


async def test_a_success_logs_nothing_at_info(
    server: FakeAelystServer, caplog: pytest.LogCaptureFixture
) -> None:
    """At INFO, a call that needed no retry is silent."""
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    async with AelystClient(TOKEN, base_url=server.url) as client:
        await fetch_pages(client, "id:1")
    assert [] == caplog.records


# -- AELYST_LOG ---------------------------------------------------------------------------------


@pytest.fixture
def sdk_logger() -> Iterator[logging.Logger]:
    """The SDK's logger, restored after the test."""
    logger = logging.getLogger(LOGGER_NAME)
    level, handlers = logger.level, list(logger.handlers)
    yield logger
    logger.setLevel(level)
    logger.handlers[:] = handlers


@pytest.mark.parametrize(
    ("value", "level"),
    [
        pytest.param("debug", logging.DEBUG, id="debug"),
        pytest.param("INFO", logging.INFO, id="info-any-case"),
    ],
)
def test_aelyst_log_sets_the_level_and_one_handler(
    value: str, level: int, sdk_logger: logging.Logger
) -> None:
    """`AELYST_LOG=debug|info` sets the SDK logger's level and adds one stderr handler, once."""
    configure_from_env({"AELYST_LOG": value})
    configure_from_env({"AELYST_LOG": value})
    assert level == sdk_logger.level
    assert 1 == len(sdk_logger.handlers)


def test_an_unknown_aelyst_log_is_ignored_with_a_warning(sdk_logger: logging.Logger) -> None:
    """A typo warns, naming the value, and configures nothing."""
    with pytest.warns(RuntimeWarning, match="'verbose'"):
        configure_from_env({"AELYST_LOG": "verbose"})
    assert [] == sdk_logger.handlers


SCRIPT = """
import asyncio
from aelyst_async import AelystClient
from aelyst_async.testing import Dataset, FakeAelystServer

async def main():
    dataset = Dataset(seed=3, contacts=5)
    async with FakeAelystServer(token="{token}", dataset=dataset) as server:
        async with AelystClient("{token}", base_url=server.url) as client:
            async for message in client.messages.list("{identifier}", max_items=3):
                pass

asyncio.run(main())
"""


@pytest.mark.slow
def test_aelyst_log_debug_turns_logging_on_without_code() -> None:
    """A program run with AELYST_LOG=debug writes each attempt to stderr, without secrets."""
    identifier = Dataset(seed=3, contacts=5).contact("id:2").email
    code = textwrap.dedent(SCRIPT.format(token=TOKEN, identifier=identifier))
    env = {**os.environ, "AELYST_LOG": "debug"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert 0 == done.returncode, done.stderr
    assert f"DEBUG aelyst_async] {ROUTE} contact=#" in done.stderr
    assert "attempt=1 status=200" in done.stderr
    assert [] == leaks(done.stderr, TOKEN, identifier)


# -- ResponseInfo ---------------------------------------------------------------------------------


async def test_a_page_carries_its_response(server: FakeAelystServer) -> None:
    """`page.response`: status, headers, request id, attempts, elapsed and received_at."""
    clock = FakeClock(auto_advance=True, epoch=1_800_000_000.0)
    server.faults.next(Fault.status(503))
    async with AelystClient(
        TOKEN, base_url=server.url, retry=FAST, clock=clock, rate_limiter=None
    ) as client:
        [page] = await fetch_pages(client, "id:1", limit=50, max_items=2)
    info = page.response
    assert info is not None
    assert 200 == info.status
    assert "application/json" in info.headers["content-type"]
    assert "req_2" == info.request_id
    assert 2 == info.attempts
    assert dt.timedelta(seconds=clock.slept[0]) == info.elapsed  # the backoff, on the fake clock
    assert dt.datetime.fromtimestamp(clock.wall(), dt.timezone.utc) == info.received_at


async def test_an_error_carries_its_response(server: FakeAelystServer) -> None:
    """A 404 error carries the response it came from, and its time from the client's clock."""
    clock = FakeClock(auto_advance=True, epoch=1_800_000_000.0)
    async with AelystClient(TOKEN, base_url=server.url, clock=clock) as client:
        with pytest.raises(NotFoundError) as raised:
            await fetch_pages(client, "id:999999")
    info = raised.value.response
    assert info is not None
    assert (404, 1) == (info.status, info.attempts)
    assert info.request_id is not None
    assert info.received_at == raised.value.received_at
    assert dt.datetime.fromtimestamp(1_800_000_000.0, dt.timezone.utc) == info.received_at


async def test_an_exhausted_retry_error_carries_the_last_response(
    server: FakeAelystServer,
) -> None:
    """After three 503s, the error's response says 3 attempts."""
    server.faults.next(Fault.status(503), times=3)
    policy = RetryPolicy(max_attempts=3, backoff_base=0.001, backoff_cap=0.01)
    async with AelystClient(TOKEN, base_url=server.url, retry=policy) as client:
        with pytest.raises(APIStatusError) as raised:
            await fetch_pages(client, "id:1")
    assert raised.value.response is not None
    assert (503, 3) == (raised.value.response.status, raised.value.response.attempts)


async def test_a_decode_error_carries_its_response(server: FakeAelystServer) -> None:
    """A 200 that is not JSON raises an error whose response is that 200."""
    server.faults.next(Fault.not_json())
    policy = RetryPolicy(retry_decode_errors=False)
    async with AelystClient(TOKEN, base_url=server.url, retry=policy) as client:
        with pytest.raises(aelyst_async.APIResponseDecodeError) as raised:
            await fetch_pages(client, "id:1")
    assert raised.value.response is not None
    assert 200 == raised.value.response.status


async def test_a_connection_error_has_no_response(server: FakeAelystServer) -> None:
    """No response arrived, so there is none to carry."""
    server.faults.next(Fault.slow(2.0))
    async with AelystClient(
        TOKEN, base_url=server.url, retry=RetryPolicy.disabled(), timeout=Timeout(read=0.05)
    ) as client:
        with pytest.raises(APIConnectionError) as raised:
            await fetch_pages(client, "id:1")
    assert raised.value.response is None


async def test_the_response_is_not_part_of_equality_nor_of_the_repr(
    server: FakeAelystServer,
) -> None:
    """Two fetches of the same page are equal although their responses differ."""
    async with AelystClient(TOKEN, base_url=server.url) as client:
        [first] = await fetch_pages(client, "id:1", limit=50, max_items=3)
        [second] = await fetch_pages(client, "id:1", limit=50, max_items=3)
    assert first.response != second.response  # other request ids
    assert first == second
    assert hash(first) == hash(second)
    assert "response" not in repr(first)


async def test_the_response_is_not_part_of_the_wire_form(server: FakeAelystServer) -> None:
    """`to_wire(page)` is the body as the API sent it: the SDK's metadata stays out."""
    async with AelystClient(TOKEN, base_url=server.url) as client:
        [page] = await fetch_pages(client, "id:1", limit=50, max_items=3)
    assert page.response is not None
    assert {"items", "pagination"} == set(to_wire(page))


def test_the_repr_of_a_response_is_short() -> None:
    """Status, request id, attempts and elapsed time; no headers."""
    info = ResponseInfo(
        status=200,
        headers=CIMultiDict({"X-Secret": "x", "X-Request-Id": "req_1"}),
        attempts=1,
        elapsed_seconds=0.012,
        received_timestamp=1_800_000_000.0,
    )
    expected = "ResponseInfo(status=200, request_id='req_1', attempts=1, elapsed=0.012s)"
    assert expected == repr(info)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Set-Cookie", id="set-cookie"),
        pytest.param("Authorization", id="authorization"),
        pytest.param("X-Api-Key", id="api-key"),
        pytest.param("X-Amz-Security-Token", id="token"),
        pytest.param("X-Session-Id", id="session"),
    ],
)
def test_secret_looking_headers_are_redacted(name: str) -> None:
    """A header whose name looks secret keeps its name, not its value."""
    headers = redact_headers(CIMultiDict({name: "s3cr3t", "X-RateLimit-Remaining": "4"}))
    assert "[redacted]" == headers[name]
    assert "4" == headers["x-ratelimit-remaining"]


def test_headers_with_nothing_to_redact_are_kept_without_a_copy() -> None:
    """aiohttp's read-only headers with no secret-looking name are kept as they are."""
    plain = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))
    secret = CIMultiDictProxy(CIMultiDict({"Content-Type": "text/plain", "Set-Cookie": "s=1"}))
    assert plain is redact_headers(plain)
    assert {"Content-Type": "text/plain", "Set-Cookie": "[redacted]"} == dict(
        redact_headers(secret)
    )
    assert "s=1" == secret["Set-Cookie"]  # the response's own headers are left alone


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"X-Request-Id": "req_1"}, "req_1", id="x-request-id"),
        pytest.param({"request-id": " abc "}, "abc", id="request-id-any-case-trimmed"),
        pytest.param({"X-Correlation-Id": "c-9"}, "c-9", id="correlation-id"),
        pytest.param({"X-Request-Id": "a\x1bb"}, None, id="control-characters"),
        pytest.param({"X-Request-Id": "r" * 129}, None, id="too-long"),
        pytest.param({}, None, id="absent"),
    ],
)
def test_the_request_id_is_read_only_when_readable(
    headers: dict[str, str], expected: str | None
) -> None:
    """The request id is short printable ASCII from a known header, or `None`."""
    assert expected == request_id_of(CIMultiDict(headers))
