"""
A rate limiter whose buckets live in Redis: one quota shared by every process and host.

Rules (the rules of `TokenBucketLimiter`, module `_limiter`, with the state in Redis; the
scripts and the layout of the keys are in `_redis_scripts`):

1. Shared state. Each quota key is a Redis hash and a sorted set of the requests in flight,
   changed only by Lua scripts, atomically, on the Redis server's clock: hosts' clocks
   never meet. The keys are namespaced and expire when unused.
2. Two round trips per request. `acquire()` runs one script, which reserves the next token
   (possibly a little in the future: the process sleeps until it is due); `observe()` runs
   one, in the background, which teaches the bucket. More only while a key is being
   learned (the other processes ask again every `poll` seconds while one probes) or
   paused (a waiter asks again when the pause ends).
3. First come, first served within a process: one waiter per key at a time talks to Redis
   and holds a reservation (an `asyncio.Lock`, which is fair). So a process killed
   mid-run holds at most one reserved token and its requests in flight, each of which
   stops counting `window / 2` after it was due.
4. Pauses. A 429 or `Retry-After` pauses the key in Redis: every process's next
   reservation waits for the end of the pause. In the process that saw it, the waiter
   asleep on a reservation wakes and reserves again.
5. Cancel-safe. A waiter cancelled after its reservation gives it back (one script, in the
   background); one cancelled while its script was on the wire may cost one token, which
   time gives back.
6. Redis unreachable (an error or no answer within `operation_timeout`): the limiter
   paces on its own `TokenBucketLimiter` (in-process pacing, the quota no longer shared),
   logs one WARNING, and tries Redis again after `retry_interval` seconds; when Redis
   answers, it logs one INFO line and shares again. A restarted Redis has lost the keys:
   the key is learned again from the next answers (redis-py loads the scripts again).
   Nothing here waits on Redis longer than `operation_timeout`, and no Redis error
   reaches the caller.
7. All state of the process lives on one event loop; nothing here imports aiohttp.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import os
import uuid
from collections.abc import Awaitable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs

from . import _redis_scripts
from ._checks import check_clock, check_methods, check_seconds, check_text
from ._clock import Clock
from ._exceptions import InvalidArgumentError
from ._limiter import (
    INCREASE_STEPS,
    MIN_RATE,
    TRANSIT_FRACTION,
    KeyPausedError,
    TokenBucketLimiter,
    timeout_message,
)
from ._logs import LOGGER_NAME
from ._models import RateLimit

try:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError
except ImportError as error:  # pragma: no cover - the extra is installed for the tests
    raise ImportError(
        "RedisRateLimiter needs redis-py: pip install 'aelyst-async[redis]'"
    ) from error

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

__all__ = ["RedisLimiterStats", "RedisRateLimiter"]

_LOGGER = logging.getLogger(LOGGER_NAME)

T = TypeVar("T")


@attrs.define(kw_only=True)
class RedisLimiterStats:
    """
    What a `RedisRateLimiter` has done. Counters only grow.

    Attributes:
        round_trips: Scripts run on Redis (each one round trip).
        grants: Requests granted through Redis.
        fallback_grants: Requests granted by the in-process fallback while Redis was away.
        outages: Times Redis was found unreachable (each logged once).
    """

    round_trips: int = 0
    grants: int = 0
    fallback_grants: int = 0
    outages: int = 0


class _Local:
    """
    This process's side of one key: the fair lock (rule 3) and the sleeper to wake (rule 4).
    """

    __slots__ = ("lock", "probe_member", "probe_task", "wake")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.wake: asyncio.Future[None] | None = None
        self.probe_task: asyncio.Task[Any] | None = None
        self.probe_member = ""


class RedisRateLimiter:
    """
    A `RateLimiter` whose buckets live in Redis, so that every process and host using one
    token (or one organization) paces on one shared quota.

    The rules are those of `TokenBucketLimiter` (learned from the rate-limit headers,
    requests in flight counted, a 429 or `Retry-After` pausing every process on the key,
    first come first served within a process, cancel-safe, any quota window), with the
    state changed atomically in Redis on the Redis server's clock. When Redis cannot be
    reached, the limiter paces in-process with one warning and shares again once Redis is
    back. Needs the `redis` extra: `pip install 'aelyst-async[redis]'`.

    Args:
        redis: A `redis://host:port/db` URL (the limiter owns that connection pool), or a
            `redis.asyncio.Redis` client of yours (closed by you).
        key: The quota key every request of every client of this limiter counts on, e.g.
            one per organization; by default each client's own (route, token fingerprint).
        namespace: The prefix of the Redis keys.
        window: As for `TokenBucketLimiter`: the window assumed until `X-RateLimit-Reset`
            teaches one.
        default_retry_after: Seconds to pause a key after a 429 without `Retry-After`
            (default: `window`).
        probe_timeout: Seconds after which an unanswered probe no longer holds the key.
        operation_timeout: Seconds to wait for Redis on any call before falling back.
        retry_interval: Seconds between attempts to reach Redis again after a failure.
        ttl: Seconds an unused key lives in Redis (default: 60, or `10 * window` if more).
        clock: The clock to sleep on. When given, its `monotonic()` also replaces the
            Redis server's time (for tests, with one fake clock; never across hosts).

    Raises:
        InvalidArgumentError: When a duration is not a positive number, `key` or `namespace`
            is empty, `redis` is neither a Redis URL nor a client, or `clock` is not a clock.

    Example:
        ```python
        import os

        from aelyst_async.redis import RedisRateLimiter

        async with RedisRateLimiter(os.environ["REDIS_URL"]) as limiter:
            async with AelystClient(token, rate_limiter=limiter) as client:
                ...  # paced together with every other process on this token
        ```
    """

    def __init__(
        self,
        redis: str | aioredis.Redis,
        *,
        key: str | None = None,
        namespace: str = "aelyst:ratelimit",
        window: float = 1.0,
        default_retry_after: float | None = None,
        probe_timeout: float = 10.0,
        operation_timeout: float = 1.0,
        retry_interval: float = 5.0,
        ttl: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        name = "RedisRateLimiter"
        self.window = check_seconds(f"{name}.window", window, positive=True)
        self.default_retry_after = check_seconds(
            f"{name}.default_retry_after",
            window if default_retry_after is None else default_retry_after,
            positive=True,
        )
        self.probe_timeout = check_seconds(f"{name}.probe_timeout", probe_timeout, positive=True)
        self.operation_timeout = check_seconds(
            f"{name}.operation_timeout", operation_timeout, positive=True
        )
        self.retry_interval = check_seconds(f"{name}.retry_interval", retry_interval, positive=True)
        self.ttl = check_seconds(
            f"{name}.ttl", max(60.0, 10 * self.window) if ttl is None else ttl, positive=True
        )
        self.key = check_text(f"{name}.key", key, optional=True)
        self.namespace = check_text(f"{name}.namespace", namespace)
        self.stats = RedisLimiterStats()
        self.clock: Clock = check_clock(f"{name}.clock", clock)
        self._server_time = clock is None
        if isinstance(redis, str):
            try:
                self._redis: aioredis.Redis = aioredis.Redis.from_url(
                    redis,
                    socket_timeout=self.operation_timeout,
                    socket_connect_timeout=self.operation_timeout,
                )
            except ValueError as error:  # redis-py's words: the schemes it reads
                raise InvalidArgumentError(f"{name}.redis: {error}") from None
            self._owns_redis = True
        else:
            kind = "redis.asyncio.Redis (or a redis:// URL)"
            self._redis = check_methods(f"{name}.redis", redis, kind, ("register_script",))
            self._owns_redis = False
        self._reserve = self._redis.register_script(_redis_scripts.RESERVE)
        self._learn = self._redis.register_script(_redis_scripts.LEARN)
        self._give_back = self._redis.register_script(_redis_scripts.GIVE_BACK)
        self._clear_freeze = self._redis.register_script(_redis_scripts.CLEAR_FREEZE)
        self._fallback = TokenBucketLimiter(
            window=self.window,
            clock=self.clock,
            default_retry_after=self.default_retry_after,
            probe_timeout=self.probe_timeout,
        )
        self._locals: dict[Hashable, _Local] = {}
        self._members = (f"{os.getpid()}-{uuid.uuid4().hex[:8]}-{n}" for n in itertools.count())
        self._down_until: float | None = None
        self._background: set[asyncio.Task[None]] = set()

    # -- the RateLimiter protocol -------------------------------------------------------------

    async def acquire(self, key: Hashable, *, timeout: float | None = None) -> None:
        """
        Wait for permission to send one request on `key` (module rules 2 to 6).

        Args:
            key: What the quota is counted on (replaced by the limiter's `key` if set).
            timeout: Seconds to wait at most; `None` waits as long as it takes.

        Raises:
            TimeoutError: When permission cannot be had within `timeout` seconds;
                `KeyPausedError`, at once, when the key is paused past that time.
        """
        start = self.clock.monotonic()
        deadline = None if timeout is None else start + max(0.0, timeout)
        local = self._local(key)
        async with local.lock:
            release = ""
            if local.probe_task is not None and local.probe_task is asyncio.current_task():
                release, local.probe_task = local.probe_member, None  # its request got no answer
            while True:
                if self._is_down():
                    left = None if deadline is None else deadline - self.clock.monotonic()
                    await self._fallback.acquire(key, timeout=left)
                    self.stats.fallback_grants += 1
                    return
                member = next(self._members)
                most = None if deadline is None else max(0.0, deadline - self.clock.monotonic())
                reply = await self._call(
                    self._reserve,
                    key,
                    [
                        member,
                        self.window * TRANSIT_FRACTION,
                        self.probe_timeout,
                        _POLL,
                        self.ttl,
                        "" if most is None else most,
                        release,
                    ],
                )
                if reply is None:
                    continue  # Redis just went away: the fallback takes over
                release = ""
                outcome, wait, paused = (
                    _text(reply[0]),
                    float(_text(reply[1])),
                    float(_text(reply[2])),
                )
                late = outcome == "late" or (
                    outcome == "again"
                    and deadline is not None
                    and self.clock.monotonic() + wait > deadline
                )
                if late and paused > 0:
                    raise KeyPausedError(timeout_message(timeout, frozen=True), retry_after=paused)
                if late:
                    raise TimeoutError(timeout_message(timeout, frozen=False))
                if outcome == "granted" and await self._sleep_on_grant(key, local, member, wait):
                    self.stats.grants += 1
                    local.probe_task, local.probe_member = asyncio.current_task(), member
                    return
                if outcome == "again":
                    await self._sleep(local, wait)

    def observe(self, key: Hashable, status: int, rate_limit: RateLimit) -> None:
        """
        Learn from one response on `key`: the script runs in the background (module rule 2).

        Args:
            key: The key the request was acquired on.
            status: The HTTP status of the response.
            rate_limit: The rate-limit headers of the response.
        """
        local = self._local(key)
        if local.probe_task is asyncio.current_task():
            local.probe_task = None
        if self._is_down():
            self._fallback.observe(key, status, rate_limit)
            return
        if status == 429 or (status >= 400 and rate_limit.retry_after is not None):
            self._wake(local)  # rule 4: the sleeper reserves again, after the pause
        args: list[str | float] = [
            status,
            _optional(rate_limit.limit),
            _optional(rate_limit.remaining),
            _optional(rate_limit.retry_after),
            _optional(rate_limit.reset),
            self.window,
            self.default_retry_after,
            INCREASE_STEPS,
            MIN_RATE,
            self.ttl,
        ]
        self._spawn(self._call(self._learn, key, args))

    async def clear_freeze(self, key: Hashable | None = None) -> None:
        """
        End a pause at once, for every process on the key: for an operator who knows the
        server's `Retry-After` was wrong (as `TokenBucketLimiter.clear_freeze`).

        Args:
            key: The key to unfreeze; `None` unfreezes every key this limiter has used.

        Example:
            ```python
            import os

            from aelyst_async.redis import RedisRateLimiter

            async with RedisRateLimiter(os.environ["REDIS_URL"]) as limiter:
                await limiter.clear_freeze()
            ```
        """
        keys = list(self._locals) if key is None else [key]
        for each in keys:
            await self._call(self._clear_freeze, each, [self.ttl])
            self._wake(self._local(each))
        self._fallback.clear_freeze(key)

    # -- lifetime ---------------------------------------------------------------------------

    async def flush(self) -> None:
        """
        Wait for the observations still being sent to Redis in the background.
        """
        while self._background:
            await asyncio.wait(set(self._background), timeout=self.operation_timeout * 2)

    async def aclose(self) -> None:
        """
        Wait for the observations still being sent, and close the connection pool if the
        limiter made it from a URL.
        """
        await self.flush()
        if self._owns_redis:
            await self._redis.aclose()

    async def __aenter__(self) -> RedisRateLimiter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "in-process (Redis unreachable)" if self._down_until is not None else "shared"
        return f"RedisRateLimiter(namespace={self.namespace!r}, {state})"

    # -- Redis --------------------------------------------------------------------------------

    def _keys(self, key: Hashable) -> list[str]:
        name = self.key if self.key is not None else _key_text(key)
        digest = hashlib.sha256(name.encode()).hexdigest()[:32]
        return [f"{self.namespace}:{{{digest}}}", f"{self.namespace}:{{{digest}}}:flight"]

    async def _call(
        self, script: AsyncScript, key: Hashable, args: list[str | float]
    ) -> list[Any] | None:
        """
        Run a script on `key`'s bucket; `None` when Redis cannot be reached (rule 6).
        """
        try:
            reply = await self._run(script, key, args)
        except _UNREACHABLE:
            # The pooled connections may be to a Redis that restarted: drop them all, and
            # try once more on a new one before calling Redis unreachable.
            with contextlib.suppress(*_UNREACHABLE):
                # redis-py 5's annotations let a checker read this pool as maybe synchronous.
                disconnect = cast("Awaitable[None]", self._redis.connection_pool.disconnect())
                await _bounded(disconnect, self.operation_timeout)
            try:
                reply = await self._run(script, key, args)
            except _UNREACHABLE as error:
                self._went_down(error)
                return None
        if self._down_until is not None:
            self._down_until = None
            _LOGGER.info("Redis answers again: the rate limit is shared again")
        return reply

    async def _run(self, script: AsyncScript, key: Hashable, args: list[str | float]) -> list[Any]:
        """
        One round trip: the script on `key`'s bucket, with the time when a clock stands in.
        """
        now = "" if self._server_time else repr(self.clock.monotonic())
        argv = [now, *(repr(a) if isinstance(a, float) else str(a) for a in args)]
        self.stats.round_trips += 1
        reply = await _bounded(script(keys=self._keys(key), args=argv), self.operation_timeout)
        return list(reply) if isinstance(reply, list) else [reply]

    def _is_down(self) -> bool:
        return self._down_until is not None and self.clock.monotonic() < self._down_until

    def _went_down(self, error: BaseException) -> None:
        if self._down_until is None:
            self.stats.outages += 1
            _LOGGER.warning(
                "Redis unreachable (%s): pacing in this process alone until it answers; "
                "trying again every %gs",
                type(error).__name__,
                self.retry_interval,
            )
        self._down_until = self.clock.monotonic() + self.retry_interval

    def _spawn(self, call: Awaitable[object]) -> None:
        async def run() -> None:
            await call

        task = asyncio.ensure_future(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- waiting ------------------------------------------------------------------------------

    def _local(self, key: Hashable) -> _Local:
        local = self._locals.get(key)
        if local is None:
            local = self._locals[key] = _Local()
        return local

    async def _sleep_on_grant(self, key: Hashable, local: _Local, member: str, wait: float) -> bool:
        """
        Sleep until a reserved token is due. Returns whether it was used: `False` when a
        pause woke the sleeper (its reservation is void, rule 4).
        """
        try:
            woken = await self._sleep(local, wait)
        except BaseException:
            self._spawn(self._call(self._give_back, key, [member, self.ttl]))
            raise
        if woken:  # the pause emptied the bucket: only the place in flight is left to free
            self._spawn(self._call(self._give_back, key, [member, self.ttl]))
        return not woken

    async def _sleep(self, local: _Local, delay: float) -> bool:
        """
        Sleep `delay` seconds on the clock, or less when woken. Returns whether woken.
        """
        if delay <= 0:
            return False
        signal: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        local.wake = signal
        timer = asyncio.ensure_future(self.clock.sleep(delay))
        try:
            await asyncio.wait([signal, timer], return_when=asyncio.FIRST_COMPLETED)
            return signal.done() and not timer.done()
        finally:
            local.wake = None
            timer.cancel()
            signal.cancel()

    @staticmethod
    def _wake(local: _Local) -> None:
        if local.wake is not None and not local.wake.done():
            local.wake.set_result(None)


async def _bounded(call: Awaitable[T], timeout: float) -> T:
    """
    `await call`, or `asyncio.TimeoutError` after `timeout` seconds. Unlike `wait_for`
    before Python 3.12, it never swallows a cancellation that races with the result (the
    caller would go on as if never cancelled).
    """
    task = asyncio.ensure_future(call)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    except BaseException:
        task.cancel()
        raise
    if not done:
        task.cancel()
        raise asyncio.TimeoutError(f"no answer from Redis within {timeout:g}s")
    return task.result()


_UNREACHABLE = (RedisError, OSError, asyncio.TimeoutError)
"""What a Redis that is down, restarting or silent raises (rule 6)."""

_POLL = 0.05
"""Seconds between a waiting process's questions while another process probes a new key."""


def _key_text(key: Hashable) -> str:
    """
    The same text for the same key in every process (a tuple's parts, joined).
    """
    if isinstance(key, tuple):
        return "\x1f".join(str(part) for part in key)
    return str(key)


def _optional(value: float | None) -> str | float:
    return "" if value is None else float(value)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
