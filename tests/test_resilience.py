"""
Resilience over real HTTP: faults never lose or repeat a message, the token never leaks,
and the retries say what they do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable

import pytest

from aelyst_async import (
    AelystClient,
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
    RateLimit,
    RateLimitError,
    RetryPolicy,
    Timeout,
    TokenBucketLimiter,
)
from aelyst_async.testing import Dataset, FakeAelystServer, FakeClock, Fault, RateLimitConfig

from .helpers import drain, ground_truth, list_all

TOKEN = "sk-resilience-4c1d9e7a"
FAST = RetryPolicy(backoff_base=0.001, backoff_cap=0.01)
ALL_FAULTS = [
    Fault.status(500),
    Fault.status(502),
    Fault.status(503),
    Fault.status(504),
    Fault.rate_limited(retry_after=0.01, limit=1000),
    Fault.drop(),
    Fault.truncate(),
    Fault.not_json(),
    Fault.cut_json(),
]


pytestmark = pytest.mark.aelyst_server(token=TOKEN, dataset=Dataset(seed=21, contacts=50))


async def test_fifty_contacts_under_twenty_percent_faults_equal_the_ground_truth(
    server: FakeAelystServer, caplog: pytest.LogCaptureFixture
) -> None:
    """50 contacts listed concurrently through 20% mixed faults: every message exactly once."""
    caplog.set_level(logging.DEBUG, logger="aelyst_async")
    server.faults.fraction(0.2, ALL_FAULTS, seed=8)
    identifiers = list(server.dataset.identifiers())
    async with AelystClient(TOKEN, base_url=server.url, retry=FAST) as client:
        results = await asyncio.gather(*(list_all(client, i, limit=10) for i in identifiers))
    assert ground_truth(server.dataset, identifiers) == dict(zip(identifiers, results, strict=True))
    assert len(server.faults.injected) > 10
    assert TOKEN not in caplog.text


async def test_the_token_never_shows_in_logs_reprs_or_errors_under_any_fault(
    server: FakeAelystServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Under every fault, retries exhausted: no log line, repr or error text holds the token."""
    caplog.set_level(logging.DEBUG)
    identifier = next(iter(server.dataset.identifiers()))
    texts: list[str] = []
    async with AelystClient(
        TOKEN, base_url=server.url, retry=RetryPolicy(max_attempts=2, backoff_base=0)
    ) as client:
        texts.append(repr(client))
        for fault in [*ALL_FAULTS, Fault.status(401), Fault.status(404), Fault.status(400)]:
            server.faults.next(fault, times=2)
            try:
                await list_all(client, identifier)
            except Exception as error:  # every kind of error is inspected
                chain: BaseException | None = error
                while chain is not None:
                    texts += [str(chain), repr(chain), repr(vars(chain))]
                    chain = chain.__cause__ or chain.__context__
            server.faults.clear()
    texts.append(caplog.text)
    assert len(texts) > len(ALL_FAULTS)
    assert [] == [t for t in texts if TOKEN in t]


async def test_one_info_line_per_retry_and_none_on_the_happy_path(
    server: FakeAelystServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Retries log one INFO line each with reason and wait; a clean run logs nothing at INFO."""
    caplog.set_level(logging.INFO, logger="aelyst_async")
    identifier = next(iter(server.dataset.identifiers()))
    async with AelystClient(TOKEN, base_url=server.url, retry=FAST) as client:
        await list_all(client, identifier)
        assert [] == caplog.records
        server.faults.next(Fault.status(503), times=2)
        await list_all(client, identifier)
    lines = [r.getMessage() for r in caplog.records]
    assert 2 == len(lines)
    assert all("503" in line and "retrying" in line for line in lines)
    assert all(r.levelno == logging.INFO for r in caplog.records)


async def test_a_retry_after_beyond_the_cap_raises_instead_of_sleeping(
    server: FakeAelystServer,
) -> None:
    """A Retry-After longer than max_retry_after raises RateLimitError carrying when to retry."""
    server.faults.next(Fault.rate_limited(retry_after=3600), times=1)
    async with AelystClient(
        TOKEN, base_url=server.url, retry=RetryPolicy(max_retry_after=60)
    ) as client:
        with pytest.raises(RateLimitError) as info:
            await list_all(client, next(iter(server.dataset.identifiers())))
    assert 3600 == info.value.retry_after
    assert info.value.retry_at is not None
    assert 1 == server.stats.requests


async def test_a_slow_response_times_out(server: FakeAelystServer) -> None:
    """A response slower than the read timeout raises APITimeoutError (no retries here)."""
    server.faults.next(Fault.slow(2.0), times=1)
    async with AelystClient(
        TOKEN, base_url=server.url, retry=RetryPolicy.disabled(), timeout=Timeout(read=0.05)
    ) as client:
        with pytest.raises(APITimeoutError):
            await list_all(client, next(iter(server.dataset.identifiers())))


async def test_a_slow_response_is_retried_within_the_deadline(server: FakeAelystServer) -> None:
    """A timed-out attempt is retried and the call succeeds."""
    server.faults.next(Fault.slow(2.0), times=1)
    identifier = next(iter(server.dataset.identifiers()))
    async with AelystClient(
        TOKEN, base_url=server.url, retry=FAST, timeout=Timeout(read=0.05)
    ) as client:
        assert server.dataset.messages(identifier) == await list_all(client, identifier)


async def test_a_closed_port_is_a_connection_error() -> None:
    """Nothing listening: APIConnectionError after the retries."""
    async with FakeAelystServer(token=TOKEN) as gone:
        url = gone.url
    async with AelystClient(
        TOKEN, base_url=url, retry=RetryPolicy(max_attempts=2, backoff_base=0)
    ) as client:
        with pytest.raises(APIConnectionError):
            await list_all(client, "id:1")


async def test_retries_run_out_with_the_last_error(server: FakeAelystServer) -> None:
    """max_attempts failures in a row raise the last error, after exactly that many requests."""
    server.faults.next(Fault.status(500), times=5)
    async with AelystClient(
        TOKEN, base_url=server.url, retry=RetryPolicy(max_attempts=3, backoff_base=0)
    ) as client:
        with pytest.raises(InternalServerError):
            await list_all(client, next(iter(server.dataset.identifiers())))
    assert 3 == server.stats.requests


async def test_a_per_call_retry_policy_overrides_the_client(server: FakeAelystServer) -> None:
    """`retry=` on a call wins over the client's policy."""
    server.faults.next(Fault.status(503), times=1)
    async with AelystClient(TOKEN, base_url=server.url, retry=FAST) as client:
        with pytest.raises(InternalServerError):
            await list_all(
                client, next(iter(server.dataset.identifiers())), retry=RetryPolicy.disabled()
            )


async def test_pages_and_errors_expose_the_rate_limit_state() -> None:
    """Each page carries limit and remaining; a 429 carries retry_after too."""
    async with FakeAelystServer(
        token=TOKEN, dataset=Dataset(seed=2, contacts=3), rate_limit=RateLimitConfig(requests=50)
    ) as server:
        identifier = next(iter(server.dataset.identifiers()))
        async with AelystClient(TOKEN, base_url=server.url, retry=RetryPolicy.disabled()) as client:
            page = await anext(client.messages.list(identifier).pages())
            server.faults.next(Fault.rate_limited(retry_after=7), times=1)
            with pytest.raises(RateLimitError) as info:
                await anext(client.messages.list(identifier).pages())
    assert (50, True) == (page.rate_limit.limit, page.rate_limit.remaining is not None)
    assert 7 == (info.value.rate_limit and info.value.rate_limit.retry_after)


async def test_the_token_is_never_sent_to_a_host_a_link_names() -> None:
    """Links naming another server are followed on base_url: the other server sees nothing."""
    async with FakeAelystServer(token=None) as trap:
        async with FakeAelystServer(
            token=TOKEN, dataset=Dataset(seed=4, contacts=5), base_url=trap.url
        ) as server:
            identifier = max(
                server.dataset.identifiers(), key=lambda i: len(server.dataset.messages(i))
            )
            async with AelystClient(TOKEN, base_url=server.url) as client:
                messages = await list_all(client, identifier, limit=5)
            assert server.dataset.messages(identifier) == messages
            assert server.stats.requests > 1
        assert 0 == trap.stats.requests


async def test_list_many_under_faults_reports_no_failure(server: FakeAelystServer) -> None:
    """list_many through 20% faults completes every contact."""
    server.faults.fraction(0.2, ALL_FAULTS, seed=9)
    identifiers = list(server.dataset.identifiers())
    async with AelystClient(TOKEN, base_url=server.url, retry=FAST) as client:
        got, failures = await drain(
            client.messages.list_many(identifiers, concurrency=16, limit=10)
        )
    assert [] == failures
    assert ground_truth(server.dataset, identifiers) == {i: got.get(i, []) for i in identifiers}


async def test_two_clients_sharing_one_limiter_share_one_quota() -> None:
    """Two clients with one limiter and one token pace together: no 429 between them."""
    clock = FakeClock(auto_advance=True)
    dataset = Dataset(seed=12, contacts=40, messages=(0, 25))
    limiter = TokenBucketLimiter(clock=clock)
    rate = RateLimitConfig(requests=10)
    async with FakeAelystServer(
        token=TOKEN, dataset=dataset, rate_limit=rate, clock=clock
    ) as server:
        identifiers = list(dataset.identifiers())
        async with (
            AelystClient(TOKEN, base_url=server.url, clock=clock, rate_limiter=limiter) as one,
            AelystClient(TOKEN, base_url=server.url, clock=clock, rate_limiter=limiter) as two,
        ):
            halves = await asyncio.gather(
                drain(one.messages.list_many(identifiers[::2], concurrency=8, limit=10)),
                drain(two.messages.list_many(identifiers[1::2], concurrency=8, limit=10)),
            )
        assert 0 == server.stats.rate_limited
        assert ground_truth(dataset, identifiers) == {**halves[0][0], **halves[1][0]}


class CountingLimiter:
    """A limiter of the user's own: it lets everything through and counts."""

    def __init__(self) -> None:
        self.acquired = 0
        self.observed: list[int] = []

    async def acquire(self, key: Hashable, *, timeout: float | None = None) -> None:
        self.acquired += 1

    def observe(self, key: Hashable, status: int, rate_limit: RateLimit) -> None:
        self.observed.append(status)


async def test_a_limiter_of_the_users_own_is_asked_before_every_request(
    server: FakeAelystServer,
) -> None:
    """Any object of the RateLimiter protocol is consulted and taught, retries included."""
    limiter = CountingLimiter()
    server.faults.next(Fault.status(503), times=1)
    async with AelystClient(TOKEN, base_url=server.url, rate_limiter=limiter, retry=FAST) as client:
        await list_all(client, next(iter(server.dataset.identifiers())))
    assert (server.stats.requests, [503, 200]) == (limiter.acquired, limiter.observed[:2])


async def test_no_limiter_means_no_pacing(server: FakeAelystServer) -> None:
    """`rate_limiter=None` turns pacing off: the client exposes no limiter."""
    async with AelystClient(TOKEN, base_url=server.url, rate_limiter=None) as client:
        assert client.rate_limiter is None
        identifier = next(iter(server.dataset.identifiers()))
        assert server.dataset.messages(identifier) == await list_all(client, identifier)
