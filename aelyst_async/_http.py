"""
What the client asks of the network: the `Transport` protocol and the `Response` it returns.

Rule: this module imports no HTTP library. The SDK's own transport (`_transport.py`, the one
module that imports aiohttp) and a transport of the user's implement the same protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

import attrs

if TYPE_CHECKING:
    from ._config import Timeout
    from ._response import ResponseInfo

__all__ = ["Response", "Transport"]


@attrs.frozen(kw_only=True)
class Response:
    """
    A complete HTTP response, body read, connection released: what a `Transport` returns.

    Attributes:
        status: The HTTP status.
        headers: The response headers, looked up without regard to case (aiohttp's and httpx's
            headers are such mappings).
        body: The whole body, decompressed.
        url: The URL requested.
        info: What pages and errors made of it carry; the client sets it (a transport leaves
            it `None`).
    """

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str = ""
    info: ResponseInfo | None = None


class Transport(Protocol):
    """
    What the client needs of the network: pass one as `AelystClient(transport=...)`.

    The default is the SDK's own aiohttp transport. Write one to send the requests through
    another HTTP library, a test double, or a network the SDK cannot reach by itself, as
    httpx's `transport=` allows. The client keeps its rules around it: it builds every URL on
    its base URL, paces, retries, decodes, and refuses a body over `max_response_bytes`.

    Contract:

    1. `get` sends one GET to `url` exactly as given (it is already encoded), with `headers`
       (the token among them: send them to that URL alone, and follow no redirect), and
       returns once the whole body is read and the connection released.
    2. A request that gets no complete response raises `APIConnectionError` (or
       `APITimeoutError` when it ran out of time), with a message that names the URL and
       never a request header; those are retried as the `RetryPolicy` says. Any status is
       a `Response`, not an exception.
    3. `aclose` releases what the transport holds; the client calls it when it is closed.

    Example:
        ```python
        class HttpxTransport:
            def __init__(self) -> None:
                self.client = httpx.AsyncClient()

            async def get(self, url, headers, *, timeout, remaining):
                answer = await self.client.get(url, headers=dict(headers))
                return Response(status=answer.status_code, headers=answer.headers,
                                body=answer.content, url=url)

            async def aclose(self) -> None:
                await self.client.aclose()
        ```
    """

    async def get(
        self,
        url: str,
        headers: Mapping[str, str],
        *,
        timeout: Timeout,
        remaining: float | None,
    ) -> Response:
        """
        Send one GET and return the whole response (the contract's rules 1 and 2).

        Args:
            url: The URL, already encoded, on the client's base URL.
            headers: The request headers, the token's among them.
            timeout: The connect and read timeouts of this attempt.
            remaining: Seconds left of the whole call, retries included, or `None`.
        """
        ...

    async def aclose(self) -> None:
        """
        Release the connections; called once, when the client is closed.
        """
        ...
