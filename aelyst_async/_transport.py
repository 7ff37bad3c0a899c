"""
The transport: the only module of the SDK that imports aiohttp.

Rules:

1. A request is sent, its body read in full and the connection released before `get`
   returns: no response object ever outlives the call, so breaking out of a loop or
   cancelling a task leaves nothing open.
2. Redirects are not followed: the token goes to the configured base URL and nowhere else.
3. Every transport fault becomes `APIConnectionError` or `APITimeoutError`; their messages
   carry the URL (which holds no secret) and say in words what went wrong with which
   `host:port` ("connection refused"), never a request header, and no aiohttp error that
   holds the request's headers is chained to them.
4. A body is never longer in memory than `max_bytes` (plus one read chunk): a
   `Content-Length` above it is refused before reading, and the body is read chunk by chunk,
   counted after decompression, and dropped with the connection as soon as it passes the
   cap (`ResponseTooLargeError`). aiohttp inflates a compressed body in bounded steps
   (since 3.13.3), so a small gzip body that inflates to gigabytes stops at the cap too.
5. A proxy's credentials travel in a `Proxy-Authorization` header to the proxy alone; the
   session the transport creates does not read the environment (the client has resolved the
   proxy already, once) nor `~/.netrc` (the token is the only credential sent to the API).
"""

from __future__ import annotations

import asyncio
import base64
import os
import ssl as _ssl
from collections.abc import Mapping

import aiohttp
import yarl

from ._checks import check_instance
from ._config import Timeout
from ._exceptions import (
    APIConnectionError,
    APITimeoutError,
    ResponseTooLargeError,
)
from ._http import Response

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "AiohttpTransport"]

DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""The default cap on a response body: a page of 50 messages is a few tens of KiB."""

_READ_CHUNK = 64 * 1024


def _host_port(url: yarl.URL) -> str:
    host = url.host or "?"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{host}:{url.port}"


def _reason(exc: aiohttp.ClientError) -> str:
    """
    What went wrong, in words ("connection refused"), never aiohttp's class name alone.
    """
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without answering"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        # Its os_error's errno (1) would read "operation not permitted".
        why = getattr(exc.certificate_error, "verify_message", "") or "not trusted"
        return f"its TLS certificate was refused ({why}); ssl= takes a context that trusts it"
    if isinstance(exc, aiohttp.ClientConnectorSSLError):
        return "the TLS handshake failed"
    if isinstance(exc, aiohttp.ClientConnectorError):
        code, words = exc.os_error.errno, exc.os_error.strerror
        if code is not None and code > 0:
            return os.strerror(code).lower()
        if words:  # a resolver error: "name or service not known"
            return f"cannot resolve the host ({words.lower()})"
        return "cannot reach the host"
    if isinstance(exc, aiohttp.ClientOSError) and exc.errno:
        return os.strerror(exc.errno).lower()
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int | None) -> bytes:
    """
    The whole body, or `ResponseTooLargeError` once it passes `max_bytes` (module rule 4).
    """
    url = str(response.url)
    declared = response.content_length
    if max_bytes is None:
        return await response.read()
    if declared is not None and declared > max_bytes:
        raise ResponseTooLargeError(
            f"the response body is {declared} bytes (Content-Length), over the "
            f"{max_bytes}-byte cap (max_response_bytes): GET {url}",
            status=response.status,
            limit=max_bytes,
            received=0,
            content_length=declared,
            url=url,
        )
    if declared is not None and response.headers.get("Content-Encoding", "identity") == "identity":
        return await response.read()  # exactly `declared` bytes, within the cap
    body = bytearray()
    async for chunk in response.content.iter_chunked(_READ_CHUNK):
        body += chunk
        if len(body) > max_bytes:
            raise ResponseTooLargeError(
                f"the response body passed the {max_bytes}-byte cap (max_response_bytes) "
                f"after {len(body)} bytes (decompressed): GET {url}",
                status=response.status,
                limit=max_bytes,
                received=len(body),
                content_length=declared,
                url=url,
            )
    return bytes(body)


def _client_timeout(timeout: Timeout, remaining: float | None) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(
        total=remaining, sock_connect=timeout.connect, sock_read=timeout.read
    )


class AiohttpTransport:
    """
    Sends GET requests through one `aiohttp.ClientSession`.

    Args:
        session: A session to borrow (it is never closed here), or `None` to create and own one.
        max_response_bytes: The cap on a response body (module rule 4); `None`: no cap.
        proxy: The proxy every request goes through (its credentials included), or `None`.
        ssl: `True` to verify certificates as the session does, `False` not to, or a context.

    Raises:
        InvalidArgumentError: When `session` is not an `aiohttp.ClientSession`.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
        proxy: yarl.URL | None = None,
        ssl: _ssl.SSLContext | bool = True,
    ) -> None:
        self._session = check_instance(
            "session", session, aiohttp.ClientSession, optional=True, kind="aiohttp.ClientSession"
        )
        self._owns_session = session is None
        self._max_bytes = max_response_bytes
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
            ResponseTooLargeError: When the body is longer than the cap (module rule 4).
        """
        session = self._get_session()
        target = yarl.URL(url, encoded=True)
        host = _host_port(target)
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
                target,
                headers=headers,
                allow_redirects=False,
                timeout=_client_timeout(timeout, remaining),
                proxy=self._proxy,
                proxy_headers=proxy_headers,
                ssl=self._ssl,
            ) as response:
                try:
                    body = await _read_capped(response, self._max_bytes)
                except ResponseTooLargeError:
                    response.close()  # the rest is never read: drop the connection
                    raise
                return Response(
                    status=response.status, headers=response.headers, body=body, url=url
                )
        except asyncio.TimeoutError as exc:  # aiohttp's timeouts subclass it
            connecting = isinstance(exc, aiohttp.ConnectionTimeoutError)
            what = "connecting to" if connecting else "waiting for"
            raise APITimeoutError(
                f"timed out {what} {host}: GET {url}", url=url, host=host, unreachable=connecting
            ) from exc
        except aiohttp.ClientPayloadError as exc:
            raise APIConnectionError(
                f"the response body from {host} was cut off: GET {url}", url=url, host=host
            ) from exc
        except aiohttp.ClientResponseError as exc:
            # Its request_info holds the request headers, token included: do not chain it.
            raise APIConnectionError(
                f"invalid response from {host} ({_reason(exc)}): GET {url}", url=url, host=host
            ) from None
        except aiohttp.ClientError as exc:
            unreachable = isinstance(exc, aiohttp.ClientConnectorError)
            what = f"cannot connect to {host}" if unreachable else f"connection to {host} failed"
            raise APIConnectionError(
                f"{what}: {_reason(exc)}: GET {url}", url=url, host=host, unreachable=unreachable
            ) from exc

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
