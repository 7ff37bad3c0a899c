"""
The checks of the arguments users pass: one home, so that every entry point refuses a bad
value the same way.

Rules:

1. A bad argument raises `InvalidArgumentError` at once, with a message that names the
   argument and shows the value (`repr`).
2. `bool` is not a number here, although Python makes it an `int`: `limit=True` is a mistake.
3. A check returns the value it accepted (as a `float`, for seconds), so that a caller
   assigns what was checked.
"""

from __future__ import annotations

import math
import operator
import os
from pathlib import Path
from typing import Any, Final, Literal, SupportsIndex, TypeGuard, TypeVar, overload

from ._clock import Clock, SystemClock
from ._exceptions import NO_SAFE_CURSOR, InvalidArgumentError

__all__ = [
    "DEFAULT_CONCURRENCY",
    "MAX_CONCURRENCY",
    "check_bool",
    "check_choice",
    "check_clock",
    "check_concurrency",
    "check_cursor",
    "check_instance",
    "check_int",
    "check_methods",
    "check_number",
    "check_path",
    "check_seconds",
    "check_text",
    "is_int",
    "is_number",
]

T = TypeVar("T")

DEFAULT_CONCURRENCY: Final = 8
"""Contacts `list_many` and the export list at once, unless told otherwise."""
MAX_CONCURRENCY: Final = 1000
"""The most contacts `list_many` lists at once."""


def is_int(value: object) -> TypeGuard[int]:
    """
    Whether `value` is an integer and not a `bool` (rule 2).
    """
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> TypeGuard[float]:
    """
    Whether `value` is an `int` or a `float`, and not a `bool` (rule 2).
    """
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _range(low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return ""
    if high is None:
        return f" >= {low}"
    if low is None:
        return f" <= {high}"
    return f" from {low} to {high}"


@overload
def check_int(
    name: str, value: object, *, low: int | None = ..., high: int | None = ..., optional: bool
) -> int | None: ...
@overload
def check_int(
    name: str, value: object, *, low: int | None = ..., high: int | None = ...
) -> int: ...
def check_int(
    name: str,
    value: object,
    *,
    low: int | None = None,
    high: int | None = None,
    optional: bool = False,
) -> int | None:
    """
    Validate an integer from `low` to `high` (either bound may be open); `None` when `optional`.
    An integer of another library (one with `__index__`, as numpy's) is taken as the `int` it is.

    Raises:
        InvalidArgumentError: Naming `name` and the value.
    """
    if value is None and optional:
        return None
    if not isinstance(value, (int, bool)) and isinstance(value, SupportsIndex):
        value = operator.index(value)  # an integer of another library's (numpy's int64)
    if (
        not is_int(value)
        or (low is not None and value < low)
        or (high is not None and value > high)
    ):
        wanted = f"an integer{_range(low, high)}" + (", or None" if optional else "")
        raise InvalidArgumentError(f"{name} must be {wanted}, not {value!r}")
    return value


def check_number(
    name: str, value: object, *, low: float = 0, high: float | None = None, finite: bool = True
) -> float:
    """
    Validate a real number (`int` or `float`) from `low` to `high`; infinity only when not `finite`.

    Returns:
        The value as a float.

    Raises:
        InvalidArgumentError: Naming `name` and the value.
    """
    if (
        not is_number(value)
        or math.isnan(value)
        or (finite and math.isinf(value))
        or value < low
        or (high is not None and value > high)
    ):
        raise InvalidArgumentError(f"{name} must be a number{_range(low, high)}, not {value!r}")
    return float(value)


def check_seconds(name: str, value: object, *, positive: bool) -> float:
    """
    Validate a number of seconds: finite, and above zero when `positive` (else zero or more).

    Returns:
        The value as a float.

    Raises:
        InvalidArgumentError: Naming the option and the value.
    """
    if not is_number(value) or not math.isfinite(value) or value < 0 or (positive and value == 0):
        wanted = "a positive number of seconds" if positive else "a number of seconds >= 0"
        raise InvalidArgumentError(f"{name} must be {wanted}, not {value!r}")
    return float(value)


def check_concurrency(concurrency: object) -> int:
    """
    Validate `concurrency`: an integer from 1 to `MAX_CONCURRENCY`.

    Raises:
        InvalidArgumentError: Naming the value.
    """
    return check_int("concurrency", concurrency, low=1, high=MAX_CONCURRENCY)


@overload
def check_cursor(
    name: str, value: object, *, optional: Literal[False], numbers: bool = ...
) -> str: ...
@overload
def check_cursor(
    name: str, value: object, *, optional: bool = ..., numbers: bool = ...
) -> str | None: ...
def check_cursor(
    name: str, value: object, *, optional: bool = True, numbers: bool = False
) -> str | None:
    """
    Validate a cursor to start from: a non-empty string (or an integer, when `numbers`).

    `NO_SAFE_CURSOR` is refused with a message of its own: it marks an iteration that no
    cursor resumes without repeating messages.

    Returns:
        The cursor as a string, or `None` when `optional` and it is `None`.

    Raises:
        InvalidArgumentError: Naming `name` and the value.
    """
    if value is None and optional:
        return None
    if value is NO_SAFE_CURSOR:
        raise InvalidArgumentError(
            f"{name} is NO_SAFE_CURSOR: that contact cannot be resumed without repeating "
            "messages already delivered"
        )
    if (isinstance(value, str) and value) or (numbers and is_int(value)):
        return str(value)
    wanted = "a non-empty str" + (" or None" if optional else "")
    raise InvalidArgumentError(f"{name} must be {wanted}, not {value!r}")


def check_bool(name: str, value: object) -> bool:
    """
    Validate a flag: `True` or `False`, not a value that merely has a truth (`"no"` is true).

    Raises:
        InvalidArgumentError: Naming `name` and the value.
    """
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be True or False, not {value!r}")
    return value


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """
    Validate one of a few words, e.g. a format.

    Raises:
        InvalidArgumentError: Naming `name`, the value and the choices.
    """
    if isinstance(value, str) and value in choices:
        return value
    listed = ", ".join(repr(choice) for choice in choices)
    raise InvalidArgumentError(f"{name} must be one of {listed}, not {value!r}")


@overload
def check_text(name: str, value: object, *, optional: Literal[False] = ...) -> str: ...
@overload
def check_text(name: str, value: object, *, optional: bool) -> str | None: ...
def check_text(name: str, value: object, *, optional: bool = False) -> str | None:
    """
    Validate a non-empty string; `None` when `optional`.

    Raises:
        InvalidArgumentError: Naming `name` and the value.
    """
    if value is None and optional:
        return None
    if isinstance(value, str) and value:
        return value
    wanted = "a non-empty str" + (" or None" if optional else "")
    raise InvalidArgumentError(f"{name} must be {wanted}, not {value!r}")


def check_path(name: str, value: object) -> Path:
    """
    Validate a file path: a `str` or an `os.PathLike`.

    Raises:
        InvalidArgumentError: Naming `name` and the value.
    """
    path = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
    if isinstance(path, str) and path:
        return Path(path)
    raise InvalidArgumentError(
        f"{name} must be a path (a non-empty str, or an os.PathLike of one), not {value!r}"
    )


def check_methods(name: str, value: object, kind: str, methods: tuple[str, ...]) -> Any:
    """
    Validate an object that a protocol describes (a `Clock`, a `RateLimiter`, ...): it has
    the protocol's methods. (`isinstance` cannot tell: the protocols are not runtime-checkable,
    and a user's class need not inherit them.)

    Returns:
        The value, for the caller to type as the protocol.

    Raises:
        InvalidArgumentError: Naming `name`, the methods, and the value.
    """
    if all(callable(getattr(value, method, None)) for method in methods):
        return value
    *most, last = [f"{method}()" for method in methods]
    listed = f"{', '.join(most)} and {last}" if most else last
    noun = "methods" if most else "method"
    raise InvalidArgumentError(
        f"{name} must have the {noun} {listed} of {_a(kind)} {kind}, not {value!r}"
    )


def _a(kind: str) -> str:
    """The article of a type's name: "an ExportOptions", "a Dataset"."""
    return "an" if kind[0].lower() in "aeiou" else "a"


@overload
def check_instance(
    name: str, value: object, cls: type[T], *, optional: Literal[False] = ..., kind: str = ...
) -> T: ...
@overload
def check_instance(
    name: str, value: object, cls: type[T], *, optional: bool, kind: str = ...
) -> T | None: ...
def check_instance(
    name: str, value: object, cls: type[T], *, optional: bool = False, kind: str = ""
) -> T | None:
    """
    Validate a value of one of the SDK's types (or of a library's, e.g. an aiohttp session);
    `None` when `optional`.

    Args:
        kind: The type as the message names it (default: the class's name).

    Raises:
        InvalidArgumentError: Naming `name`, the type and the value.
    """
    if value is None and optional:
        return None
    if isinstance(value, cls):
        return value
    kind = kind or cls.__name__
    wanted = f"{_a(kind)} {kind}" + (" or None" if optional else "")
    raise InvalidArgumentError(f"{name} must be {wanted}, not {value!r}")


def check_clock(name: str, value: object) -> Clock:
    """
    Validate a `Clock`; `None` is the system's clock (`SystemClock()`).

    Raises:
        InvalidArgumentError: Naming `name` and the value.
    """
    if value is None:
        return SystemClock()
    clock: Clock = check_methods(name, value, "Clock", ("monotonic", "wall", "sleep"))
    return clock
