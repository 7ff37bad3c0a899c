"""
Configuration values: `Timeout` and `RetryPolicy`.

Both are frozen attrs classes, validated on construction, so a bad option fails at once with
a message naming the value, and a value can be shared between clients and calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import attrs

from ._checks import check_bool, check_instance, check_int, check_seconds, is_int, is_number
from ._exceptions import InvalidArgumentError

__all__ = ["DEFAULT_RETRY_STATUSES", "RetryPolicy", "Timeout", "check_retry"]

DEFAULT_RETRY_STATUSES: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})
NEVER_RETRY_STATUSES: frozenset[int] = frozenset({400, 401, 403, 404})


def _seconds(
    *, positive: bool, optional: bool
) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    """
    An attrs validator of a number of seconds (`None` allowed when `optional`).
    """

    def check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        check_seconds(f"{type(instance).__name__}.{attribute.name}", value, positive=positive)

    return check


_optional_positive = _seconds(positive=True, optional=True)
_non_negative = _seconds(positive=False, optional=False)


@attrs.frozen(kw_only=True)
class Timeout:
    """
    How long one call may take.

    Args:
        connect: Seconds to open a connection (per attempt).
        read: Seconds to wait for each chunk of the response (per attempt).
        total: Seconds for the whole call: every attempt, backoff sleep and rate-limiter wait
            together. `None` lets retries go on as long as the retry policy allows.

    A bare number given where a `Timeout` is expected sets `total` and keeps the other defaults.

    Example:
        ```python
        AelystClient(timeout=Timeout(connect=5, read=20, total=60))
        ```
    """

    connect: float | None = attrs.field(default=10.0, validator=_optional_positive)
    read: float | None = attrs.field(default=30.0, validator=_optional_positive)
    total: float | None = attrs.field(default=120.0, validator=_optional_positive)

    @classmethod
    def coerce(cls, value: Timeout | float | None) -> Timeout:
        """
        Turn a user's `timeout=` argument into a `Timeout`.

        Raises:
            InvalidArgumentError: When the value is neither a `Timeout` nor a positive number.
        """
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls()
        if not is_number(value):
            raise InvalidArgumentError(
                f"timeout must be a Timeout or a number of seconds, not {value!r}"
            )
        return cls(total=float(value))


def _statuses(value: Iterable[int]) -> frozenset[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidArgumentError(
            f"RetryPolicy.retry_statuses must be a collection of HTTP statuses, not {value!r}"
        )
    return frozenset(value)


def _check_flag(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_bool(f"RetryPolicy.{attribute.name}", value)


def _check_attempts(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_int("RetryPolicy.max_attempts", value, low=1)


def _check_statuses(
    instance: object, attribute: attrs.Attribute[Any], value: frozenset[int]
) -> None:
    forbidden = sorted(value & NEVER_RETRY_STATUSES)
    if forbidden:
        raise InvalidArgumentError(
            f"RetryPolicy.retry_statuses may not contain {forbidden}: those are never retried"
        )
    bad = sorted(repr(s) for s in value if not is_int(s) or not 100 <= s <= 599)
    if bad:
        raise InvalidArgumentError(
            f"RetryPolicy.retry_statuses holds invalid statuses: {', '.join(bad)}"
        )


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """
    When and how a failed request is tried again.

    Only idempotent reads are sent by this SDK, so connection errors, timeouts and the
    statuses in `retry_statuses` are retried; 400, 401, 403 and 404 never are.

    Args:
        max_attempts: Attempts in all, the first included (1 disables retries).
        retry_statuses: HTTP statuses that are retried.
        backoff_base: Seconds of the first backoff; each retry doubles it.
        backoff_cap: The longest backoff, in seconds.
        jitter: Full jitter: sleep a uniform random time in `[0, backoff]`.
        max_retry_after: The longest `Retry-After` the SDK waits out; a longer one raises
            `RateLimitError` (carrying `retry_after`) instead of sleeping.
        retry_decode_errors: Retry a 2xx whose body is cut or not JSON (safe for reads).

    Example:
        ```python
        AelystClient(retry=RetryPolicy(max_attempts=8, backoff_cap=30))
        ```
    """

    max_attempts: int = attrs.field(default=5, validator=_check_attempts)
    retry_statuses: frozenset[int] = attrs.field(
        default=DEFAULT_RETRY_STATUSES, converter=_statuses, validator=_check_statuses
    )
    backoff_base: float = attrs.field(default=0.5, validator=_non_negative)
    backoff_cap: float = attrs.field(default=20.0, validator=_non_negative)
    jitter: bool = attrs.field(default=True, validator=_check_flag)
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)
    retry_decode_errors: bool = attrs.field(default=True, validator=_check_flag)

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """
        A policy that never retries.
        """
        return cls(max_attempts=1)

    def backoff(self, retry_number: int, random: float) -> float:
        """
        Seconds to wait before retry number `retry_number` (1 for the first retry).

        Args:
            retry_number: 1 for the first retry, 2 for the second, ...
            random: A number in `[0, 1)`; with `jitter` the wait is `random * backoff`.
        """
        exponent = min(retry_number - 1, 62)
        ceiling = min(float(self.backoff_cap), self.backoff_base * 2.0**exponent)
        return ceiling * random if self.jitter else ceiling


def check_retry(retry: object) -> RetryPolicy | None:
    """
    Validate `retry=`: a `RetryPolicy`, or `None` (the default of whoever asks).

    Raises:
        InvalidArgumentError: Naming the value, when it is anything else.
    """
    return check_instance("retry", retry, RetryPolicy, optional=True)
