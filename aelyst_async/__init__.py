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

import importlib
import typing

from ._client import DEFAULT_BASE_URL, AelystClient, ClientStats
from ._clock import Clock, SystemClock
from ._config import RetryPolicy, Timeout
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
from ._http import Response, Transport
from ._identifiers import Identifier
from ._logs import configure_from_env as _configure_logging
from ._messages import Messages
from ._pagination import MessagePager

if typing.TYPE_CHECKING:
    from ._bulk import FailureResult, ListRequest, MessageStream, PageResult
    from ._converter import to_wire
    from ._export import (
        ExportOptions,
        ExportProgress,
        ExportSnapshot,
        ExportSummary,
        FailedContact,
        PlainProgress,
        run_export,
    )
    from ._limiter import BucketState, KeyPausedError, RateLimiter, TokenBucketLimiter
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
    from ._response import ResponseInfo
    from ._sharding import Shard, shard_of

__version__: str
"""The installed version of aelyst-async, from the package's metadata."""

_LAZY: typing.Final = {
    **dict.fromkeys(("FailureResult", "ListRequest", "MessageStream", "PageResult"), "_bulk"),
    "to_wire": "_converter",
    **dict.fromkeys(
        (
            "ExportOptions",
            "ExportProgress",
            "ExportSnapshot",
            "ExportSummary",
            "FailedContact",
            "PlainProgress",
            "run_export",
        ),
        "_export",
    ),
    **dict.fromkeys(
        ("BucketState", "KeyPausedError", "RateLimiter", "TokenBucketLimiter"), "_limiter"
    ),
    **dict.fromkeys(
        (
            "DeliveryStatus",
            "Message",
            "MessageStatus",
            "MessageTag",
            "Page",
            "Pagination",
            "RateLimit",
            "Sender",
            "TextMessage",
            "Traffic",
            "UnknownMessage",
        ),
        "_models",
    ),
    "ResponseInfo": "_response",
    **dict.fromkeys(("Shard", "shard_of"), "_sharding"),
}
"""The public names imported when first asked for, and their modules."""


def __getattr__(name: str) -> typing.Any:
    """
    `__version__` and the names of `_LAZY`, imported when first asked for.

    Importing the package loads what creating an `AelystClient` needs and no more, so it
    costs little more than importing aiohttp: reading the version, the models, the limiter
    and the converter load with the first request (or the first use of their names), and
    most programs never list many contacts at once, export or shard.
    """
    value: typing.Any
    if name == "__version__":
        from ._version import sdk_version

        value = sdk_version()
    elif name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # asked once: the module's own attribute from then on
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
    "ExportOptions",
    "ExportProgress",
    "ExportSnapshot",
    "ExportSummary",
    "FailedContact",
    "FailureResult",
    "Identifier",
    "InternalServerError",
    "InvalidArgumentError",
    "KeyPausedError",
    "ListRequest",
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
    "Response",
    "ResponseInfo",
    "ResponseTooLargeError",
    "RetryPolicy",
    "Sender",
    "Shard",
    "SystemClock",
    "TextMessage",
    "Timeout",
    "TokenBucketLimiter",
    "Traffic",
    "Transport",
    "UnknownMessage",
    "__version__",
    "run_export",
    "shard_of",
    "to_wire",
]
