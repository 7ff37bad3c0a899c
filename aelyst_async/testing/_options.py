"""
How a fake server is set up, and what it counts: `ServerOptions`, `RateLimitConfig`,
`ServerStats`, and the defaults of the entry points.

Rule: every option is checked when the options are made, and a bad one raises
`InvalidArgumentError` naming the field and the value; the server itself (`_server.py`)
never meets an invalid option.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any, Final, Literal, get_args

import attrs

from .._checks import (
    check_bool,
    check_choice,
    check_clock,
    check_instance,
    check_int,
    check_seconds,
    check_text,
)
from .._clock import Clock, SystemClock
from ._data import Dataset
from ._faults import FaultPlan

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DEFAULT_TOKEN",
    "EmptyLink",
    "LinkStyle",
    "RateLimitConfig",
    "ResetFormat",
    "RetryAfterFormat",
    "ServerOptions",
    "ServerStats",
]

LinkStyle = Literal["canonical", "relative", "seed"]
EmptyLink = Literal["empty", "null", "missing"]
RetryAfterFormat = Literal["decimal", "integer", "http-date"]
ResetFormat = Literal["none", "seconds", "epoch"]

DEFAULT_TOKEN: Final = "test-token"
"""The token the fake server accepts unless told another."""
DEFAULT_HOST: Final = "127.0.0.1"
"""The address the fake server listens on unless told another: this machine only."""
DEFAULT_PORT: Final = 8080
"""The port `serve`, `run_server` and `aelyst mock-server` listen on unless told another."""


def _one_of(kind: Any) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    """
    An attrs validator of one of the words of the `Literal` type `kind`.
    """
    choices: tuple[str, ...] = get_args(kind)

    def check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        check_choice(f"{type(instance).__name__}.{attribute.name}", value, choices)

    return check


def _flag(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_bool(f"{type(instance).__name__}.{attribute.name}", value)


def _check_requests(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_int("RateLimitConfig.requests", value, low=1)


def _window_seconds(value: object) -> float:
    return check_seconds("RateLimitConfig.window", value, positive=True)


@attrs.frozen(kw_only=True)
class RateLimitConfig:
    """
    A token bucket per (token, endpoint), as the server enforces it.

    Args:
        requests: The bucket's capacity, `X-RateLimit-Limit`.
        window: Seconds to refill the whole bucket; it refills continuously at
            `requests / window` tokens per second. Each request costs one token; a request
            refused with 429 costs none.
        retry_after_format: `decimal` seconds (`0.25`, rounded up to the millisecond),
            `integer` seconds (rounded up), or an `http-date`.
        headers: Send `X-RateLimit-Limit` and `X-RateLimit-Remaining` on every response.
        reset: Also send `X-RateLimit-Reset`, the time until the bucket is full again:
            `none`, `seconds` from now (rounded up), or the `epoch` Unix time of it.
            Only with `headers`.
        retry_after: Send `Retry-After` on a 429 (`False`: a server that says nothing of
            when to come back).

    Example:
        ```python
        FakeAelystServer(rate_limit=RateLimitConfig(requests=10, window=1.0), clock=clock)
        ```
    """

    requests: int = attrs.field(validator=_check_requests)
    window: float = attrs.field(default=1.0, converter=_window_seconds)
    retry_after_format: RetryAfterFormat = attrs.field(
        default="decimal", validator=_one_of(RetryAfterFormat)
    )
    headers: bool = attrs.field(default=True, validator=_flag)
    reset: ResetFormat = attrs.field(default="none", validator=_one_of(ResetFormat))
    retry_after: bool = attrs.field(default=True, validator=_flag)


def _fault_plan(value: FaultPlan | None) -> FaultPlan:
    return check_instance("faults", value, FaultPlan, optional=True) or FaultPlan()


def _server_clock(value: Clock | None) -> Clock:
    return check_clock("clock", value)


def _check_token(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_text("token", value, optional=True)


def _check_base_url(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_text("base_url", value, optional=True)


def _check_dataset(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_instance("dataset", value, Dataset)


def _check_rate_limit(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_instance("rate_limit", value, RateLimitConfig, optional=True)


def _check_cache_size(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_int("page_cache_size", value, low=0)


@attrs.frozen(kw_only=True)
class ServerOptions:
    """
    How a fake server behaves. Every entry point takes these fields as keyword arguments.

    Args:
        token: The bearer token accepted; `None` accepts any non-empty token.
        dataset: The contacts and messages served.
        link_style: The form of `next`/`previous` links: `canonical` (absolute, on the
            server's own URL), `relative` (`/v1/contact/...`), or `seed` (exactly the
            reference page's form: `https://api.aelyst.ai/contact/{identifier}/message/list?...`,
            another host, no `/v1`, the literal text `{identifier}`).
        last_next: The link on the last page's `next` and the first page's `previous`:
            `empty` (`""`), `null` (JSON null), or `missing` (the key is left out).
        rate_limit: The rate limiter, or `None` for none (and no rate-limit headers).
        faults: The fault plan; `None` gives an empty one that can be scripted later.
        clock: The rate limiter's clock.
        base_url: The base of `canonical` links; by default the URL the client used
            (`http://<Host header>/v1`).
        page_cache_size: How many encoded pages to keep (0: none).
        log_requests: Log each request served, at INFO on the `aelyst_async.testing`
            logger (see `_describe_request`); off by default, so that the SDK's own log records
            are alone.
    """

    token: str | None = attrs.field(default=DEFAULT_TOKEN, validator=_check_token)
    dataset: Dataset = attrs.field(factory=Dataset, validator=_check_dataset)
    link_style: LinkStyle = attrs.field(default="canonical", validator=_one_of(LinkStyle))
    last_next: EmptyLink = attrs.field(default="empty", validator=_one_of(EmptyLink))
    rate_limit: RateLimitConfig | None = attrs.field(default=None, validator=_check_rate_limit)
    faults: FaultPlan = attrs.field(factory=FaultPlan, converter=_fault_plan)
    clock: Clock = attrs.field(factory=SystemClock, converter=_server_clock)
    base_url: str | None = attrs.field(default=None, validator=_check_base_url)
    page_cache_size: int = attrs.field(default=256, validator=_check_cache_size)
    log_requests: bool = attrs.field(default=False, validator=_flag)


@attrs.define(kw_only=True)
class ServerStats:
    """
    What a fake server has seen. Counters only grow, except `in_flight`.

    Attributes:
        requests: Requests received.
        by_status: Responses sent, by HTTP status (a dropped connection has none).
        rate_limited: 429 answers of the rate limiter (a `rate_limited` fault counts in
            `faults`; both count in `by_status[429]`).
        faults: Faults injected, by kind.
        in_flight: Requests being handled now.
        max_in_flight: The most requests handled at once.
    """

    requests: int = 0
    by_status: collections.Counter[int] = attrs.field(factory=collections.Counter)
    rate_limited: int = 0
    faults: collections.Counter[str] = attrs.field(factory=collections.Counter)
    in_flight: int = 0
    max_in_flight: int = 0
