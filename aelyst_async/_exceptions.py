"""
Every error the SDK raises, under one root.

```
AelystError
├── InvalidArgumentError (also ValueError)   bad input, raised before any request
├── APIError                                 anything that went wrong talking to the API
│   ├── APIConnectionError                   no usable response: refused, reset, truncated
│   │   └── APITimeoutError (also TimeoutError)
│   ├── APIResponseDecodeError               a 2xx whose body is not the documented shape
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
2. Bodies are kept as a short excerpt (`BODY_EXCERPT_CHARS`), never in full.
3. `resume_cursor` and `identifier` are filled in by the paginator when an error ends an
   iteration, so that the caller can resume exactly where it stopped.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._models import RateLimit
    from ._response import ResponseInfo

__all__ = [
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
]

BODY_EXCERPT_CHARS = 200


def body_excerpt(body: bytes | str | None, limit: int = BODY_EXCERPT_CHARS) -> str:
    """
    Return at most `limit` characters of a response body, decoded leniently.
    """
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if len(text) <= limit:
        return text
    return text[:limit] + "…"


class AelystError(Exception):
    """
    The root of every error this SDK raises.

    Attributes:
        identifier: The contact identifier being listed when the error ended an iteration.
        resume_cursor: The cursor to pass as `cursor_id` to resume that iteration, or `None`
            when the iteration had not passed its first page.
    """

    identifier: str | None = None
    resume_cursor: str | None = None

    def __init__(self, message: str) -> None:
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
    The server's pagination cannot be followed safely (for example a cursor loop).

    Attributes:
        cursor: The offending cursor.
    """

    def __init__(self, message: str, *, cursor: str | None = None) -> None:
        super().__init__(message)
        self.cursor = cursor


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
    """


class APITimeoutError(APIConnectionError, TimeoutError):
    """
    The request, or the whole call with its retries, ran out of time.
    """


class APIResponseDecodeError(APIError):
    """
    A successful response whose body is not JSON, or lacks what the API documents.

    Attributes:
        status: The HTTP status of the response.
        body: A short excerpt of the body.
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
        super().__init__(
            f"{message} (HTTP {status}, body: {self.body!r})", url=url, response=response
        )


class APIStatusError(APIError):
    """
    The API answered with a non-success status.

    Attributes:
        status: The HTTP status.
        code: The `code` of the error body, when the body had one.
        api_message: The `message` of the error body, when it had one.
        headers: The response headers.
        body: A short excerpt of the response body.
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
        self.api_message = api_message
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
