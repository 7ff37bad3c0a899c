"""
`ResponseInfo`: what the SDK saw of the response behind a page or an error.

Rules:

1. Headers are kept as the server sent them (every value, case-insensitive lookup), except
   that the value of any header whose name looks secret (`Authorization`, `Set-Cookie`, or a
   name holding `token`, `secret`, `key`, `session`, `password`, `signature`, `credential`
   or `auth`) is replaced by `[redacted]`.
2. The request id is read from the first of `REQUEST_ID_HEADERS` that is present, and only
   when it is short printable ASCII: it is server input that ends up in log lines.
3. Times come from the client's `Clock`: `received_at` from `wall()`, `elapsed` from
   `monotonic()`, so tests with a `FakeClock` see exact values.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections.abc import Mapping
from typing import Final

import attrs
from multidict import CIMultiDict, CIMultiDictProxy

__all__ = ["REDACTED", "REQUEST_ID_HEADERS", "ResponseInfo", "redact_headers", "request_id_of"]

REDACTED: Final = "[redacted]"
REQUEST_ID_HEADERS: Final = (
    "X-Request-Id",
    "Request-Id",
    "X-Correlation-Id",
    "X-Amzn-RequestId",
    "X-Amz-Request-Id",
)
_MAX_REQUEST_ID = 128

_SECRET_NAME = re.compile(
    r"auth|cookie|token|secret|key|session|password|passwd|signature|credential", re.IGNORECASE
)
_PRINTABLE = re.compile(r"[\x21-\x7e]+")


@functools.lru_cache(maxsize=256)
def _is_secret(name: str) -> bool:
    # Cached: a server sends the same few header names on every response.
    return _SECRET_NAME.search(name) is not None


def redact_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    """
    `headers`, read-only and case-insensitive, secret-looking values redacted: a copy when
    one is, else `headers` itself when it is already a read-only case-insensitive view (as
    aiohttp's response headers are).
    """
    if isinstance(headers, CIMultiDictProxy) and not any(map(_is_secret, headers.keys())):
        return headers  # the common case: nothing to redact, nothing to copy
    copy: CIMultiDict[str] = CIMultiDict(
        [(name, REDACTED if _is_secret(name) else value) for name, value in headers.items()]
    )
    return CIMultiDictProxy(copy)


def request_id_of(headers: Mapping[str, str]) -> str | None:
    """
    The server's id of the request, when a known header carries a readable one.
    """
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value is not None:
            value = value.strip()
            if len(value) <= _MAX_REQUEST_ID and _PRINTABLE.fullmatch(value):
                return value
            return None
    return None


@attrs.frozen(kw_only=True)
class ResponseInfo:
    """
    The HTTP response a page (`page.response`) or an error (`error.response`) came from.

    Attributes:
        status: The HTTP status.
        headers: The response headers, case-insensitive; secret-looking values are
            `[redacted]`.
        attempts: The attempts the call had made when this response arrived (1: no retry).
        elapsed_seconds: `elapsed`, in seconds.
        received_timestamp: `received_at`, in Unix seconds.

    Example:
        ```python
        async for page in client.messages.list("id:123").pages():
            print(page.response.status, page.response.request_id, page.response.attempts)
        ```
    """

    # The times are kept as the floats the clock gave and read as timedelta and datetime on
    # demand: building those two for every page cost more than the rest of this object.
    status: int
    headers: Mapping[str, str] = attrs.field(eq=False)
    attempts: int
    elapsed_seconds: float
    received_timestamp: float

    @property
    def request_id(self) -> str | None:
        """
        The server's id of the request (`X-Request-Id` or a similar header), to quote to
        support; `None` when the server sent none (or an unreadable one).
        """
        return request_id_of(self.headers)

    @property
    def elapsed(self) -> _dt.timedelta:
        """
        From the start of the call (its first rate-limiter wait) to this response, retries,
        backoffs and waits included.
        """
        return _dt.timedelta(seconds=self.elapsed_seconds)

    @property
    def received_at(self) -> _dt.datetime:
        """
        When the response arrived, on the client's clock (aware UTC).
        """
        return _dt.datetime.fromtimestamp(self.received_timestamp, tz=_dt.timezone.utc)

    def __repr__(self) -> str:
        # Headers left out: a repr is read in tracebacks and logs, not searched.
        return (
            f"ResponseInfo(status={self.status}, request_id={self.request_id!r}, "
            f"attempts={self.attempts}, elapsed={self.elapsed_seconds:.3f}s)"
        )
