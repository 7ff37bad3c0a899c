"""
The SDK core over real loopback HTTP against the shipped fake server.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
from typing import Any

import aiohttp
import pytest

from aelyst_async import (
    AelystClient,
    AelystError,
    APIResponseDecodeError,
    AuthenticationError,
    BadRequestError,
    Identifier,
    InternalServerError,
    InvalidArgumentError,
    Message,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    TextMessage,
    TokenBucketLimiter,
    UnknownMessage,
)
from aelyst_async.testing import Dataset, FakeAelystServer, FakeClock, Fault

from .helpers import wire

TOKEN = "test-token-5f0c1a"
NO_RETRY = RetryPolicy.disabled()


pytestmark = pytest.mark.aelyst_server(token=TOKEN, dataset=Dataset(seed=7, contacts=12))


async def collect(
    client: AelystClient, identifier: str | Identifier, **options: Any
) -> list[Message]:
    return [message async for message in client.messages.list(identifier, **options)]


def multi_page_contact(server: FakeAelystServer, pages: int, limit: int) -> str:
    for identifier in server.dataset.identifiers():
        if (pages - 1) * limit < len(server.dataset.messages(identifier)) <= pages * limit:
            return identifier
    raise LookupError(f"no contact with {pages} pages of {limit}")


async def test_three_pages_equal_the_server_ground_truth(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """Iterating a three-page contact yields exactly the server's messages, in order."""
    identifier = multi_page_contact(server, pages=3, limit=10)
    assert server.dataset.messages(identifier) == wire(await collect(client, identifier, limit=10))
    assert 3 == server.stats.requests


async def test_pages_expose_items_and_cursors(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """`.pages()` yields pages whose cursors chain to the end."""
    identifier = multi_page_contact(server, pages=3, limit=10)
    pages = [page async for page in client.messages.list(identifier, limit=10).pages()]
    assert [10, 10] == [len(p.items) for p in pages[:2]]
    assert pages[0].previous_cursor is None
    assert pages[-1].next_cursor is None
    assert [p.next_cursor for p in pages[:-1]] == [
        p.pagination.next and p.next_cursor for p in pages[:-1]
    ]


async def test_resuming_from_a_cursor_yields_the_rest(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """Starting at a page's next_cursor yields exactly the messages after that page."""
    identifier = multi_page_contact(server, pages=3, limit=10)
    first = await anext(client.messages.list(identifier, limit=10).pages())
    rest = await collect(client, identifier, limit=10, cursor_id=first.next_cursor)
    assert server.dataset.messages(identifier)[10:] == wire(rest)


async def test_max_items_stops_after_that_many(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """max_items stops the iteration after that many messages."""
    identifier = multi_page_contact(server, pages=3, limit=10)
    messages = await collect(client, identifier, limit=10, max_items=13)
    assert server.dataset.messages(identifier)[:13] == wire(messages)


@pytest.mark.parametrize("link_style", ["seed", "relative", "canonical"])
async def test_every_link_style_is_followed_on_the_base_url(link_style: str) -> None:
    """Seed-style links (other host, no /v1, literal {identifier}) still lead to base_url."""
    async with FakeAelystServer(
        token=TOKEN, dataset=Dataset(seed=3, contacts=6), link_style=link_style
    ) as server:
        identifier = multi_page_contact(server, pages=3, limit=10)
        async with AelystClient(TOKEN, base_url=server.url, rate_limiter=None) as client:
            messages = await collect(client, identifier, limit=10)
        assert server.dataset.messages(identifier) == wire(messages)
        assert 3 == server.stats.requests


@pytest.mark.parametrize("last_next", ["empty", "null", "missing"])
async def test_the_last_page_is_recognised_whatever_its_next(last_next: str) -> None:
    """An empty, null or missing `next` ends the iteration."""
    async with FakeAelystServer(
        token=TOKEN, dataset=Dataset(seed=3, contacts=6), last_next=last_next
    ) as server:
        identifier = multi_page_contact(server, pages=2, limit=10)
        async with AelystClient(TOKEN, base_url=server.url, rate_limiter=None) as client:
            assert server.dataset.messages(identifier) == wire(
                await collect(client, identifier, limit=10)
            )


async def test_an_empty_page_with_a_next_link_is_not_the_end(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """A page with no items but a next link is followed."""
    identifier = server.dataset.special.empty_page
    assert server.dataset.messages(identifier) == wire(await collect(client, identifier, limit=10))


async def test_a_cursor_loop_raises_instead_of_looping(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """A next link that repeats a visited cursor raises PaginationError."""
    with pytest.raises(PaginationError, match="twice") as info:
        await collect(client, server.dataset.special.cursor_loop, limit=10)
    assert server.dataset.special.cursor_loop == info.value.identifier


async def test_unknown_types_and_enum_values_are_kept(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """The forward-compatibility contact decodes without loss."""
    identifier = server.dataset.special.forward_compat
    messages = await collect(client, identifier)
    assert any(isinstance(m.message, UnknownMessage) for m in messages)
    assert all(isinstance(m.message, (TextMessage, UnknownMessage, type(None))) for m in messages)
    assert server.dataset.messages(identifier) == wire(messages) or len(
        server.dataset.messages(identifier)
    ) == len(messages)


@pytest.mark.parametrize(
    "identifier",
    [
        pytest.param("phone", id="phone-with-plus"),
        pytest.param("email", id="email-with-at"),
    ],
)
async def test_ordinary_identifier_kinds_reach_the_same_contact(
    server: FakeAelystServer, client: AelystClient, identifier: str
) -> None:
    """A contact listed by id, email or phone gives the same messages."""
    contact = server.dataset.contact(next(iter(server.dataset.identifiers())))
    by_kind = getattr(contact, identifier)
    assert wire(await collect(client, f"id:{contact.id}")) == wire(await collect(client, by_kind))


async def test_identifiers_needing_encoding_arrive_intact(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """Identifiers with /, space, %, ?, # and + reach the server exactly as given."""
    for identifier in server.dataset.special.encoded:
        assert server.dataset.messages(identifier) == wire(await collect(client, identifier))


async def test_an_unknown_contact_raises_not_found(client: AelystClient) -> None:
    """A valid identifier of no contact raises NotFoundError with the API's code."""
    with pytest.raises(NotFoundError) as info:
        await collect(client, "id:999999999")
    assert (404, 404) == (info.value.status, info.value.code)


async def test_a_wrong_token_raises_authentication_error(server: FakeAelystServer) -> None:
    """A wrong token gets 401 UN_AUTHORIZED, never retried, and the token is not in the error."""
    async with AelystClient("wrong-token-zzz", base_url=server.url, rate_limiter=None) as client:
        with pytest.raises(AuthenticationError, match="UN_AUTHORIZED") as info:
            await collect(client, "id:1")
    assert 1 == server.stats.requests
    assert "wrong-token-zzz" not in repr(info.value) + str(info.value) + repr(vars(info.value))


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(400, BadRequestError, id="400"),
        pytest.param(403, PermissionDeniedError, id="403"),
        pytest.param(429, RateLimitError, id="429"),
        pytest.param(500, InternalServerError, id="500"),
        pytest.param(503, InternalServerError, id="503"),
    ],
)
async def test_each_error_status_raises_its_typed_error(
    server: FakeAelystServer, client: AelystClient, status: int, error: type[Exception]
) -> None:
    """Each status becomes its typed error, carrying status, headers and resume cursor."""
    fault = Fault.rate_limited(retry_after=1) if status == 429 else Fault.status(status)
    server.faults.next(fault, times=1)
    identifier = next(iter(server.dataset.identifiers()))
    with pytest.raises(error) as info:
        await collect(client, identifier, retry=NO_RETRY)
    assert status == info.value.status  # type: ignore[attr-defined]
    assert (identifier, None) == (info.value.identifier, info.value.resume_cursor)  # type: ignore[attr-defined]


async def test_a_body_that_is_not_json_raises_a_decode_error(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """A 200 whose body is not JSON raises APIResponseDecodeError with status and excerpt."""
    server.faults.next(Fault.not_json(), times=1)
    with pytest.raises(APIResponseDecodeError) as info:
        await collect(client, next(iter(server.dataset.identifiers())), retry=NO_RETRY)
    assert 200 == info.value.status
    assert info.value.body


async def test_invalid_arguments_raise_before_any_request(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """A bad identifier or limit raises ValueError at once and sends nothing."""
    with pytest.raises(ValueError, match="'nobody'"):
        client.messages.list("nobody")
    with pytest.raises(ValueError, match="51"):
        client.messages.list("id:1", limit=51)
    with pytest.raises(ValueError, match="-1"):
        client.messages.list("id:1", max_items=-1)
    assert 0 == server.stats.requests


async def test_an_error_mid_iteration_carries_the_cursor_to_resume_from(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """Resuming at an error's resume_cursor yields exactly the messages not yet seen."""
    identifier = multi_page_contact(server, pages=3, limit=10)
    seen: list[Message] = []

    async def consume() -> None:
        async for message in client.messages.list(identifier, limit=10, retry=NO_RETRY):
            seen.append(message)
            if len(seen) == 10:
                server.faults.next(Fault.status(500), times=1)

    with pytest.raises(InternalServerError) as info:
        await consume()
    rest = await collect(client, identifier, limit=10, cursor_id=info.value.resume_cursor)
    assert server.dataset.messages(identifier) == wire(seen + rest)


async def test_breaking_early_leaves_no_request_or_response_open(server: FakeAelystServer) -> None:
    """After `break`, the server has nothing in flight and the session holds no connection."""
    identifier = multi_page_contact(server, pages=3, limit=10)
    async with aiohttp.ClientSession() as session:
        client = AelystClient(TOKEN, base_url=server.url, session=session, rate_limiter=None)
        async for _ in client.messages.list(identifier, limit=10):
            break
        gc.collect()
        assert 0 == server.stats.in_flight
        assert 1 == server.stats.requests
        assert session.connector is not None
        assert not session.connector._acquired  # no connection checked out


async def test_a_borrowed_session_is_left_open(server: FakeAelystServer) -> None:
    """Closing a client does not close a session it borrowed."""
    async with aiohttp.ClientSession() as session:
        async with AelystClient(TOKEN, base_url=server.url, session=session) as client:
            await collect(client, next(iter(server.dataset.identifiers())))
        assert not session.closed


def test_a_missing_token_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """No token passed and none in the environment: InvalidArgumentError at construction."""
    monkeypatch.delenv("AELYST_TOKEN", raising=False)
    with pytest.raises(InvalidArgumentError, match="AELYST_TOKEN"):
        AelystClient()


@pytest.mark.parametrize("limiter", ["redis://localhost", 40, object()])
def test_a_rate_limiter_without_a_limiters_methods_is_refused_at_once(limiter: object) -> None:
    """`rate_limiter=` must have `acquire()` and `observe()`: the error names the value."""
    with pytest.raises(
        InvalidArgumentError, match=r"rate_limiter must have .*" + repr(limiter)[:9]
    ):
        AelystClient(TOKEN, rate_limiter=limiter)  # type: ignore[arg-type]


async def test_the_default_limiter_is_the_clients_own_and_paces_every_request(
    server: FakeAelystServer,
) -> None:
    """Made on first use, the default limiter is one `TokenBucketLimiter` on the client's
    clock, the same object for every request and every look at `rate_limiter`."""
    clock = FakeClock()
    async with AelystClient(TOKEN, base_url=server.url, clock=clock) as client:
        limiter = client.rate_limiter
        assert isinstance(limiter, TokenBucketLimiter)
        await collect(client, next(iter(server.dataset.identifiers())))
        assert limiter is client.rate_limiter
        assert limiter.snapshot(client._limiter_key).learned
        assert limiter.clock is clock
    async with AelystClient(TOKEN, base_url=server.url, clock=clock) as unlooked:
        await collect(unlooked, next(iter(server.dataset.identifiers())))
        assert isinstance(unlooked.rate_limiter, TokenBucketLimiter)
        assert unlooked.rate_limiter.snapshot(unlooked._limiter_key).learned


async def test_token_and_base_url_fall_back_to_the_environment(
    server: FakeAelystServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$AELYST_TOKEN and $AELYST_BASE_URL are used when nothing is passed."""
    monkeypatch.setenv("AELYST_TOKEN", TOKEN)
    monkeypatch.setenv("AELYST_BASE_URL", server.url)
    async with AelystClient() as client:
        identifier = next(iter(server.dataset.identifiers()))
        assert server.dataset.messages(identifier) == wire(await collect(client, identifier))


async def test_the_token_is_never_shown(
    server: FakeAelystServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither the client's repr nor its attributes' reprs show the token."""
    caplog.set_level(logging.DEBUG)
    client = AelystClient(TOKEN, base_url=server.url)
    shown = repr(client) + repr(vars(client)) + repr(client.messages.list("id:1"))
    await client.aclose()
    assert TOKEN not in shown
    assert TOKEN not in caplog.text


# -- forgiving: event loops and unclosed clients -----------------------------------------------


def test_a_client_used_from_a_second_asyncio_run_says_what_to_do(
    threaded_server: FakeAelystServer,
) -> None:
    """A second `asyncio.run` with the same client raises an AelystError, not aiohttp's error."""
    client = AelystClient(TOKEN, base_url=threaded_server.url)
    asyncio.run(collect(client, "id:1", max_items=1))
    with pytest.raises(AelystError) as raised:
        asyncio.run(collect(client, "id:1", max_items=1))
    # The first loop is gone: its sockets can only be dropped, which Python reports.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        asyncio.run(client.aclose())
        gc.collect()
    assert (
        "this AelystClient was first used in another event loop (a second asyncio.run()?), and a"
        " client cannot move between loops: create it inside the coroutine that asyncio.run()"
        " runs, e.g. `async with AelystClient() as client:` in your main(), or make one client"
        " per asyncio.run()"
    ) == str(raised.value)


async def test_a_client_dropped_without_closing_warns_once_how_to_close_it(
    server: FakeAelystServer,
) -> None:
    """Dropping a used, unclosed client warns once, with the two ways to close it."""
    client = AelystClient(TOKEN, base_url=server.url)
    await collect(client, "id:1", max_items=1)
    transport = client._transport  # kept, to close the connections afterwards
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del client
        gc.collect()
    await transport.aclose()
    ours = [str(w.message) for w in caught if w.category is RuntimeWarning]
    assert [
        f"AelystClient(base_url={server.url!r}) was dropped without being closed, leaving its"
        " connections open: use `async with AelystClient() as client:`, or"
        " `await client.aclose()` when done with it"
    ] == ours


async def test_a_closed_or_unused_client_dropped_says_nothing(server: FakeAelystServer) -> None:
    """A client closed after use, or never used, is dropped without a warning."""
    used = AelystClient(TOKEN, base_url=server.url)
    await collect(used, "id:1", max_items=1)
    await used.aclose()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del used
        AelystClient(TOKEN, base_url=server.url)
        gc.collect()
    assert [] == [str(w.message) for w in caught]
