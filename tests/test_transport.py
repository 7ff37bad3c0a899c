"""
`AelystClient(transport=...)`: a transport of your own carries every request, and the client
keeps its rules (token only to the base URL, retries, the body cap) around it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
import pytest

from aelyst_async import (
    AelystClient,
    APIConnectionError,
    InvalidArgumentError,
    Response,
    ResponseTooLargeError,
    Timeout,
    Transport,
)
from aelyst_async.testing import Dataset, FakeAelystServer, FakeClock

from .helpers import HttpxTransport, list_all

TOKEN = "transport-token-5d1c"
DATASET = Dataset(seed=5, contacts=6)

pytestmark = pytest.mark.aelyst_server(token=TOKEN, dataset=DATASET)


class Flaky(HttpxTransport):
    """
    The httpx transport, whose first `failures` requests get no response.
    """

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def get(
        self, url: str, headers: Mapping[str, str], *, timeout: Timeout, remaining: float | None
    ) -> Response:
        if self.failures:
            self.failures -= 1
            raise APIConnectionError(f"connection reset: GET {url}", url=url)
        return await super().get(url, headers, timeout=timeout, remaining=remaining)


class Oversized(HttpxTransport):
    """
    A transport that reads whole bodies, however long: here, every one is 4 KiB of spaces.
    """

    async def get(
        self, url: str, headers: Mapping[str, str], *, timeout: Timeout, remaining: float | None
    ) -> Response:
        self.sent.append((url, headers["Authorization"]))
        return Response(status=200, headers={}, body=b" " * 4096, url=url)


def client_on(server: FakeAelystServer, transport: Transport, **options: Any) -> AelystClient:
    """
    A client of `server` whose requests go through `transport`.
    """
    return AelystClient(
        TOKEN,
        base_url=server.url,
        transport=transport,
        clock=FakeClock(auto_advance=True),
        **options,
    )


async def test_a_transport_of_your_own_carries_every_request(server: FakeAelystServer) -> None:
    """Every page comes through the transport given, each request on the base URL with the token."""
    transport = HttpxTransport()
    identifier = max(DATASET.identifiers(), key=lambda i: len(DATASET.messages(i)))
    async with client_on(server, transport) as client:
        got = await list_all(client, identifier, limit=10)
        requests = client.stats.requests
    on_base_url = all(url.startswith(f"{server.url}/contact/") for url, _ in transport.sent)
    tokens = {token for _, token in transport.sent}
    expected = (DATASET.messages(identifier), True, {f"Bearer {TOKEN}"}, server.stats.requests)
    assert expected == (got, on_base_url, tokens, requests)


async def test_the_client_closes_the_transport_it_was_given(server: FakeAelystServer) -> None:
    """Leaving `async with` closes the transport, as httpx's client does, once."""
    transport = HttpxTransport()
    client = client_on(server, transport)
    async with client:
        await list_all(client, "id:1")
    await client.aclose()
    assert transport.client.is_closed


async def test_a_transport_s_connection_error_is_retried(server: FakeAelystServer) -> None:
    """`APIConnectionError` from a transport is retried as the policy says."""
    transport = Flaky(failures=1)
    async with client_on(server, transport) as client:
        got = await list_all(client, "id:2")
        counted = (client.stats.requests, client.stats.retries)
    assert (DATASET.messages("id:2"), (server.stats.requests + 1, 1)) == (got, counted)


async def test_a_body_over_the_cap_from_a_transport_is_refused(server: FakeAelystServer) -> None:
    """The client refuses a body over `max_response_bytes` whichever transport read it."""
    transport = Oversized()
    async with client_on(server, transport, max_response_bytes=1024) as client:
        with pytest.raises(ResponseTooLargeError) as info:
            await list_all(client, "id:1")
    assert (4096, 1024, 1) == (info.value.received, info.value.limit, len(transport.sent))


async def test_a_transport_and_a_session_together_are_refused() -> None:
    """`session=` configures the SDK's own transport: both at once is an error, at once."""
    transport = HttpxTransport()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(
            InvalidArgumentError, match="session= configures the SDK's own transport"
        ):
            AelystClient(TOKEN, transport=transport, session=session)
    await transport.aclose()


def test_something_that_is_not_a_transport_is_refused() -> None:
    """A `transport=` without `get` and `aclose` is refused, naming it."""
    with pytest.raises(InvalidArgumentError, match=r"transport must .* not 'httpx'"):
        AelystClient(TOKEN, transport="httpx")  # type: ignore[arg-type]
