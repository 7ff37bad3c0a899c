"""
The transport: the only module of the SDK that imports aiohttp.

Rules:

1. A request is sent, its body read in full and the connection released before `send`
   returns: no response object ever outlives the call, so breaking out of a loop or
   cancelling a task leaves nothing open.
2. Redirects are not followed: the token goes to the configured base URL and nowhere else.
3. A proxy's credentials travel in a `Proxy-Authorization` header to the proxy alone; the
   session the transport creates does not read the environment (the client has resolved the
   proxy already, once) nor `~/.netrc` (the token is the only credential sent to the API).
4. Every transport fault becomes `APIConnectionError` or `APITimeoutError`; their messages
   carry the URL (which holds no secret), never a request header, and no aiohttp error that
   holds the request's headers is chained to them.
"""

from __future__ import annotations

import asyncio
import base64
import ssl as _ssl
from collections.abc import Mapping

import aiohttp
import yarl

from ._config import Timeout
from ._exceptions import APIConnectionError, APITimeoutError
from ._protocol import Response

__all__ = ["AiohttpTransport"]


def _client_timeout(timeout: Timeout, remaining: float | None) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(
        total=remaining, sock_connect=timeout.connect, sock_read=timeout.read
    )


class AiohttpTransport:
    """
    Sends GET requests through one `aiohttp.ClientSession`.

    Args:
        session: A session to borrow (it is never closed here), or `None` to create and own one.
        proxy: The proxy every request goes through (its credentials included), or `None`.
        ssl: `True` to verify certificates as the session does, `False` not to, or a context.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        proxy: yarl.URL | None = None,
        ssl: _ssl.SSLContext | bool = True,
    ) -> None:
        self._session = session
        self._owns_session = session is None
        self._ssl = ssl
        self._proxy = None if proxy is None else proxy.with_user(None)
        self._proxy_authorization: dict[str, str] = {}
        if proxy is not None and proxy.user is not None:
            pair = f"{proxy.user}:{proxy.password or ''}".encode()
            self._proxy_authorization["Proxy-Authorization"] = (
                f"Basic {base64.b64encode(pair).decode('ascii')}"
            )

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or (self._owns_session and self._session.closed):
            # Created lazily: aiohttp wants a running loop.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
                auto_decompress=True,
                trust_env=False,
            )
        return self._session

    async def get(
        self,
        url: str,
        headers: Mapping[str, str],
        *,
        timeout: Timeout,
        remaining: float | None,
    ) -> Response:
        """
        Send one GET and return the whole response.

        Args:
            url: The URL, already encoded (it is sent exactly as it is).
            headers: Request headers (the token among them).
            timeout: Connect and read timeouts of this attempt.
            remaining: Seconds left of the whole call, or `None`.

        Raises:
            APITimeoutError: When the attempt ran out of time.
            APIConnectionError: When no complete response arrived.
        """
        session = self._get_session()
        proxy_headers = None
        if self._proxy_authorization:
            # To the proxy alone: in the CONNECT of a tunnel for https, else in the request the
            # proxy relays (and strips, as proxies do), as aiohttp itself sends it.
            if url.startswith("https:"):
                proxy_headers = self._proxy_authorization
            else:
                headers = {**headers, **self._proxy_authorization}
        try:
            async with session.get(
                yarl.URL(url, encoded=True),
                headers=headers,
                allow_redirects=False,
                timeout=_client_timeout(timeout, remaining),
                proxy=self._proxy,
                proxy_headers=proxy_headers,
                ssl=self._ssl,
            ) as response:
                body = await response.read()
                return Response(
                    status=response.status, headers=response.headers, body=body, url=url
                )
        except asyncio.TimeoutError as exc:  # aiohttp's timeouts subclass it
            raise APITimeoutError(f"timed out: GET {url}", url=url) from exc
        except aiohttp.ClientPayloadError as exc:
            raise APIConnectionError(f"the response body was cut off: GET {url}", url=url) from exc
        except aiohttp.ClientResponseError as exc:
            # Its request_info holds the request headers, token included: do not chain it.
            reason = type(exc).__name__
            raise APIConnectionError(f"invalid response ({reason}): GET {url}", url=url) from None
        except aiohttp.ClientError as exc:
            reason = type(exc).__name__
            raise APIConnectionError(f"connection failed ({reason}): GET {url}", url=url) from exc

    @property
    def owns_open_session(self) -> bool:
        """
        Whether this transport created a session that is still open (`aclose` would close it).
        """
        return self._owns_session and self._session is not None and not self._session.closed

    async def aclose(self) -> None:
        """
        Close the session if this transport created it.
        """
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
