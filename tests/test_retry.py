"""
The retry loop, driven by scripted attempts on a fake clock; no test waits on real time.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import threading
from collections.abc import Callable, Hashable, Mapping

import attrs
import pytest

from aelyst_async._config import RetryPolicy
from aelyst_async._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseDecodeError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from aelyst_async._http import Response
from aelyst_async._limiter import TokenBucketLimiter
from aelyst_async._models import RateLimit
from aelyst_async._retry import THREADED_DECODE_BYTES, call_with_retries
from aelyst_async.testing._clock import FakeClock

KEY: Hashable = ("GET /contact/{identifier}/message/list", "fingerprint")
DESCRIPTION = "GET /v1/contact/{identifier}/message/list"
SECRET_BODY = b'{"code": 503, "message": "busy: phone:+60121233112 Bearer sk-live-s3cret"}'


def reply(
    status: int = 200, body: bytes = b"ok", headers: Mapping[str, str] | None = None
) -> Response:
    return Response(status=status, headers=dict(headers or {}), body=body, url="https://api.test/x")


def limited(status: int, retry_after: str | None = None, remaining: int = 0) -> Response:
    """
    A response with the rate-limit headers of a quota of 10 (and `Retry-After` when given).
    """
    headers = {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": str(remaining)}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return reply(status, b"ok" if status < 300 else b'{"code": %d}' % status, headers)


Step = Response | APIConnectionError


@attrs.define
class Script:
    """
    A fake `send`: plays its steps in order and notes when it was called and with what.
    """

    clock: FakeClock
    steps: list[Step]
    calls: list[tuple[float, float | None]] = attrs.field(factory=list)

    async def __call__(self, remaining: float | None) -> Response:
        self.calls.append((self.clock.monotonic(), remaining))
        step = self.steps.pop(0)
        if isinstance(step, APIConnectionError):
            raise step
        return step

    @property
    def times(self) -> list[float]:
        return [at for at, _ in self.calls]


def decode(response: Response, rate_limit: RateLimit) -> str:
    if response.body == b"cut":
        raise APIResponseDecodeError(
            "the body is not JSON", status=response.status, body=response.body
        )
    return response.body.decode()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(auto_advance=True)


async def run(
    script: Script,
    *,
    policy: RetryPolicy | None,
    limiter: TokenBucketLimiter | None,
    total: float | None,
    jitter: Callable[[], float],
) -> str:
    return await call_with_retries(
        script,
        decode,
        policy=policy or RetryPolicy(),
        limiter=limiter,
        key=KEY,
        clock=script.clock,
        total=total,
        random=jitter,
        description=DESCRIPTION,
    )


async def call(
    clock: FakeClock,
    *steps: Step,
    policy: RetryPolicy | None = None,
    limiter: TokenBucketLimiter | None = None,
    total: float | None = None,
    jitter: Callable[[], float] = lambda: 0.5,
) -> tuple[str, Script]:
    """
    Run one call over `steps`; return its result and the script (to look at the attempts).
    """
    script = Script(clock, list(steps))
    result = await run(script, policy=policy, limiter=limiter, total=total, jitter=jitter)
    return result, script


async def failed_call(
    clock: FakeClock,
    *steps: Step,
    policy: RetryPolicy | None = None,
    limiter: TokenBucketLimiter | None = None,
    total: float | None = None,
) -> tuple[APIError, Script]:
    """
    Run one call over `steps` that must fail; return its error and the script.
    """
    script = Script(clock, list(steps))
    with pytest.raises(APIError) as raised:
        await run(script, policy=policy, limiter=limiter, total=total, jitter=lambda: 0.5)
    return raised.value, script


# -- what is retried --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_a_retryable_status_is_retried(clock: FakeClock, status: int) -> None:
    """Each default retry status is tried again, and the retry's success is returned."""
    result, script = await call(clock, reply(status), reply(200))
    assert ("ok", 2) == (result, len(script.calls))


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(400, BadRequestError, id="400"),
        pytest.param(401, AuthenticationError, id="401"),
        pytest.param(403, PermissionDeniedError, id="403"),
        pytest.param(404, NotFoundError, id="404"),
        pytest.param(422, APIStatusError, id="422"),
    ],
)
async def test_other_statuses_raise_at_once(
    clock: FakeClock, status: int, error: type[APIStatusError]
) -> None:
    """A status that is not retried costs one attempt and no wait."""
    raised, script = await failed_call(clock, reply(status), reply(200))
    assert isinstance(raised, APIStatusError)
    assert (error, status, 1, []) == (type(raised), raised.status, len(script.calls), clock.slept)


async def test_only_the_policy_statuses_are_retried(clock: FakeClock) -> None:
    """A 500 is raised at once by a policy that retries only 503."""
    raised, script = await failed_call(
        clock, reply(500), reply(200), policy=RetryPolicy(retry_statuses={503})
    )
    assert (InternalServerError, 1) == (type(raised), len(script.calls))


async def test_connection_errors_and_timeouts_are_retried(clock: FakeClock) -> None:
    """A reset connection and a timed-out attempt are both tried again."""
    result, script = await call(
        clock, APIConnectionError("connection reset"), APITimeoutError("read timeout"), reply(200)
    )
    assert ("ok", 3) == (result, len(script.calls))


async def test_decode_errors_are_retried(clock: FakeClock) -> None:
    """A 2xx with a cut body is tried again (reads are safe to repeat)."""
    result, script = await call(clock, reply(200, b"cut"), reply(200))
    assert ("ok", 2) == (result, len(script.calls))


async def test_decode_errors_raise_when_the_policy_says_so(clock: FakeClock) -> None:
    """With retry_decode_errors=False, a cut body raises at once."""
    raised, script = await failed_call(
        clock, reply(200, b"cut"), reply(200), policy=RetryPolicy(retry_decode_errors=False)
    )
    assert (APIResponseDecodeError, 1) == (type(raised), len(script.calls))


@pytest.mark.parametrize(
    ("last", "error"),
    [
        pytest.param(
            reply(503, b'{"code": 503, "message": "third"}'), InternalServerError, id="503"
        ),
        pytest.param(APIConnectionError("third"), APIConnectionError, id="connection"),
        pytest.param(reply(200, b"cut"), APIResponseDecodeError, id="decode"),
    ],
)
async def test_the_last_error_is_raised_when_attempts_run_out(
    clock: FakeClock, last: Step, error: type[Exception]
) -> None:
    """max_attempts attempts in all, then the last attempt's error, as it was."""
    raised, script = await failed_call(
        clock, reply(503), reply(503), last, reply(200), policy=RetryPolicy(max_attempts=3)
    )
    assert (error, 3) == (type(raised), len(script.calls))
    assert "third" in str(raised) or isinstance(raised, APIResponseDecodeError)


async def test_one_attempt_when_retries_are_disabled(clock: FakeClock) -> None:
    """RetryPolicy.disabled() makes exactly one attempt."""
    raised, script = await failed_call(clock, reply(503), reply(200), policy=RetryPolicy.disabled())
    assert (InternalServerError, 1, []) == (type(raised), len(script.calls), clock.slept)


# -- how long it waits ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jitter", "random_value", "sleeps"),
    [
        pytest.param(True, 0.5, [0.5, 1.0, 2.0, 2.0], id="full-jitter-half"),
        pytest.param(True, 0.0, [0.0, 0.0, 0.0, 0.0], id="full-jitter-zero"),
        pytest.param(False, 0.5, [1.0, 2.0, 4.0, 4.0], id="no-jitter"),
    ],
)
async def test_backoff_doubles_up_to_the_cap(
    clock: FakeClock, jitter: bool, random_value: float, sleeps: list[float]
) -> None:
    """The wait before retry n is random() * min(cap, base * 2**(n-1)) (full jitter)."""
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=4.0, jitter=jitter)
    await call(clock, *[reply(503)] * 4, reply(200), policy=policy, jitter=lambda: random_value)
    assert sleeps == clock.slept


async def test_jittered_backoff_stays_within_its_bounds(clock: FakeClock) -> None:
    """With a real random source every wait lies in [0, min(cap, base * 2**(n-1))]."""
    policy = RetryPolicy(max_attempts=10, backoff_base=0.5, backoff_cap=20.0)
    source = random.Random(7)
    await call(clock, *[reply(503)] * 9, reply(200), policy=policy, jitter=source.random)
    ceilings = [min(20.0, 0.5 * 2**n) for n in range(9)]
    assert 9 == len(clock.slept)
    assert all(
        0.0 <= slept <= ceiling for slept, ceiling in zip(clock.slept, ceilings, strict=True)
    )
    assert len(set(clock.slept)) == 9  # really random, not a constant


@pytest.mark.parametrize(
    ("status", "header", "seconds"),
    [
        pytest.param(429, "3", 3.0, id="429-seconds"),
        pytest.param(429, "1.5", 1.5, id="429-decimal"),
        pytest.param(429, "date", 7.0, id="429-http-date"),
        pytest.param(503, "4", 4.0, id="503-seconds"),
    ],
)
async def test_retry_after_is_honoured(
    clock: FakeClock, status: int, header: str, seconds: float
) -> None:
    """Without a limiter, the loop sleeps what Retry-After says, not the backoff."""
    if header == "date":
        header = email.utils.formatdate(clock.wall() + seconds, usegmt=True)
    result, script = await call(clock, reply(status, headers={"Retry-After": header}), reply(200))
    assert ("ok", [seconds], [0.0, seconds]) == (result, clock.slept, script.times)


async def test_a_429_without_retry_after_backs_off(clock: FakeClock) -> None:
    """A 429 that does not say how long to wait gets the ordinary backoff."""
    await call(clock, reply(429), reply(200))
    assert [0.25] == clock.slept


async def test_a_retry_after_beyond_the_policy_raises_at_once(clock: FakeClock) -> None:
    """Retry-After > max_retry_after raises the RateLimitError, carrying it, without sleeping."""
    raised, script = await failed_call(
        clock, limited(429, retry_after="120"), reply(200), policy=RetryPolicy(max_retry_after=60)
    )
    assert isinstance(raised, RateLimitError)
    assert (120.0, 1, []) == (raised.retry_after, len(script.calls), clock.slept)
    assert raised.retry_at is not None


async def test_with_a_limiter_the_429_wait_happens_in_acquire(clock: FakeClock) -> None:
    """The limiter's freeze does the waiting: the retry goes at Retry-After, not twice that."""
    limiter = TokenBucketLimiter(clock=clock)
    result, script = await call(clock, limited(429, retry_after="3"), limited(200), limiter=limiter)
    assert ("ok", [0.0, 3.0], 3.0) == (result, script.times, clock.monotonic())


async def test_with_a_limiter_a_429_without_retry_after_waits_the_limiter_default(
    clock: FakeClock,
) -> None:
    """A bare 429 pauses the key for the limiter's default, and the loop adds no backoff."""
    limiter = TokenBucketLimiter(clock=clock, default_retry_after=2.0)
    _, script = await call(clock, limited(429), limited(200), limiter=limiter)
    assert [0.0, 2.0] == script.times


async def test_with_a_limiter_a_lost_probe_does_not_hold_the_retry(clock: FakeClock) -> None:
    """A first request that dies on the wire does not make its own retry wait for the probe."""
    limiter = TokenBucketLimiter(clock=clock)
    _, script = await call(
        clock, APIConnectionError("reset"), limited(200, remaining=9), limiter=limiter
    )
    assert [0.0, 0.25] == script.times


# -- the deadline -----------------------------------------------------------------------------


async def test_each_attempt_gets_the_time_left(clock: FakeClock) -> None:
    """`send` is told the seconds left of the whole call."""
    policy = RetryPolicy(backoff_base=2.0, jitter=False)
    _, script = await call(clock, reply(503), reply(200), policy=policy, total=10.0)
    assert [(0.0, 10.0), (2.0, 8.0)] == script.calls


async def test_the_deadline_covers_backoff_sleeps(clock: FakeClock) -> None:
    """A backoff the time left cannot cover ends the call at once with APITimeoutError."""
    policy = RetryPolicy(backoff_base=2.0, jitter=False)
    raised, script = await failed_call(
        clock, reply(503), reply(503), reply(200), policy=policy, total=5.0
    )
    assert isinstance(raised, APITimeoutError)
    assert f"{DESCRIPTION}: deadline of 5s exceeded after 2 attempts" == str(raised)
    assert (InternalServerError, 2.0, 2) == (
        type(raised.__cause__),
        clock.monotonic(),
        len(script.calls),
    )


@pytest.mark.parametrize("with_limiter", [False, True], ids=["sleeping", "limiter"])
async def test_the_deadline_covers_retry_after(clock: FakeClock, with_limiter: bool) -> None:
    """A Retry-After longer than the time left ends the call at once, chained to the 429."""
    limiter = TokenBucketLimiter(clock=clock) if with_limiter else None
    raised, _ = await failed_call(
        clock, limited(429, retry_after="30"), reply(200), limiter=limiter, total=10.0
    )
    assert isinstance(raised, APITimeoutError)
    assert (RateLimitError, 0.0) == (type(raised.__cause__), clock.monotonic())


async def test_the_deadline_covers_limiter_waits(clock: FakeClock) -> None:
    """A limiter that cannot grant within the time left ends the call when the time is up."""
    limiter = TokenBucketLimiter(clock=clock, window=10.0)
    await call(
        clock,
        reply(200, headers={"X-RateLimit-Limit": "1", "X-RateLimit-Remaining": "0"}),
        limiter=limiter,
    )
    raised, script = await failed_call(clock, reply(200), limiter=limiter, total=5.0)
    assert isinstance(raised, APITimeoutError)
    assert (f"{DESCRIPTION}: deadline of 5s exceeded after 0 attempts", 5.0, []) == (
        str(raised),
        clock.monotonic(),
        script.calls,
    )


# -- logging ----------------------------------------------------------------------------------


async def test_each_retry_logs_one_info_line(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """One INFO line per retry: route template, wait, next attempt and reason."""
    caplog.set_level(logging.DEBUG, logger="aelyst_async")
    await call(
        clock,
        reply(503, SECRET_BODY),
        APIConnectionError("reset"),
        APITimeoutError("slow"),
        reply(200, b"cut"),
        reply(200),
    )
    expected = [
        f"retrying {DESCRIPTION} in 0.25s (attempt 2 of 5): HTTP 503",
        f"retrying {DESCRIPTION} in 0.50s (attempt 3 of 5): connection error",
        f"retrying {DESCRIPTION} in 1.00s (attempt 4 of 5): timeout",
        f"retrying {DESCRIPTION} in 2.00s (attempt 5 of 5): invalid body",
    ]
    assert expected == [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert {"aelyst_async"} == {r.name for r in caplog.records}


async def test_a_limiter_wait_is_logged_as_such(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """With a limiter, the line names Retry-After as the wait, or the limiter when unknown."""
    caplog.set_level(logging.INFO, logger="aelyst_async")
    limiter = TokenBucketLimiter(clock=clock)
    await call(clock, limited(429, retry_after="3"), limited(429), limited(200), limiter=limiter)
    expected = [
        f"retrying {DESCRIPTION} in 3.00s (attempt 2 of 5): HTTP 429",
        f"retrying {DESCRIPTION} when the rate limiter allows (attempt 3 of 5): HTTP 429",
    ]
    assert expected == caplog.messages


async def test_success_logs_nothing(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    """The happy path writes nothing at INFO or above."""
    caplog.set_level(logging.DEBUG, logger="aelyst_async")
    await call(clock, reply(200), limiter=TokenBucketLimiter(clock=clock))
    assert [] == [r for r in caplog.records if r.levelno >= logging.INFO]


async def test_logs_never_carry_a_body_a_token_or_an_identifier(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing of the body (which may echo the identifier or a token) reaches the log."""
    caplog.set_level(logging.DEBUG, logger="aelyst_async")
    await failed_call(clock, *[reply(503, SECRET_BODY)] * 5, policy=RetryPolicy(max_attempts=5))
    assert 4 == len(caplog.records)
    for leak in ("+60121233112", "sk-live", "busy", "Bearer"):
        assert leak not in caplog.text


async def test_a_slow_decode_of_a_large_body_cannot_hold_the_call_past_its_deadline() -> None:
    """CPU-heavy decoding: the call raises APITimeoutError at its deadline, decode or not."""
    clock = FakeClock()  # manual: time moves only when the test says so
    loop = asyncio.get_running_loop()
    started = asyncio.Event()
    release = threading.Event()

    def slow_decode(response: Response, rate_limit: RateLimit) -> str:
        loop.call_soon_threadsafe(started.set)
        release.wait(30)  # stands for seconds of CPU: it ends only when the test says so
        return "late"

    call_task = asyncio.create_task(
        call_with_retries(
            Script(clock, [reply(body=b"x" * THREADED_DECODE_BYTES)]),
            slow_decode,
            policy=RetryPolicy(),
            limiter=None,
            key=KEY,
            clock=clock,
            total=10.0,
            description=DESCRIPTION,
        )
    )
    await started.wait()  # the decode runs in its thread
    assert (10.0,) == clock.sleepers  # and the deadline is armed
    await clock.advance(10.0)
    try:
        with pytest.raises(APITimeoutError, match="deadline of 10s exceeded"):
            await call_task
    finally:
        release.set()


async def test_a_small_body_is_decoded_in_the_loop(clock: FakeClock) -> None:
    """Below THREADED_DECODE_BYTES there is no thread: the decode runs inline."""
    result, _ = await call(clock, reply(body=b"small"), total=10.0)
    assert "small" == result


async def test_the_limiter_is_told_a_retry_after_capped_at_the_policy(clock: FakeClock) -> None:
    """Retry-After 1e9 raises RateLimitError carrying it, but pauses the key max_retry_after."""
    limiter = TokenBucketLimiter(clock=clock)
    error, _ = await failed_call(
        clock, limited(429, "1000000000"), policy=RetryPolicy(max_retry_after=30), limiter=limiter
    )
    assert isinstance(error, RateLimitError)
    assert 1e9 == error.retry_after
    frozen_until = limiter.snapshot(KEY).frozen_until
    assert frozen_until is not None
    assert 30 == pytest.approx(frozen_until - clock.monotonic())


async def test_a_key_paused_past_the_deadline_raises_rate_limit_error_at_once(
    clock: FakeClock,
) -> None:
    """No attempt is made; the error says when the pause ends instead of 'deadline exceeded'."""
    limiter = TokenBucketLimiter(clock=clock)
    limiter.observe(KEY, 429, RateLimit(limit=10, remaining=0, retry_after=50.0))
    script = Script(clock, [reply()])
    with pytest.raises(RateLimitError) as info:
        await run(script, policy=None, limiter=limiter, total=10.0, jitter=lambda: 0.5)
    assert ([], 50.0) == (script.calls, info.value.retry_after)
    assert info.value.retry_at is not None
    assert 0 == clock.monotonic()


async def test_without_a_deadline_a_paused_call_waits_out_the_pause_only(clock: FakeClock) -> None:
    """Timeout(total=None): the call waits the pause, and no longer."""
    limiter = TokenBucketLimiter(clock=clock)
    limiter.observe(KEY, 429, RateLimit(limit=10, remaining=0, retry_after=50.0))
    result, script = await call(clock, reply(), limiter=limiter, total=None)
    assert ("ok", [50.0]) == (result, script.times)
