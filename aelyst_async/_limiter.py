"""
Client-side rate limiting: a token bucket per key, taught by the API's rate-limit headers.

Rules (of `TokenBucketLimiter`; one bucket per key, a key being what the client chooses,
`(route template, token fingerprint)`):

1. Conservative start. A new bucket is *probing*: one request at a time (the probe) until a
   response teaches it. A response with `X-RateLimit-Limit` makes it *metered*; a 2xx without
   the header makes it *unmetered* (no pacing; 429s still pause it). Other responses without
   the header (a 429, a 5xx from a proxy, a 401 from an auth layer) say nothing about the
   quota: they end the probe and the next waiter probes. A probe also ends when the task
   holding it asks again (its request ended without a response and the retry loop is back),
   when that task finishes, or after `probe_timeout` seconds, so a lost probe cannot stall
   the key.
2. Metered. Capacity is `Limit`; the bucket refills continuously at `Limit / window` tokens
   per second; one request takes one token. On learning, the tokens are set to `Remaining`
   (0 when absent). A new `Limit` resizes the bucket. A metered bucket stays metered: a later
   response without the headers teaches nothing.
3. In flight. A request granted less than `window / 2` ago and not answered yet may not have
   reached the server, which then has not counted it: tokens never accrue above
   `capacity - in flight`. So the limiter never believes in more than the server holds: a
   server bucket of the same capacity and rate refuses none of its requests, whatever the
   latencies, as long as each request reaches the server within `window / 2` and nobody
   else spends the quota. A client pacing at the refill rate has at most `capacity / 2`
   requests in flight, so the ceiling only ever trims bursts, never steady pacing. An answer
   is counted against the oldest request in flight (answers overtake each other).
4. Correction, downward only and with one token of slack: when `Remaining < tokens - 1`, the
   tokens drop to `Remaining`. A response's `Remaining` is the floor of what the server held
   when it processed that request, some time before now, and concurrent answers arrive out
   of order; a paced client holds less than one whole token whenever an answer arrives, so
   a lone client is never corrected and pacing keeps its fractional progress. Another
   consumer of the same quota (a second process with the same token) is caught.
5. Freeze. A 429, or any error status with `Retry-After`, pauses the bucket until
   `now + Retry-After` (a 429 without it: `default_retry_after`), never shortening a freeze
   already in place, and empties it. Every waiter stays paused until then, and a waiter
   whose deadline falls inside the freeze fails at once. A metered bucket resumes with one
   token at the end of the freeze and paces from there (nothing accrues during the freeze,
   so there is no burst); a probing one resumes with one probe; an unmetered one, just told
   it is limited after all, becomes adaptive (rule 10). A waiter refused because of the freeze
   gets a `KeyPausedError` (a `TimeoutError`) that says when the freeze ends.
   The freeze is bounded by the call that saw the header: the retry loop reports a
   `Retry-After` to `observe()` capped at the `max_retry_after` of that call's retry policy,
   so a server asking for 1e9 seconds pauses the shared key for at most that, and later
   calls and other clients on the limiter are not bricked. `clear_freeze()` ends a freeze
   at once, for an operator who knows better.
6. Fairness. Waiters are served strictly first in, first out, across probes and freezes.
   The head of the queue sleeps on the clock until its token is due and wakes early when
   `observe()` changes the bucket; the others wait to become the head.
7. Cancel-safe. A cancelled waiter leaves the queue and consumes nothing: a token (or the
   probe) handed to it just before the cancellation goes to the next waiter.
8. All state lives on one event loop (nothing here is thread-safe), and nothing here
   imports aiohttp.
9. Window. `X-RateLimit-Reset` (seconds until the quota resets) sets the window: the
   longest `Reset` seen is the window, so a bucket refills at `Limit / longest Reset`
   (a `Reset` read mid-window is shorter than the window; one read just after a reset is
   the whole of it). Without `Reset`, the window is the limiter's `window` argument.
10. Adaptation, when no `Reset` was ever seen (the window is a guess). A 429 that arrives
    while the key is not frozen (a refusal despite pacing, not an echo of one already
    known) halves the refill rate (multiplicative decrease); when the server admitted less
    than half the rate since the previous cut (measured over one `window` at least, pauses
    left out), the rate is cut to half of what it admitted instead, so that a quota far
    below the guess is found in one or two refusals. Every later answer
    without an error adds back `1 / 64` of the rate set by the cut, up to `Limit / window`
    (additive increase: 64 clean answers restore the rate the cut halved). A key that
    sends no rate-limit header at all (unmetered) is paced the same way after its first
    429, as an *adaptive* bucket whose capacity is what it refills in one `window`.
"""

from __future__ import annotations

import asyncio
import collections
import math
from collections.abc import Hashable
from typing import Literal, Protocol

import attrs

from ._checks import check_clock, check_seconds
from ._clock import Clock
from ._models import RateLimit

__all__ = [
    "INCREASE_STEPS",
    "MIN_RATE",
    "TRANSIT_FRACTION",
    "BucketState",
    "KeyPausedError",
    "RateLimiter",
    "TokenBucketLimiter",
    "timeout_message",
]

BucketMode = Literal["probing", "metered", "unmetered", "adaptive"]
"""What a bucket knows of its quota (module rules 1, 2 and 10)."""

TRANSIT_FRACTION = 0.5
"""A request granted longer ago than this fraction of `window` is taken to have reached the
server (module rule 3): long enough for any sane request to arrive, short enough that a paced
client never has more than half the capacity in flight."""

INCREASE_STEPS = 64
"""Clean answers after a cut that bring the refill rate back to where it was cut from
(module rule 10): each adds `1 / INCREASE_STEPS` of the rate the cut set."""

MIN_RATE = 1.0 / 86_400
"""The slowest a bucket is ever paced, in requests per second (one a day)."""

_EPSILON = 1e-9
"""Tolerance on a whole token, so float rounding in the refill cannot leave a waiter
sleeping for a vanishing remainder (a delay too small to move the clock)."""


class KeyPausedError(TimeoutError):
    """
    `acquire()` cannot grant within its timeout because the key is paused (module rule 5).

    A limiter of your own may raise any `TimeoutError` with a `retry_after` attribute: the
    call then raises `RateLimitError` carrying `retry_after` and `retry_at`, not a timeout.

    Attributes:
        retry_after: Seconds until the pause ends.
    """

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter(Protocol):
    """
    What a client needs of a rate limiter: pass one as `AelystClient(rate_limiter=...)`.

    Contract: `acquire()` is awaited before every request and `observe()` is called with
    every response, 429 included. A response that carries `Retry-After` (or any 429) must
    pause the key until then inside `acquire()`: the retry loop does not sleep on top of it.
    """

    async def acquire(self, key: Hashable, *, timeout: float | None = None) -> None:
        """
        Wait for permission to send one request on `key`.

        Args:
            key: What the quota is counted on, chosen by the client.
            timeout: Seconds to wait at most; `None` waits as long as it takes.

        Raises:
            TimeoutError: When permission cannot be had within `timeout` seconds; with a
                `retry_after` attribute (as `KeyPausedError`) when the key is paused.
        """
        ...

    def observe(self, key: Hashable, status: int, rate_limit: RateLimit) -> None:
        """
        Learn from one response on `key`.

        Args:
            key: The key the request was acquired on.
            status: The HTTP status of the response.
            rate_limit: The rate-limit headers of the response.
        """
        ...


@attrs.frozen(kw_only=True)
class BucketState:
    """
    A snapshot of one key's bucket.

    Attributes:
        mode: `"probing"` (nothing learned yet: one request at a time), `"metered"`,
            `"unmetered"` (module rules 1 and 2), or `"adaptive"` (no headers, but refused:
            paced at an estimated rate, module rule 10).
        learned: Whether a response has taught the bucket (metered or unmetered).
        capacity: The learned `X-RateLimit-Limit` (when adaptive: the estimate), or `None`.
        rate: The refill rate in requests per second, or `None` when not paced.
        window: The quota window in seconds learned from `X-RateLimit-Reset`, or `None`
            while none was seen (module rule 9).
        tokens: Requests that may start now: fractional when metered, `1.0` or `0.0` while
            probing (probe free or taken), `math.inf` when unmetered; `0.0` while frozen.
        frozen_until: The clock's `monotonic()` time the bucket is paused until, or `None`
            when it is not paused now.
        waiting: Tasks waiting in `acquire()`.
        in_flight: Requests granted less than `window / 2` seconds ago and not answered yet
            (module rule 3).
    """

    mode: BucketMode
    learned: bool
    capacity: int | None
    rate: float | None
    tokens: float
    frozen_until: float | None
    waiting: int
    in_flight: int
    window: float | None = None


class _Waiter:
    """
    One task in a bucket's queue.
    """

    __slots__ = ("granted", "granted_at", "signal", "task")

    def __init__(self) -> None:
        self.task = asyncio.current_task()
        self.granted = False
        self.granted_at = 0.0
        self.signal: asyncio.Future[None] | None = None

    def grant(self, now: float) -> None:
        """
        Mark the waiter served at `now`: it holds a token, the probe, or (unmetered) nothing.
        """
        self.granted, self.granted_at = True, now

    def wake(self) -> None:
        if self.signal is not None and not self.signal.done():
            self.signal.set_result(None)

    async def wait(self, clock: Clock, delay: float | None) -> None:
        """
        Sleep `delay` seconds on `clock` (forever when `None`), or less when woken.
        """
        signal: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.signal = signal

        def on_timer(_: object) -> None:
            if not signal.done():
                signal.set_result(None)

        timer = None
        if delay is not None:
            timer = asyncio.ensure_future(clock.sleep(delay))
            timer.add_done_callback(on_timer)
        try:
            await signal
        finally:
            self.signal = None
            if timer is not None:
                timer.cancel()


class _Bucket:
    """
    The state of one key (module rules 1 to 7); every method takes the current time.
    """

    def __init__(self, limiter: TokenBucketLimiter) -> None:
        self.window = limiter.window
        self.transit = limiter.window * TRANSIT_FRACTION
        self.limiter = limiter
        self.mode: BucketMode = "probing"
        self.capacity = 0
        self.rate = 0.0
        # Rules 9 and 10: the window learned from Reset, and the adaptation's state.
        self.window_known = False
        self.estimated = False  # capacity and rate guessed: no rate-limit header seen
        self.step = 0.0  # rate added back per clean answer; 0 when no cut is in force
        self.cut_at = -math.inf
        self.answered = 0  # answers without error since `cut_at`
        self.tokens = 0.0
        self.updated_at = -math.inf
        self.frozen_until = -math.inf
        self.waiters: collections.deque[_Waiter] = collections.deque()
        # Rule 3: when each request in flight was granted, oldest first, for `window / 2`.
        self.sent: collections.deque[float] = collections.deque()
        self.aged_unanswered = 0
        self.probe_taken = False
        self.probe_expires = -math.inf
        self.probe_owner: asyncio.Task[object] | None = None

    # -- time -------------------------------------------------------------------------------

    def advance(self, now: float) -> None:
        """
        Bring the bucket to `now`: grants older than `window / 2` stop counting as in flight,
        and tokens accrue under a ceiling that rises as each one does (rules 2 and 3).
        """
        while self.sent and self.sent[0] + self.transit <= now:
            self.accrue(self.sent[0] + self.transit)
            self.sent.popleft()
            self.aged_unanswered += 1
        self.accrue(now)

    def accrue(self, until: float) -> None:
        """
        Refill up to `until`; nothing accrues while frozen, and a freeze ends with one token
        (rule 5).
        """
        if not self.paced() or until < self.frozen_until:
            return
        start = max(self.updated_at, self.frozen_until - 1.0 / self.rate)
        if until > start:
            grown = min(self.ceiling(), self.tokens + (until - start) * self.rate)
            self.tokens = max(self.tokens, grown)
            self.updated_at = until

    def paced(self) -> bool:
        """
        Whether the bucket paces on tokens: metered, or adaptive (rules 2 and 10).
        """
        return self.mode in ("metered", "adaptive")

    def ceiling(self) -> float:
        """
        The most tokens the bucket may hold now: capacity less the requests in flight.
        """
        return float(self.capacity - len(self.sent))

    def available(self, now: float) -> float:
        """
        Requests that may start now (see `BucketState.tokens`).
        """
        self.advance(now)
        if now < self.frozen_until:
            return 0.0
        if self.mode == "unmetered":
            return math.inf
        if self.mode == "probing":
            return 0.0 if self.probe_taken and now < self.probe_expires else 1.0
        return self.tokens

    def delay(self, now: float) -> float:
        """
        Seconds until the head of the queue could be served, if nothing else changes.
        """
        if now < self.frozen_until:
            return self.frozen_until - now
        if self.mode == "probing":
            return max(0.0, self.probe_expires - now)
        if self.mode == "unmetered":
            return 0.0
        if self.ceiling() < 1.0 - _EPSILON and self.sent:
            return max(0.0, self.sent[0] + self.transit - now)
        return max(0.0, (1.0 - self.tokens) / self.rate)

    # -- serving the queue ------------------------------------------------------------------

    def dispatch(self, now: float) -> None:
        """
        Hand out what is available to the queue, first come first served, and wake the
        waiters served and the new head.
        """
        served = False
        while self.waiters and self.available(now) >= 1.0 - _EPSILON:
            waiter = self.waiters.popleft()
            self.take(waiter, now)
            waiter.wake()
            served = True
        if served and self.waiters:
            self.waiters[0].wake()

    def take(self, waiter: _Waiter, now: float) -> None:
        """
        Hand `waiter` one request's worth: a token, the probe, or (unmetered) nothing.
        """
        waiter.grant(now)
        self.sent.append(now)
        if self.paced():
            self.tokens = max(0.0, self.tokens - 1.0)
        elif self.mode == "probing":
            self.release_probe()
            self.probe_taken = True
            self.probe_expires = now + self.limiter.probe_timeout
            self.probe_owner = waiter.task
            if waiter.task is not None:
                waiter.task.add_done_callback(self.on_owner_done)

    def join(self, waiter: _Waiter) -> None:
        """
        Put a waiter at the end of the queue (rule 6).
        """
        self.waiters.append(waiter)

    def leave(self, waiter: _Waiter, now: float) -> None:
        """
        Take out a waiter that stops waiting (cancelled, timed out): what it was handed goes
        back, and the queue moves on (rule 7).
        """
        if waiter.granted:
            self.give_back(waiter, now)
        else:
            self.waiters.remove(waiter)
        self.dispatch(now)
        if self.waiters:
            self.waiters[0].wake()

    def unfreeze(self, now: float) -> None:
        """
        End a freeze now, as if it had ended by itself, and wake every waiter (rule 5).
        """
        if now >= self.frozen_until:
            return
        self.frozen_until = now
        self.dispatch(now)
        self.wake(everyone=True)

    def wake(self, *, everyone: bool) -> None:
        """
        Wake the head of the queue to look again, or every waiter (a freeze that changed).
        """
        if everyone:
            for waiter in self.waiters:
                waiter.wake()
        elif self.waiters:
            self.waiters[0].wake()

    def give_back(self, waiter: _Waiter, now: float) -> None:
        """
        Return what a waiter was handed and did not use (rule 7).
        """
        self.advance(now)
        if waiter.granted_at in self.sent:
            self.sent.remove(waiter.granted_at)
        elif self.aged_unanswered:
            self.aged_unanswered -= 1
        if self.paced() and now >= self.frozen_until:
            self.tokens = min(max(self.tokens, self.ceiling()), self.tokens + 1.0)
        elif self.mode == "probing" and self.probe_owner is waiter.task:
            self.release_probe()

    def release_probe(self) -> None:
        if self.probe_owner is not None:
            self.probe_owner.remove_done_callback(self.on_owner_done)
        self.probe_taken = False
        self.probe_expires = -math.inf
        self.probe_owner = None

    def on_owner_done(self, task: asyncio.Task[object]) -> None:
        if self.probe_owner is task:
            self.release_probe()
            self.dispatch(self.limiter.clock.monotonic())

    # -- learning ---------------------------------------------------------------------------

    def learn(self, status: int, rate_limit: RateLimit, now: float) -> bool:
        """
        Update the bucket from one response (rules 1 to 5).

        Returns:
            Whether the freeze was extended.
        """
        self.advance(now)
        # Rule 3: the answer is taken for the oldest request in flight; an answer for one
        # that already aged out must not free the place of one still on its way.
        if self.aged_unanswered:
            self.aged_unanswered -= 1
        elif self.sent:
            self.sent.popleft()
        if self.mode == "probing":
            self.release_probe()
        limit = rate_limit.limit
        if limit is not None and limit >= 1:
            self.meter(limit, rate_limit.remaining, now)
        elif self.mode == "probing" and 200 <= status < 300:
            self.mode = "unmetered"
            self.cut_at, self.answered = now, 0
        self.adapt(status, rate_limit.reset, now)
        retry_after = rate_limit.retry_after
        if status == 429 and retry_after is None:
            retry_after = self.limiter.default_retry_after
        if status < 400 or retry_after is None:
            return False
        self.empty()
        if now + retry_after <= self.frozen_until:
            return False
        self.frozen_until = now + retry_after
        return True

    def meter(self, limit: int, remaining: int | None, now: float) -> None:
        """
        Learn or resize the quota, and correct the tokens (rules 2 and 4).
        """
        if self.mode != "metered":
            self.mode, self.capacity, self.rate = "metered", limit, limit / self.window
            self.estimated, self.step, self.cut_at, self.answered = False, 0.0, now, 0
            self.tokens = max(0.0, min(float(remaining or 0), self.ceiling()))
            self.updated_at = now
            if now < self.frozen_until:
                self.empty()
            return
        if limit != self.capacity:
            scaled = self.rate * limit / self.capacity  # a cut in force keeps its proportion
            self.capacity = limit
            self.set_rate(scaled if self.step else self.top())
            self.tokens = max(0.0, min(self.tokens, self.ceiling()))
        if remaining is not None and remaining < self.tokens - 1.0:
            self.tokens = float(max(0, remaining))

    def top(self) -> float:
        """
        The fastest the bucket may refill: `Limit / window`, unbounded when adaptive.
        """
        return math.inf if self.estimated else self.capacity / self.window

    def set_rate(self, rate: float) -> None:
        """
        Pace at `rate` (at most `top()`); an adaptive bucket holds one window's worth.
        """
        self.rate = max(MIN_RATE, min(rate, self.top()))
        if self.rate >= self.top():
            self.step = 0.0
        if self.estimated:
            self.capacity = max(1, math.floor(self.rate * self.window + _EPSILON))

    def adapt(self, status: int, reset: float | None, now: float) -> None:
        """
        Learn the window from `Reset`, or adapt the rate to the answers (rules 9 and 10).
        """
        if reset is not None and reset > 0 and (not self.window_known or reset > self.window):
            self.window, self.window_known = reset, True
            if self.mode == "metered":
                self.step = 0.0
                self.set_rate(self.top())
        if status < 400:
            self.answered += 1
            if self.step and self.paced():
                self.set_rate(self.rate + self.step)
            return
        fresh = now >= self.frozen_until
        if status != 429 or not fresh or self.window_known or self.mode == "probing":
            return
        # What the server admitted since the last cut, its pause left out.
        admitted = self.answered / max(now - max(self.cut_at, self.frozen_until), self.window)
        if self.mode == "unmetered":
            self.mode, self.estimated, self.rate = "adaptive", True, math.inf
            self.updated_at, self.tokens = now, 0.0
        base = admitted if self.answered and admitted < self.rate / 2.0 else self.rate
        self.set_rate((base if math.isfinite(base) else 1.0 / self.window) / 2.0)
        self.step = self.rate / INCREASE_STEPS
        self.cut_at, self.answered = now, 0

    def empty(self) -> None:
        """
        No tokens, and none accrue before the end of the freeze (rule 5).
        """
        self.tokens = 0.0
        self.updated_at = -math.inf

    def state(self, now: float) -> BucketState:
        tokens = self.available(now)
        frozen = now < self.frozen_until
        return BucketState(
            mode=self.mode,
            learned=self.mode != "probing",
            capacity=self.capacity if self.paced() else None,
            rate=self.rate if self.paced() else None,
            window=self.window if self.window_known else None,
            tokens=tokens,
            frozen_until=self.frozen_until if frozen else None,
            waiting=len(self.waiters),
            in_flight=len(self.sent),
        )


class TokenBucketLimiter:
    """
    The default `RateLimiter`: a token bucket per key, taught by the rate-limit headers.

    One limiter is shared by every task of a client and may be shared by several clients
    (of one event loop) to pace a quota they share. See the module rules for the semantics.

    Args:
        window: Seconds over which `X-RateLimit-Limit` requests are allowed: a learned
            bucket refills at `Limit / window` requests per second.
        clock: The clock to pace on (default: the system clock).
        default_retry_after: Seconds to pause a key after a 429 without `Retry-After`
            (default: `window`).
        probe_timeout: Seconds after which an unanswered probe no longer holds back the
            other requests of a key still being learned.

    Raises:
        InvalidArgumentError: When a duration is not a positive number, or `clock` not a clock.

    Example:
        ```python
        limiter = TokenBucketLimiter(window=1.0)
        async with (
            AelystClient(token, rate_limiter=limiter) as reader,
            AelystClient(token, rate_limiter=limiter) as exporter,
        ):
            ...  # both pace on one bucket per route and token
        ```
    """

    def __init__(
        self,
        *,
        window: float = 1.0,
        clock: Clock | None = None,
        default_retry_after: float | None = None,
        probe_timeout: float = 10.0,
    ) -> None:
        self.window = check_seconds("TokenBucketLimiter.window", window, positive=True)
        self.clock: Clock = check_clock("TokenBucketLimiter.clock", clock)
        self.default_retry_after = check_seconds(
            "TokenBucketLimiter.default_retry_after",
            window if default_retry_after is None else default_retry_after,
            positive=True,
        )
        self.probe_timeout = check_seconds(
            "TokenBucketLimiter.probe_timeout", probe_timeout, positive=True
        )
        self._buckets: dict[Hashable, _Bucket] = {}

    async def acquire(self, key: Hashable, *, timeout: float | None = None) -> None:
        """
        Wait for permission to send one request on `key` (module rules 1, 5, 6, 7).

        Args:
            key: What the quota is counted on.
            timeout: Seconds to wait at most; `None` waits as long as it takes.

        Raises:
            TimeoutError: When permission cannot be had within `timeout` seconds;
                `KeyPausedError`, at once, when the key is frozen past that time.
        """
        bucket = self._bucket(key)
        now = self.clock.monotonic()
        deadline = None if timeout is None else now + max(0.0, timeout)
        if bucket.probe_owner is not None and bucket.probe_owner is asyncio.current_task():
            bucket.release_probe()  # the owner's last request ended without a response
        waiter = _Waiter()
        bucket.join(waiter)
        try:
            while True:
                bucket.dispatch(now)
                if waiter.granted:
                    return
                if deadline is not None and (now >= deadline or bucket.frozen_until > deadline):
                    if now < bucket.frozen_until:
                        raise KeyPausedError(
                            timeout_message(timeout, frozen=True),
                            retry_after=bucket.frozen_until - now,
                        )
                    raise TimeoutError(timeout_message(timeout, frozen=False))
                delay = bucket.delay(now) if bucket.waiters[0] is waiter else None
                if deadline is not None:
                    delay = deadline - now if delay is None else min(delay, deadline - now)
                await waiter.wait(self.clock, delay)
                now = self.clock.monotonic()
        except BaseException:
            bucket.leave(waiter, self.clock.monotonic())
            raise

    def observe(self, key: Hashable, status: int, rate_limit: RateLimit) -> None:
        """
        Learn from one response on `key` (module rules 1 to 5).

        Args:
            key: The key the request was acquired on.
            status: The HTTP status of the response.
            rate_limit: The rate-limit headers of the response.
        """
        bucket = self._bucket(key)
        now = self.clock.monotonic()
        extended = bucket.learn(status, rate_limit, now)
        bucket.dispatch(now)
        bucket.wake(everyone=extended)

    def clear_freeze(self, key: Hashable | None = None) -> None:
        """
        End a pause at once (module rule 5): for an operator who knows the server's
        `Retry-After` was wrong. The key resumes as a freeze ending now would: a metered
        bucket with one token, a probing one with one probe.

        Args:
            key: The key to unfreeze; `None` unfreezes every key.

        Example:
            ```python
            limiter = TokenBucketLimiter()
            limiter.clear_freeze()  # every key may send again now
            ```
        """
        now = self.clock.monotonic()
        buckets = self._buckets.values() if key is None else [self._buckets.get(key)]
        for bucket in buckets:
            if bucket is not None:
                bucket.unfreeze(now)

    def snapshot(self, key: Hashable) -> BucketState:
        """
        The current state of `key`'s bucket.

        Args:
            key: The key to look at.

        Returns:
            A frozen snapshot; for a key never used, a fresh probing bucket.
        """
        bucket = self._buckets.get(key) or _Bucket(self)
        return bucket.state(self.clock.monotonic())

    def _bucket(self, key: Hashable) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self)
        return bucket

    def __repr__(self) -> str:
        return f"TokenBucketLimiter(window={self.window!r}, keys={len(self._buckets)})"


def timeout_message(timeout: float | None, *, frozen: bool) -> str:
    """
    The message of the `TimeoutError` (or `KeyPausedError`, when `frozen`) of `acquire()`.
    """
    why = " (the key is paused after a 429 or Retry-After)" if frozen else ""
    return f"no rate-limit permission within {timeout or 0.0:g}s{why}"
