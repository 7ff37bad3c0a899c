"""
Every public entry point refuses a bad argument at once, with an `InvalidArgumentError` that
names the argument and shows the value (the rules of `aelyst_async._checks`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from aelyst_async import (
    AelystClient,
    InvalidArgumentError,
    PlainProgress,
    RetryPolicy,
    TokenBucketLimiter,
)
from aelyst_async._checks import check_bool, check_methods, check_path, check_text
from aelyst_async.redis import RedisRateLimiter

TOKEN = "checks-token"


def client(**options: Any) -> AelystClient:
    return AelystClient(TOKEN, **options)


@pytest.mark.parametrize(
    ("make", "named"),
    [
        pytest.param(lambda: client(clock="now"), "clock must have the methods", id="client-clock"),
        pytest.param(
            lambda: client(telemetry="otel"), "telemetry must have the method", id="telemetry"
        ),
        pytest.param(lambda: client(trust_env="yes"), "trust_env must be True or False", id="env"),
        pytest.param(
            lambda: client(session="aiohttp"), "session must be an aiohttp.ClientSession", id="ses"
        ),
        pytest.param(
            lambda: RetryPolicy(jitter="no"),  # type: ignore[arg-type]
            "RetryPolicy.jitter must be True or False",
            id="jitter",
        ),
        pytest.param(
            lambda: RetryPolicy(retry_decode_errors=0),  # type: ignore[arg-type]
            "RetryPolicy.retry_decode_errors must be True or False",
            id="retry-decode-errors",
        ),
        pytest.param(
            lambda: RetryPolicy(retry_statuses=503),  # type: ignore[arg-type]
            "RetryPolicy.retry_statuses must be a collection",
            id="one-status",
        ),
        pytest.param(
            lambda: TokenBucketLimiter(clock="now"),  # type: ignore[arg-type]
            "TokenBucketLimiter.clock must have the methods",
            id="limiter-clock",
        ),
        pytest.param(
            lambda: PlainProgress(None, every="5"),  # type: ignore[arg-type]
            "PlainProgress.every must be a number of seconds",
            id="progress-every",
        ),
        pytest.param(
            lambda: RedisRateLimiter(6379),  # type: ignore[arg-type]
            "RedisRateLimiter.redis must have the method register_script()",
            id="redis-port",
        ),
        pytest.param(
            lambda: RedisRateLimiter("localhost:6379"),
            "RedisRateLimiter.redis: ",
            id="redis-not-a-url",
        ),
        pytest.param(
            lambda: RedisRateLimiter("redis://localhost", namespace=""),
            "RedisRateLimiter.namespace must be a non-empty str, not ''",
            id="empty-namespace",
        ),
        pytest.param(
            lambda: RedisRateLimiter("redis://localhost", clock="now"),  # type: ignore[arg-type]
            "RedisRateLimiter.clock must have the methods",
            id="redis-clock",
        ),
    ],
)
def test_a_bad_argument_is_refused_at_once_by_name(make: Callable[[], object], named: str) -> None:
    """The entry point raises InvalidArgumentError naming the argument, before any I/O."""
    with pytest.raises(InvalidArgumentError, match=f"^{re.escape(named)}"):
        make()


async def test_list_many_refuses_a_fail_fast_that_is_not_a_flag() -> None:
    """`fail_fast="no"` is a mistake (the string is true), not a request to fail fast."""
    async with client() as aelyst:
        with pytest.raises(InvalidArgumentError, match="fail_fast must be True or False, not 'no'"):
            aelyst.messages.list_many(["id:1"], fail_fast="no")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("check", "value"),
    [
        pytest.param(lambda v: check_bool("flag", v), 1, id="bool"),
        pytest.param(lambda v: check_text("name", v), "", id="text"),
        pytest.param(lambda v: check_path("file", v), 5, id="path"),
        pytest.param(lambda v: check_methods("thing", v, "Clock", ("monotonic",)), 5, id="methods"),
    ],
)
def test_each_check_names_the_argument_and_shows_the_value(
    check: Callable[[object], object], value: object
) -> None:
    """Rule 1 of the checks: the message names the argument and shows the value's repr."""
    with pytest.raises(InvalidArgumentError, match=rf"^\w+ .*{re.escape(repr(value))}$"):
        check(value)


@pytest.mark.parametrize(
    ("check", "value"),
    [
        pytest.param(lambda v: check_bool("flag", v), False, id="bool"),
        pytest.param(lambda v: check_text("name", v), "x", id="text"),
        pytest.param(lambda v: check_methods("thing", v, "Clock", ("strip",)), "x", id="methods"),
    ],
)
def test_each_check_returns_what_it_accepted(
    check: Callable[[object], object], value: object
) -> None:
    """Rule 3 of the checks: the value accepted comes back, for the caller to keep."""
    assert value == check(value)
