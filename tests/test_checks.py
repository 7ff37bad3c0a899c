"""
Every public entry point refuses a bad argument at once, with an `InvalidArgumentError` that
names the argument and shows the value (the rules of `aelyst_async._checks`).
"""

from __future__ import annotations

import pathlib
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
from aelyst_async._checks import check_bool, check_int, check_methods, check_path, check_text
from aelyst_async.redis import RedisRateLimiter
from aelyst_async.testing import (
    Dataset,
    FakeAelystServer,
    FakeClock,
    Fault,
    FaultPlan,
    RateLimitConfig,
    ServerOptions,
)

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


WRONG: Any = "x"
"""A value of the wrong type, passed on purpose."""


@pytest.mark.parametrize(
    ("make", "named"),
    [
        pytest.param(
            lambda: ServerOptions(link_style="absolute"),  # type: ignore[arg-type]
            "ServerOptions.link_style must be one of 'canonical', 'relative', 'seed'",
            id="link-style",
        ),
        pytest.param(
            lambda: ServerOptions(page_cache_size=-1), "page_cache_size must be", id="cache"
        ),
        pytest.param(lambda: ServerOptions(rate_limit=WRONG), "rate_limit must be", id="limit"),
        pytest.param(lambda: ServerOptions(faults=WRONG), "faults must be a FaultPlan", id="plan"),
        pytest.param(lambda: ServerOptions(dataset=WRONG), "dataset must be a Dataset", id="data"),
        pytest.param(lambda: ServerOptions(clock=WRONG), "clock must have the methods", id="clk"),
        pytest.param(lambda: FakeAelystServer(log_requests=WRONG), "ServerOptions.log_", id="log"),
        pytest.param(
            lambda: RateLimitConfig(requests=True), "RateLimitConfig.requests must be", id="rq"
        ),
        pytest.param(
            lambda: RateLimitConfig(requests=1, window=WRONG), "RateLimitConfig.window", id="w"
        ),
        pytest.param(
            lambda: RateLimitConfig(requests=1, reset="minutes"),  # type: ignore[arg-type]
            "RateLimitConfig.reset must be one of 'none', 'seconds', 'epoch'",
            id="reset",
        ),
        pytest.param(
            lambda: Dataset(seed=WRONG), f"seed must be an integer, not {WRONG!r}", id="seed"
        ),
        pytest.param(lambda: Dataset(messages=WRONG), "messages must be", id="messages"),
        pytest.param(lambda: Fault.status(600), "Fault.status code must be", id="status"),
        pytest.param(
            lambda: Fault.rate_limited(limit=0),
            "Fault.rate_limited limit must be",
            id="fault-limit",
        ),
        pytest.param(lambda: FaultPlan().next(WRONG), "fault must be a Fault", id="next"),
        pytest.param(
            lambda: FaultPlan().fraction(0.1, WRONG), "faults must be a sequence", id="fraction"
        ),
        pytest.param(lambda: FakeClock(auto_advance=WRONG), "FakeClock.auto_advance", id="auto"),
        pytest.param(lambda: FakeClock(start=WRONG), "FakeClock.start must be", id="start"),
        pytest.param(lambda: FakeAelystServer(port=-1), "port must be an integer", id="port"),
        pytest.param(lambda: FakeAelystServer(host=""), "host must be a non-empty", id="host"),
        pytest.param(lambda: Fault(kind=WRONG), "Fault.kind must be one of", id="kind"),
    ],
)
def test_a_bad_argument_of_a_test_tool_is_refused_at_once_by_name(
    make: Callable[[], object], named: str
) -> None:
    """The shipped test tools check their arguments as the SDK does."""
    with pytest.raises(InvalidArgumentError, match=f"^{re.escape(named)}"):
        make()


async def test_a_fake_clock_refuses_to_advance_by_something_else_than_seconds() -> None:
    """`advance("1")` is refused by name; `advance(-1)` says that time cannot go back."""
    clock = FakeClock()
    with pytest.raises(InvalidArgumentError, match=r"^seconds must be a number"):
        await clock.advance(WRONG)
    with pytest.raises(InvalidArgumentError, match="time cannot go back"):
        await clock.advance(-1)


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


class PathOf:
    """An `os.PathLike` of whatever `fspath` is given."""

    def __init__(self, fspath: str | bytes) -> None:
        self.fspath = fspath

    def __fspath__(self) -> str | bytes:
        return self.fspath


def test_a_path_like_of_bytes_or_nothing_is_refused_by_name() -> None:
    """`check_path` reads a path-like's path, not its repr: bytes or empty are refused."""
    for value in (PathOf(b"out.jsonl"), PathOf("")):
        with pytest.raises(InvalidArgumentError, match=r"^file must be a path"):
            check_path("file", value)
    assert pathlib.Path("a/b") == check_path("file", pathlib.PurePath("a/b"))


def test_a_refused_fraction_leaves_the_plan_as_it_was() -> None:
    """A `fraction()` refused for its seed changes nothing of the plan."""
    plan = FaultPlan()
    with pytest.raises(InvalidArgumentError, match=r"^seed must be an integer, not 'x'$"):
        plan.fraction(1.0, [Fault.status(503)], seed="x")  # type: ignore[arg-type]
    assert plan.decide("/v1/contact/id:1/message/list") is None


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


class Int64:
    """An integer of another library's, as numpy's `int64` is to Python: it has `__index__`."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


def test_an_integer_of_another_library_is_taken_as_the_int_it_is() -> None:
    """`limit=numpy.int64(20)` works as `limit=20`; out of range, it is still refused."""
    checked = check_int("limit", Int64(20), low=1, high=50)
    assert (20, int) == (checked, type(checked))
    with pytest.raises(InvalidArgumentError, match=r"^limit must be an integer from 1 to 50"):
        check_int("limit", Int64(99), low=1, high=50)
