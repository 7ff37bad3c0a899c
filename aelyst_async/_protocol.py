"""
The response side of the protocol: headers read, statuses classified, no I/O.

Rules:

1. Nothing here awaits, sleeps or touches a socket; every function is a plain function of its
   arguments, tested without a server.
2. Header parsing never raises: a header that cannot be read is treated as absent.
3. A `Retry-After` HTTP date is measured against the response's own `Date` header when it
   has a readable one, so a server whose clock is hours off still gets the few seconds it
   meant; the client's wall clock is used only when the response has no `Date`.
4. Error texts are built from bounded excerpts: an error body is parsed for its `code` and
   `message` only when it is small enough to be the API's (`_ERROR_BODY_BYTES`).

Where requests go, and what links say, is `_routes.py`.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import unquote

import orjson
import yarl

from ._checks import is_int
from ._exceptions import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    body_excerpt,
)
from ._models import RateLimit
from ._routes import LIST_SUFFIX

if TYPE_CHECKING:
    from ._http import Response

__all__ = [
    "error_for_response",
    "parse_rate_limit",
    "parse_reset",
    "parse_retry_after",
    "utc_datetime",
]


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return number


def _http_date(value: str | None) -> float | None:
    """
    An HTTP date as Unix seconds, or `None` when absent or unreadable.
    """
    if value is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    try:
        return when.timestamp()
    except (OverflowError, ValueError, OSError):
        return None


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """
    Read a `Retry-After` header as seconds from now.

    Args:
        value: The header: seconds (integer or decimal) or an HTTP date.
        now: The time the date form is measured from, in Unix seconds: the response's
            `Date` when it has one (module rule 4), else the current wall-clock time.

    Returns:
        Seconds to wait (0 for a date in the past), or `None` when absent or unreadable.
    """
    seconds = _number(value)
    if seconds is not None or value is None:
        return seconds
    when = _http_date(value)
    return None if when is None else max(0.0, when - now)


_EPOCH_SECONDS = 1_000_000_000.0
"""An `X-RateLimit-Reset` at least this large is a Unix timestamp (September 2001 onward),
never a count of seconds: no quota window lasts 31 years."""

_EPOCH_MILLISECONDS = 1_000_000_000_000.0
"""At least this large, a Unix timestamp in milliseconds (as a few APIs send it)."""

MAX_RESET = 86_400.0
"""The longest quota window believed, in seconds (a daily quota); a `Reset` further away is
treated as absent, so a server's error cannot stall a key for years."""


def parse_reset(value: str | None, *, now: float) -> float | None:
    """
    Read an `X-RateLimit-Reset` header as seconds from now until the quota window resets.

    Both forms in use are read: seconds until the reset (`30`, as the IETF draft sends it)
    and the Unix time of the reset (`1767225600`, as GitHub sends it; in milliseconds from
    `1e12` on). A value of `1e9` or more is a timestamp: no window lasts 31 years.

    Args:
        value: The header.
        now: The current wall-clock time, in Unix seconds, for the timestamp form.

    Returns:
        Seconds until the reset (0 for a time in the past), or `None` when absent,
        unreadable, or more than a day away.
    """
    number = _number(value)
    if number is None:
        return None
    if number >= _EPOCH_MILLISECONDS:
        number = number / 1000.0 - now
    elif number >= _EPOCH_SECONDS:
        number -= now
    seconds = max(0.0, number)
    return seconds if seconds <= MAX_RESET else None


def _integer(value: str | None) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


_NO_RATE_LIMIT = RateLimit()


def parse_rate_limit(headers: Mapping[str, str], *, now: float) -> RateLimit:
    """
    Read the rate-limit headers of a response.

    Args:
        headers: Response headers (case-insensitive mapping, as aiohttp gives them).
        now: The current wall-clock time, in Unix seconds; an HTTP-date `Retry-After` is
            measured against the response's `Date` instead, when it has one (module rule 4).
    """
    limit = headers.get("X-RateLimit-Limit")
    remaining = headers.get("X-RateLimit-Remaining")
    retry_after = headers.get("Retry-After")
    reset = headers.get("X-RateLimit-Reset")
    if limit is None and remaining is None and retry_after is None and reset is None:
        return _NO_RATE_LIMIT  # frozen, so one instance serves every such response
    if retry_after is not None and _number(retry_after) is None:
        sent_at = _http_date(headers.get("Date"))
        if sent_at is not None:
            now = sent_at
    return RateLimit(
        limit=_integer(limit),
        remaining=_integer(remaining),
        retry_after=parse_retry_after(retry_after, now=now),
        reset=parse_reset(reset, now=now),
    )


_ERROR_BY_STATUS: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


_ERROR_BODY_BYTES = 64 * 1024
"""The largest error body read for its `code` and `message`: the API's are a few dozen bytes,
and a larger one (a proxy's page, a hostile server's) is only kept as an excerpt."""


def _error_fields(body: bytes) -> tuple[int | str | None, str | None]:
    """
    Read `code` and `message` from an error body, defensively: either may be of any type,
    and the body may not be JSON at all.
    """
    if len(body) > _ERROR_BODY_BYTES:
        return None, None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    code = data.get("code")
    if not (is_int(code) or isinstance(code, str)):
        code = None
    if isinstance(code, str):
        code = body_excerpt(code, _CODE_CHARS)
    message = data.get("message")
    if message is not None and not isinstance(message, str):
        message = orjson.dumps(message).decode()
    return code, None if message is None else body_excerpt(message)


_CODE_CHARS = 100
_SHOWN_MESSAGE_CHARS = 500
"""The characters of the server's `message` that an error's text quotes (all of it, up to
`BODY_EXCERPT_CHARS`, stays on `api_message`)."""

_VERSION_SEGMENT = re.compile(r"v[0-9]+")


def _not_found_detail(url: str, *, from_api: bool) -> str:
    """
    What a 404 on `url` means: the contact it names, and, when the answer is not the API's
    own error body, a hint if the base URL lacks the API's version prefix (`/v1`).
    """
    path = yarl.URL(url, encoded=True).raw_path if url else ""
    base, found, rest = path.rpartition("/contact/")
    if not found or not rest.endswith(LIST_SUFFIX):
        return ""
    segment = rest[: -len(LIST_SUFFIX)]
    detail = f" (contact {body_excerpt(unquote(segment), _CODE_CHARS)!r})"
    last = base.rstrip("/").rpartition("/")[2]
    if not from_api and not _VERSION_SEGMENT.fullmatch(last):
        origin = str(yarl.URL(url, encoded=True).origin())
        detail += (
            f"; the base URL {origin + base!r} has no API version prefix: "
            f"did you mean {origin + base.rstrip('/') + '/v1'!r}?"
        )
    return detail


def error_for_response(response: Response, rate_limit: RateLimit) -> APIStatusError | None:
    """
    Classify a response: `None` for a 2xx, else the typed error to raise.

    Args:
        response: The response.
        rate_limit: What its rate-limit headers said.
    """
    status = response.status
    if 200 <= status < 300:
        return None
    code, api_message = _error_fields(response.body)
    cls = _ERROR_BY_STATUS.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIStatusError
    text = f"HTTP {status}"
    if api_message:
        text += f": {body_excerpt(api_message, _SHOWN_MESSAGE_CHARS)}"
    if code is not None and code != status:
        text += f" (code {code})"
    if status == 404:
        text += _not_found_detail(response.url, from_api=api_message is not None)
    if cls is RateLimitError and rate_limit.retry_after is not None:
        text += f"; retry after {rate_limit.retry_after:g}s"
    return cls(
        text,
        status=status,
        code=code,
        api_message=api_message,
        headers=response.headers,
        body=response.body,
        rate_limit=rate_limit,
        url=response.url,
        response=response.info,
    )


def utc_datetime(seconds: float) -> datetime.datetime:
    """
    An aware UTC datetime from seconds since the epoch.
    """
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
