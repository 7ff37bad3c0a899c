"""
`list_many`: many contacts at once, bounded, lazy, resumable, and clean on early exit.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator

import pytest

from aelyst_async import (
    NO_SAFE_CURSOR,
    AelystClient,
    FailureResult,
    InvalidArgumentError,
    ListRequest,
    MessageStream,
    NotFoundError,
    PageResult,
    RetryPolicy,
)
from aelyst_async.testing import Dataset, FakeAelystServer, FakeClock, Fault, RateLimitConfig

from .helpers import drain, ground_truth, sdk_tasks

TOKEN = "bulk-token-93be"


pytestmark = pytest.mark.aelyst_server(token=TOKEN, dataset=Dataset(seed=11, contacts=30))


async def test_every_message_of_every_contact_arrives_exactly_once(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """All contacts listed at once equal the server's ground truth, each message once."""
    identifiers = list(server.dataset.identifiers())
    got, failures = await drain(client.messages.list_many(identifiers, concurrency=8, limit=10))
    assert [] == failures
    assert ground_truth(server.dataset, identifiers) == got


async def test_pages_of_one_contact_come_in_order_and_the_last_has_no_resume_cursor(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """Each contact ends with exactly one page whose resume_cursor is None."""
    identifiers = list(server.dataset.identifiers())
    done: list[str] = []
    async with client.messages.list_many(identifiers, concurrency=4, limit=10) as stream:
        async for result in stream:
            assert isinstance(result, PageResult)
            assert result.identifier not in done
            if result.done:
                done.append(result.identifier)
    assert sorted(identifiers) == sorted(done)


async def test_an_unknown_or_malformed_contact_is_a_failure_result_not_an_exception(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """A 404 contact and a malformed identifier fail alone; the others complete."""
    good = list(server.dataset.identifiers())[:5]
    got, failures = await drain(
        client.messages.list_many([*good, "id:987654321", "bogus"], limit=10)
    )
    assert ground_truth(server.dataset, good) == got
    assert {"id:987654321": NotFoundError, "bogus": InvalidArgumentError} == {
        f.identifier: type(f.error) for f in failures
    }


async def test_fail_fast_raises_the_first_failure(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """With fail_fast, the first failure is raised out of the loop."""
    with pytest.raises(NotFoundError):
        await drain(
            client.messages.list_many(
                ["id:987654321", *server.dataset.identifiers()], fail_fast=True
            )
        )


async def test_a_failed_contact_carries_the_cursor_to_resume_from(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """Retries exhausted mid-contact: the failure's resume_cursor resumes with no gap."""
    identifier = max(server.dataset.identifiers(), key=lambda i: len(server.dataset.messages(i)))
    seen: list[PageResult] = []
    failure: FailureResult | None = None
    stream = client.messages.list_many([identifier], limit=10, retry=RetryPolicy.disabled())
    async with stream:
        async for result in stream:
            if isinstance(result, PageResult):
                seen.append(result)
                server.faults.next(Fault.status(503), times=1)
            else:
                failure = result
    assert failure is not None
    assert failure.resume_cursor is not None
    assert seen[-1].resume_cursor == failure.resume_cursor
    rest, _ = await drain(
        client.messages.list_many(
            [identifier], limit=10, cursors={identifier: failure.resume_cursor}
        )
    )
    first = [m for r in seen for m in r.page.items]
    assert len(server.dataset.messages(identifier)) == len(first) + len(rest[identifier])


async def test_cursors_resume_each_contact_where_it_stopped(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """`cursors=` starts a contact at its cursor: the messages before it are not fetched again."""
    identifier = max(server.dataset.identifiers(), key=lambda i: len(server.dataset.messages(i)))
    pages = [p async for p in client.messages.list(identifier, limit=10).pages()]
    got, _ = await drain(
        client.messages.list_many(
            [identifier], limit=10, cursors={identifier: pages[0].next_cursor or ""}
        )
    )
    assert server.dataset.messages(identifier)[10:] == got[identifier]


async def longest_and_its_cursors(
    server: FakeAelystServer, client: AelystClient
) -> tuple[str, list[int], list[str | None]]:
    """
    The contact with the most messages, their ids, and the cursor after each page of 10.
    """
    identifier = max(server.dataset.identifiers(), key=lambda i: len(server.dataset.messages(i)))
    pages = [p async for p in client.messages.list(identifier, limit=10).pages()]
    ids = [m["messageId"] for m in server.dataset.messages(identifier)]
    return identifier, ids, [page.next_cursor for page in pages]


async def ids_by_item(stream: MessageStream) -> tuple[dict[int, list[int]], list[FailureResult]]:
    """
    The message ids of each input item (by `id()`), and the failures.
    """
    ids: dict[int, list[int]] = collections.defaultdict(list)
    failures: list[FailureResult] = []
    async with stream:
        async for result in stream:
            if isinstance(result, FailureResult):
                failures.append(result)
            else:
                ids[id(result.item)].extend(m.message_id for m in result.page.items)
    return ids, failures


async def test_each_result_carries_back_the_input_item_it_belongs_to(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """A repeated identifier given as two requests: each page names its own request."""
    identifier, expected, _ = await longest_and_its_cursors(server, client)
    first, second = ListRequest(identifier), ListRequest(identifier)
    stream = client.messages.list_many([first, second, "id:bogus"], limit=10)
    ids, failures = await ids_by_item(stream)
    assert (expected, expected, [("id:bogus", "id:bogus")]) == (
        ids[id(first)],
        ids[id(second)],
        [(f.item, f.identifier) for f in failures],
    )


async def test_a_list_request_starts_from_its_own_cursor(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """`ListRequest(cursor_id=...)` resumes that occurrence; the other starts from the top."""
    identifier, expected, cursors = await longest_and_its_cursors(server, client)
    resumed, plain = ListRequest(identifier, cursor_id=cursors[0]), identifier
    ids, _ = await ids_by_item(client.messages.list_many([resumed, plain], limit=10))
    assert (expected[10:], expected) == (ids[id(resumed)], ids[id(plain)])


async def test_cursors_apply_to_the_first_occurrence_without_a_cursor_of_its_own(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """A `cursors=` entry skips a request that carries its own cursor."""
    identifier, expected, cursors = await longest_and_its_cursors(server, client)
    own, plain = ListRequest(identifier, cursor_id=cursors[1]), ListRequest(identifier)
    stream = client.messages.list_many(
        [own, plain], limit=10, cursors={identifier: cursors[0] or ""}, concurrency=1
    )
    ids, _ = await ids_by_item(stream)
    assert (expected[20:], expected[10:]) == (ids[id(own)], ids[id(plain)])


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("", id="empty"),
        pytest.param(7, id="not-a-str"),
        pytest.param(NO_SAFE_CURSOR, id="no-safe-cursor"),
    ],
)
def test_a_list_request_with_an_invalid_cursor_is_refused_at_once(cursor: object) -> None:
    """A `ListRequest` cursor is checked when the request is made, naming the value."""
    with pytest.raises(InvalidArgumentError, match=f"cursor_id.*{cursor!r}"):
        ListRequest("id:1", cursor_id=cursor)  # type: ignore[arg-type]


async def test_an_async_iterable_input_is_read_lazily(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """Identifiers are pulled only when a worker is free, never all at once."""
    pulled = 0

    async def identifiers() -> AsyncIterator[str]:
        nonlocal pulled
        for identifier in server.dataset.identifiers():
            pulled += 1
            yield identifier

    async with client.messages.list_many(identifiers(), concurrency=2, limit=10) as stream:
        await anext(stream)
        for _ in range(50):
            await asyncio.sleep(0)
        pulled_while_paused = pulled
    assert pulled_while_paused <= 2 + 2 + 1  # the workers' contacts and the bounded buffer's


async def test_a_slow_consumer_holds_the_producers_back(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """With the consumer paused, requests stop at concurrency + buffer: memory stays bounded."""
    many = [i for i in server.dataset.identifiers() for _ in range(3)]
    async with client.messages.list_many(many, concurrency=3, limit=10) as stream:
        await anext(stream)
        for _ in range(200):
            await asyncio.sleep(0)
        requests_while_paused = server.stats.requests
        for _ in range(200):
            await asyncio.sleep(0)
        assert requests_while_paused == server.stats.requests
    assert requests_while_paused <= 3 + 3 + 3 + 1


async def test_breaking_out_leaves_no_task_and_no_request_behind(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """After `break` (the stream dropped, no aclose), no worker is left and nothing is in flight."""
    before = asyncio.all_tasks()
    async for _ in client.messages.list_many(
        list(server.dataset.identifiers()), concurrency=8, limit=10
    ):
        break
    for _ in range(20):
        await asyncio.sleep(0)
    assert [] == sdk_tasks(before)
    assert 0 == server.stats.in_flight


async def test_cancelling_the_consumer_cancels_the_workers(
    server: FakeAelystServer, client: AelystClient
) -> None:
    """Cancelling the consuming task stops every worker."""
    before = asyncio.all_tasks()

    async def consume() -> None:
        async with client.messages.list_many(
            list(server.dataset.identifiers()), concurrency=8
        ) as stream:
            async for _ in stream:
                await asyncio.Event().wait()  # blocks until cancelled

    task = asyncio.create_task(consume())
    for _ in range(50):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [] == sdk_tasks(before)


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"concurrency": 0}, id="concurrency-zero"),
        pytest.param({"limit": 51}, id="limit-too-large"),
        pytest.param({"cursors": ["id:1"]}, id="cursors-not-a-mapping"),
    ],
)
def test_invalid_options_raise_at_once(bad: dict[str, object]) -> None:
    """A bad option raises ValueError naming the value, before anything starts."""
    client = AelystClient("t", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ValueError, match=repr(next(iter(bad.values()))).replace("[", r"\[")):
        client.messages.list_many(["id:1"], **bad)  # type: ignore[arg-type]


def test_one_identifier_instead_of_many_is_rejected() -> None:
    """Passing a single identifier string is a clear error, not 8 one-letter contacts."""
    client = AelystClient("t", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ValueError, match="not one identifier"):
        client.messages.list_many("id:1")


async def test_two_hundred_contacts_under_faults_and_a_10_per_second_limit_are_all_listed() -> None:
    """200 contacts, 20% faults and a 10/s rate limit: exactly the server's messages."""
    clock = FakeClock(auto_advance=True)  # shared by server and client: pacing takes no real time
    dataset = Dataset(seed=5, contacts=200, messages=(0, 25))
    faults = [
        Fault.status(500),
        Fault.status(503),
        Fault.rate_limited(retry_after=2),
        Fault.truncate(),
        Fault.cut_json(),
        Fault.not_json(),
    ]
    rate = RateLimitConfig(requests=10)
    async with FakeAelystServer(
        token=TOKEN, dataset=dataset, rate_limit=rate, clock=clock
    ) as server:
        server.faults.fraction(0.2, faults, seed=3)
        identifiers = list(dataset.identifiers())
        async with AelystClient(TOKEN, base_url=server.url, clock=clock) as client:
            got, failures = await drain(
                client.messages.list_many(identifiers, concurrency=16, limit=10)
            )
        assert [] == failures
        assert ground_truth(dataset, identifiers) == {i: got.get(i, []) for i in identifiers}
        assert server.stats.faults.total() > 0


async def test_pacing_fills_the_rate_limit_without_a_single_429() -> None:
    """16 workers under a 10/s limit: no 429, and the time taken is what the limit allows."""
    clock = FakeClock(auto_advance=True)
    dataset = Dataset(seed=6, contacts=120, messages=(0, 25))
    rate = RateLimitConfig(requests=10)
    async with FakeAelystServer(
        token=TOKEN, dataset=dataset, rate_limit=rate, clock=clock
    ) as server:
        async with AelystClient(TOKEN, base_url=server.url, clock=clock) as client:
            got, failures = await drain(
                client.messages.list_many(dataset.identifiers(), concurrency=16, limit=10)
            )
        assert ([], 0) == (failures, server.stats.rate_limited)
        ideal = (server.stats.requests - 10) / 10  # the first 10 ride on the full bucket
        assert ideal - 0.01 <= clock.monotonic() <= ideal * 1.05
        assert ground_truth(dataset, dataset.identifiers()) == got
