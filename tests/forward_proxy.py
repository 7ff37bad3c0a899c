"""
A real HTTP forward proxy on 127.0.0.1 for the network tests: it relays what it is asked to
and records what it saw.

- A plain-HTTP request (`GET http://host:port/path HTTP/1.1`) is relayed to its host with
  `Connection: close`, one request per connection, so every request is recorded; its
  `Proxy-*` headers are the proxy's and are not passed on.
- `CONNECT host:port` opens a tunnel: the proxy sees the target and nothing inside (TLS).
- With `credentials`, a request without the matching `Proxy-Authorization` gets a 407.
"""

from __future__ import annotations

import asyncio
import base64
from types import TracebackType

import attrs
import yarl

__all__ = ["ForwardProxy", "Seen"]


@attrs.frozen(kw_only=True)
class Seen:
    """
    One request the proxy received.

    Attributes:
        method: `GET`, `CONNECT`, ...
        target: The request target: an absolute URL, or `host:port` for CONNECT.
        headers: Its headers, names lowercased.
    """

    method: str
    target: str
    headers: dict[str, str]

    @property
    def host(self) -> str:
        """The host:port the request was for."""
        if self.method == "CONNECT":
            return self.target
        url = yarl.URL(self.target)
        return f"{url.host}:{url.port}"


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


class ForwardProxy:
    """
    The proxy; `async with ForwardProxy() as proxy:` serves on `proxy.url`.

    Args:
        credentials: `(user, password)` the proxy requires, or `None`.
    """

    def __init__(self, *, credentials: tuple[str, str] | None = None) -> None:
        self.seen: list[Seen] = []
        self.url = ""
        self._expected = None
        if credentials is not None:
            pair = ":".join(credentials).encode()
            self._expected = f"Basic {base64.b64encode(pair).decode()}"
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> ForwardProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._handle(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ", 2)
        headers = {}
        for line in header_lines:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        self.seen.append(Seen(method=method, target=target, headers=headers))
        if self._expected is not None and headers.get("proxy-authorization") != self._expected:
            writer.write(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n'
                b"Connection: close\r\n\r\n"
            )
            await writer.drain()
            writer.close()
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
        else:
            url = yarl.URL(target)
            assert url.host is not None
            assert url.port is not None
            upstream_reader, upstream_writer = await asyncio.open_connection(url.host, url.port)
            passed_on = "".join(
                f"{line}\r\n"
                for line in header_lines
                if line and not line.lower().startswith(("proxy-", "connection:", "keep-alive:"))
            )
            relayed = f"{method} {url.raw_path_qs} {version}\r\n{passed_on}Connection: close\r\n"
            upstream_writer.write(f"{relayed}\r\n".encode("latin-1"))
            await upstream_writer.drain()
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
