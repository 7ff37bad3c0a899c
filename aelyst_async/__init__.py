"""
aelyst-async: the async-first Python SDK for the Aelyst messaging API.

Example:
    ```python
    from aelyst_async import AelystClient

    async with AelystClient() as client:  # token from $AELYST_TOKEN
        async for message in client.messages.list("email:abdc@gmail.com", limit=50):
            print(message.message_id, message.traffic, message.text)
    ```
"""

from importlib.metadata import PackageNotFoundError, version

from ._bulk import FailureResult, MessageStream, PageResult
from ._client import DEFAULT_BASE_URL, AelystClient, ClientStats, Messages
from ._clock import Clock, SystemClock
from ._config import RetryPolicy, Timeout
from ._converter import to_wire
from ._exceptions import (
    NO_SAFE_CURSOR,
    AelystError,
    APIConnectionError,
    APIError,
    APIResponseDecodeError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ExportError,
    InternalServerError,
    InvalidArgumentError,
    NoSafeCursor,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
)
from ._export import (
    ExportProgress,
    ExportSnapshot,
    ExportSummary,
    FailedContact,
    PlainProgress,
    run_export,
)
from ._identifiers import Identifier
from ._limiter import BucketState, KeyPausedError, RateLimiter, TokenBucketLimiter
from ._logs import configure_from_env as _configure_logging
from ._models import (
    DeliveryStatus,
    Message,
    MessageStatus,
    MessageTag,
    Page,
    Pagination,
    RateLimit,
    Sender,
    TextMessage,
    Traffic,
    UnknownMessage,
)
from ._pagination import MessagePager
from ._response import ResponseInfo

try:
    __version__ = version("aelyst-async")
except PackageNotFoundError:  # pragma: no cover - a bare source tree, never installed
    __version__ = "0+unknown"

_configure_logging()  # $AELYST_LOG, read once on import

__all__ = [
    "DEFAULT_BASE_URL",
    "NO_SAFE_CURSOR",
    "APIConnectionError",
    "APIError",
    "APIResponseDecodeError",
    "APIStatusError",
    "APITimeoutError",
    "AelystClient",
    "AelystError",
    "AuthenticationError",
    "BadRequestError",
    "BucketState",
    "ClientStats",
    "Clock",
    "DeliveryStatus",
    "ExportError",
    "ExportProgress",
    "ExportSnapshot",
    "ExportSummary",
    "FailedContact",
    "FailureResult",
    "Identifier",
    "InternalServerError",
    "InvalidArgumentError",
    "KeyPausedError",
    "Message",
    "MessagePager",
    "MessageStatus",
    "MessageStream",
    "MessageTag",
    "Messages",
    "NoSafeCursor",
    "NotFoundError",
    "Page",
    "PageResult",
    "Pagination",
    "PaginationError",
    "PermissionDeniedError",
    "PlainProgress",
    "RateLimit",
    "RateLimitError",
    "RateLimiter",
    "ResponseInfo",
    "ResponseTooLargeError",
    "RetryPolicy",
    "Sender",
    "SystemClock",
    "TextMessage",
    "Timeout",
    "TokenBucketLimiter",
    "Traffic",
    "UnknownMessage",
    "__version__",
    "run_export",
    "to_wire",
]
