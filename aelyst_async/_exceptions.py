"""
Every error the SDK raises, under one root.

```
AelystError
├── InvalidArgumentError (also ValueError)   bad input, raised before any request
├── APIError                                 anything that went wrong talking to the API
│   ├── APIConnectionError                   no usable response: refused, reset, truncated
│   │   └── APITimeoutError (also TimeoutError)
│   ├── APIResponseDecodeError               a 2xx whose body is not the documented shape
│   ├── ResponseTooLargeError                a body over `max_response_bytes`
│   └── APIStatusError                       a non-2xx answer
│       ├── BadRequestError                  400
│       ├── AuthenticationError              401
│       ├── PermissionDeniedError            403
│       ├── NotFoundError                    404
│       ├── RateLimitError                   429, with retry_after
│       └── InternalServerError              5xx
├── PaginationError                          a `next` link the SDK refuses to follow
└── ExportError                              an export cannot start or resume safely
```

Rules this module keeps:

1. No exception ever holds the API token: not in its message, its attributes or its repr.
   Only response headers are kept, never request headers.
2. Bodies are kept as an excerpt of at most `BODY_EXCERPT_CHARS` characters, cut from the
   first bytes of the body: a body is never decoded whole to make one.
3. `str(error)` is at most `MESSAGE_CHARS` characters, whatever the server wrote in its
   `message` or body; the longer (still bounded) excerpts stay on `body` and `api_message`.
4. `resume_cursor` and `identifier` are filled in by the paginator when an error ends an
   iteration, so that the caller can resume exactly where it stopped. `resume_cursor` is
   `NO_SAFE_CURSOR` when every cursor the iteration knows would repeat a page already
   delivered; `None` means "from the start", never "no safe cursor".
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, final

if TYPE_CHECKING:
    from ._models import Page, RateLimit
    from ._response import ResponseInfo

__all__ = [
    "NO_SAFE_CURSOR",
    "APIConnectionError",
    "APIError",
    "APIResponseDecodeError",
    "APIStatusError",
    "APITimeoutError",
    "AelystError",
    "AuthenticationError",
    "BadRequestError",
    "ExportError",
    "InternalServerError",
    "InvalidArgumentError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
]

BODY_EXCERPT_CHARS = 4096
"""The most characters of a body (or of the `message` in it) an error keeps (rule 2)."""

MESSAGE_CHARS = 1024
"""The most characters `str(error)` has (rule 3)."""

_SHOWN_BODY_CHARS = 200
"""The characters of the body excerpt quoted in a decode error's message."""


def body_excerpt(body: bytes | str | None, limit: int = BODY_EXCERPT_CHARS) -> str:
    """
    Return at most `limit` characters of a response body, decoded leniently.

    Only the first `4 * limit` bytes are decoded (no UTF-8 character is longer), so the
    cost does not grow with the body.
    """
    if body is None:
        return ""
    if isinstance(body, (bytes, bytearray, memoryview)):
        text = bytes(body[: 4 * limit + 1]).decode("utf-8", "replace")
    else:
        text = body[: limit + 1]
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


@final
class NoSafeCursor:
    """
    The type of `NO_SAFE_CURSOR`; it has that one instance.
    """

    _instance: NoSafeCursor | None = None

    def __new__(cls) -> NoSafeCursor:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_SAFE_CURSOR"

    def __reduce__(self) -> str:
        return "NO_SAFE_CURSOR"


NO_SAFE_CURSOR: Final = NoSafeCursor()
"""
The `resume_cursor` of an iteration that cannot be resumed without repeating a page already
delivered (a `next` link without a usable cursor, or one that repeats): there is no cursor
to resume from, and starting over (`None`) would deliver every message again. Passed as
`cursor_id` or in `cursors=`, it is refused with `InvalidArgumentError`.
"""

ResumeCursor = str | NoSafeCursor | None
"""Where an ended iteration resumes: a cursor, `None` (from the start) or `NO_SAFE_CURSOR`."""


class AelystError(Exception):
    """
    The root of every error this SDK raises.

    Attributes:
        identifier: The contact identifier being listed when the error ended an iteration.
        resume_cursor: The cursor to pass as `cursor_id` to resume that iteration, `None`
            when the iteration had not passed its first page, or `NO_SAFE_CURSOR` when no
            cursor resumes it without repeating a page already delivered.
    """

    identifier: str | None = None
    resume_cursor: ResumeCursor = None

    def __init__(self, message: str) -> None:
        if len(message) > MESSAGE_CHARS:
            message = message[: MESSAGE_CHARS - 1] + "…"
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class InvalidArgumentError(AelystError, ValueError):
    """
    An argument or option is invalid; raised before any request is sent.
    """


class PaginationError(AelystError):
    """
    The server's pagination cannot be followed safely: a `next` link without a usable
    cursor, a cursor already visited, or too long a run of empty pages.

    Attributes:
        cursor: The offending cursor, when there is one.
        link: The offending `next` link as the server sent it (at most
            `BODY_EXCERPT_CHARS` characters), when there is one.
        page: The page that came with the offending link, when there is one. It has been
            delivered already (yielded by the pager, or inside `list_many`'s
            `FailureResult`), except by `list_many(fail_fast=True)`, which raises this error
            instead: then this is where its messages are.
    """

    def __init__(
        self,
        message: str,
        *,
        cursor: str | None = None,
        link: str | None = None,
        page: Page | None = None,
    ) -> None:
        super().__init__(message)
        self.cursor = cursor
        self.link = None if link is None else body_excerpt(link)
        self.page = page


class ExportError(AelystError):
    """
    An export cannot start or resume: a checkpoint in the way, a checkpoint that does not
    match its output or its input, an output locked by another export.
    """


class APIError(AelystError):
    """
    Something went wrong while talking to the API.

    Attributes:
        url: The URL of the request (it never carries the token).
        response: The response the error came from (status, redacted headers, request id,
            attempts, timing), or `None` when no response arrived.
    """

    def __init__(
        self, message: str, *, url: str | None = None, response: ResponseInfo | None = None
    ) -> None:
        super().__init__(message)
        self.url = url
        self.response = response


class APIConnectionError(APIError):
    """
    No usable response arrived: the connection was refused, reset, or cut mid-body.

    Attributes:
        host: `host:port` of the server, when known.
        unreachable: Whether no connection could be opened at all (refused, unresolvable,
            unroutable, or no answer to the connection attempt within `Timeout.connect`), as
            opposed to one that opened and then failed or was slow to answer.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        host: str | None = None,
        unreachable: bool = False,
    ) -> None:
        super().__init__(message, url=url)
        self.host = host
        self.unreachable = unreachable


class APITimeoutError(APIConnectionError, TimeoutError):
    """
    The request, or the whole call with its retries, ran out of time.
    """


class APIResponseDecodeError(APIError):
    """
    A successful response whose body is not JSON, or lacks what the API documents.

    Attributes:
        status: The HTTP status of the response.
        body: An excerpt of the body (at most `BODY_EXCERPT_CHARS` characters); the message
            quotes its first 200.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: bytes | str | None,
        url: str | None = None,
        response: ResponseInfo | None = None,
    ) -> None:
        self.status = status
        self.body = body_excerpt(body)
        shown = body_excerpt(self.body, _SHOWN_BODY_CHARS)
        super().__init__(f"{message} (HTTP {status}, body: {shown!r})", url=url, response=response)


class ResponseTooLargeError(APIError):
    """
    A response body longer than the client's `max_response_bytes`: refused from its
    `Content-Length`, or stopped while reading once the cap was passed (the decompressed
    size counts). Not retried: the same request would get the same body.

    Attributes:
        status: The HTTP status of the response.
        limit: The cap, in bytes.
        received: The bytes read before stopping (0 when refused from `Content-Length`).
        content_length: The `Content-Length` the server announced, or `None`.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        limit: int,
        received: int,
        content_length: int | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.limit = limit
        self.received = received
        self.content_length = content_length


class APIStatusError(APIError):
    """
    The API answered with a non-success status.

    Attributes:
        status: The HTTP status.
        code: The `code` of the error body, when the body had one.
        api_message: The `message` of the error body, when it had one (at most
            `BODY_EXCERPT_CHARS` characters).
        headers: The response headers.
        body: An excerpt of the response body (at most `BODY_EXCERPT_CHARS` characters).
        rate_limit: The rate-limit state the response reported.
        received_at: When the response arrived (aware UTC; on the client's clock).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: int | str | None = None,
        api_message: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | None = None,
        rate_limit: RateLimit | None = None,
        url: str | None = None,
        response: ResponseInfo | None = None,
    ) -> None:
        super().__init__(message, url=url, response=response)
        self.status = status
        self.code = code
        self.api_message = None if api_message is None else body_excerpt(api_message)
        self.headers: Mapping[str, str] = dict(headers or {})
        self.body = body_excerpt(body)
        self.rate_limit = rate_limit
        self.received_at = (
            _dt.datetime.now(_dt.timezone.utc) if response is None else response.received_at
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={self.message!r})"


class BadRequestError(APIStatusError):
    """
    HTTP 400: the API rejected the request as invalid.
    """


class AuthenticationError(APIStatusError):
    """
    HTTP 401: the token is missing, wrong or expired.
    """


class PermissionDeniedError(APIStatusError):
    """
    HTTP 403: the token may not read this resource.
    """


class NotFoundError(APIStatusError):
    """
    HTTP 404: no such contact (or endpoint).
    """


class RateLimitError(APIStatusError):
    """
    HTTP 429: too many requests.

    Attributes:
        retry_after: Seconds to wait before retrying, as the server said, or `None`.
    """

    retry_after: float | None = None

    @property
    def retry_at(self) -> _dt.datetime | None:
        """
        When to retry, as an aware UTC datetime, or `None` when the server did not say.
        """
        if self.retry_after is None:
            return None
        return self.received_at + _dt.timedelta(seconds=self.retry_after)


class InternalServerError(APIStatusError):
    """
    HTTP 5xx: the server failed.
    """
