"""
The request side of the protocol: where requests go, and what a `next` link says.

Rules:

1. Nothing here awaits or touches a socket; every function is a plain function of its
   arguments, tested without a server.
2. Requests are only ever built on the client's own `base_url`. A `next` link is read for
   its `cursorId` and `limit` and nothing else: its scheme, host and path are ignored, so the
   token cannot follow a link to another host.
3. Logs and traces show URLs only through `redact_url`: no identifier, no cursor.
"""

from __future__ import annotations

from urllib.parse import quote, unquote_plus

import yarl

from ._checks import check_int
from ._exceptions import InvalidArgumentError
from ._identifiers import Identifier

__all__ = [
    "LIST_MESSAGES_PATH",
    "LIST_MESSAGES_ROUTE",
    "LIST_PREFIX",
    "LIST_SUFFIX",
    "MAX_LIMIT",
    "MAX_LINK_CHARS",
    "REDACTED_PART",
    "check_base_url",
    "check_limit",
    "cursor_from_link",
    "limit_from_link",
    "list_messages_url",
    "next_link_is_broken",
    "redact_url",
]

LIST_MESSAGES_PATH = "/contact/{identifier}/message/list"
"""The one route of the API, under the base URL (the reference page's template)."""
LIST_MESSAGES_ROUTE = f"GET {LIST_MESSAGES_PATH}"
"""The route as the rate limiter keys it."""
LIST_PREFIX, _, LIST_SUFFIX = LIST_MESSAGES_PATH.partition("{identifier}")


MAX_LIMIT = 50


def check_limit(limit: object, *, name: str = "limit") -> int | None:
    """
    Validate a page size: `None` (the server's default) or an integer from 1 to 50.

    Raises:
        InvalidArgumentError: Naming the value, when it is anything else.
    """
    return check_int(name, limit, low=1, high=MAX_LIMIT, optional=True)


def check_base_url(base_url: str | yarl.URL) -> yarl.URL:
    """
    Validate the API's base URL and drop a trailing slash.

    Raises:
        InvalidArgumentError: When it is not an absolute http(s) URL without query, fragment
            or credentials.
    """
    try:
        url = yarl.URL(base_url)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"base_url {base_url!r} is not a URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidArgumentError(f"base_url {str(base_url)!r} must be an absolute http(s) URL")
    if url.query_string or url.fragment or url.user or url.password:
        shown = str(url.with_user(None))
        raise InvalidArgumentError(
            f"base_url {shown!r} may not carry a query, a fragment or credentials"
        )
    return url.with_path(url.path.rstrip("/"))


def list_messages_url(
    base_url: yarl.URL, identifier: Identifier, *, limit: int | None, cursor: str | None
) -> str:
    """
    The URL of one page of a contact's messages, always on `base_url`, already encoded.
    """
    url = f"{str(base_url).rstrip('/')}{LIST_PREFIX}{identifier.path_segment}{LIST_SUFFIX}"
    query = []
    if limit is not None:
        query.append(f"limit={limit}")
    if cursor is not None:
        query.append(f"cursorId={quote(cursor, safe='')}")
    return f"{url}?{'&'.join(query)}" if query else url


REDACTED_PART = "REDACTED"


def redact_url(url: str | yarl.URL) -> str:
    """
    A URL as logs and traces may show it: the path segment after `contact` (the identifier)
    and every query value but `limit` (the cursor) become `REDACTED`; credentials and fragment
    are dropped. Any other URL keeps its path.

    Example:
        ```python
        redact_url("https://api.aelyst.ai/v1/contact/email:a%40b.c/message/list?cursorId=9")
        # 'https://api.aelyst.ai/v1/contact/REDACTED/message/list?cursorId=REDACTED'
        ```
    """
    parsed = url if isinstance(url, yarl.URL) else yarl.URL(url, encoded=True)
    segments = parsed.raw_path.split("/")
    for index in range(1, len(segments)):
        if segments[index - 1] == "contact":
            segments[index] = REDACTED_PART
    redacted = "/".join(segments)
    pairs = [part.partition("=") for part in parsed.raw_query_string.split("&") if part]
    query = "&".join(
        f"{name}={value if name == 'limit' else REDACTED_PART}" for name, _, value in pairs
    )
    origin = str(parsed.origin()) if parsed.is_absolute() else ""
    return f"{origin}{redacted}" + (f"?{query}" if query else "")


MAX_LINK_CHARS = 8192
"""The longest pagination link read: a longer one has no usable cursor."""


def _parse_link(link: str) -> tuple[str | None, int | None]:
    """
    The `cursorId` and `limit` of a link; the first of each, percent-decoded.

    Only the query is read: the reference page's links keep the literal text "{identifier}"
    and point at another host, and neither matters.
    """
    _, _, query = link.partition("?")
    query, _, _ = query.partition("#")
    cursor: str | None = None
    raw_limit: str | None = None
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name == "cursorId" and cursor is None:
            cursor = unquote_plus(value)
        elif name == "limit" and raw_limit is None:
            raw_limit = unquote_plus(value)
    limit = None
    if raw_limit is not None and raw_limit.isascii() and raw_limit.isdigit():
        number = int(raw_limit)
        limit = number if 1 <= number <= MAX_LIMIT else None
    return cursor, limit


def cursor_from_link(link: str | None) -> str | None:
    """
    Read the `cursorId` of a pagination link.

    Args:
        link: The link, absolute or relative, or `None`/empty for "no page".

    Returns:
        The cursor, or `None` when the link carries no usable one (no `cursorId`, an empty
        one, not a URL at all). A non-empty `next` link without a cursor is the paginator's
        to judge (`next_link_is_broken`): the page it came with is still delivered.
    """
    if not link or len(link) > MAX_LINK_CHARS:
        return None
    cursor, _ = _parse_link(link)
    return cursor or None


def next_link_is_broken(link: str | None, cursor: str | None) -> bool:
    """
    Whether a page's `next` link says "more pages" but carries no usable cursor.
    """
    return bool(link) and cursor is None


def limit_from_link(link: str | None) -> int | None:
    """
    Read the `limit` of a pagination link, or `None` when absent or out of range.
    """
    return _parse_link(link)[1] if link and len(link) <= MAX_LINK_CHARS else None
