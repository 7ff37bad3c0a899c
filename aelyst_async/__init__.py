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

import typing

from ._client import DEFAULT_BASE_URL, AelystClient, ClientStats, Messages
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
from ._protocol import Response, Transport
from ._response import ResponseInfo

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
    from ._sharding import Shard, shard_of

__version__: str
"""The installed version of aelyst-async, from the package's metadata."""


def __getattr__(name: str) -> typing.Any:
    """
    `__version__`, `to_wire`, the names of `list_many`, sharding and the export's names (the
    others of `__all__` not imported above), imported when first asked for: reading the
    version, or building the converter, costs more than importing the rest of the package,
    and most programs never list many contacts at once, export or shard.
    """
    value: typing.Any
    if name == "__version__":
        from ._version import sdk_version

        value = sdk_version()
    elif name == "to_wire":
        from ._converter import to_wire

        value = to_wire
    elif name in ("FailureResult", "ListRequest", "MessageStream", "PageResult"):
        from . import _bulk

        value = getattr(_bulk, name)
    elif name in ("Shard", "shard_of"):
        from . import _sharding

        value = getattr(_sharding, name)
    elif name in __all__:
        from . import _export

        value = getattr(_export, name)
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
