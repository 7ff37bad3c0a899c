"""
Many contacts at once: `client.messages.list_many(...)`.

Rules:

1. Lazy input: identifiers are pulled from the (async) iterable one at a time, only when a
   worker is free; a million-line input is never materialised.
2. Bounded: `concurrency` workers, each with at most one request in flight, and a queue of
   at most `concurrency` finished results. A slow consumer blocks the workers, which then send
   nothing: memory stays flat whatever the number of contacts and messages.
3. An input item is an identifier (a string or an `Identifier`) or a `ListRequest`, which
   may carry its own starting cursor; every result carries back the item it belongs to
   (`item`), so that repeated identifiers stay apart. A `ListRequest` without a cursor is
   its identifier. A cursor in `cursors` applies to the first occurrence of its identifier
   that does not carry a cursor of its own, and to that one only. Keys are
   identifiers, as strings or `Identifier`s alike, checked when `list_many` is called; a
   cursor whose contact never appears in the input is not dropped: once the input is
   exhausted, each one ends the stream as a `FailureResult` (`InvalidArgumentError`,
   `resume_cursor` the cursor given).
4. Every contact ends in exactly one of: its last `PageResult` (`resume_cursor is None`) or
   one `FailureResult` carrying where to resume. A failed contact never stops the others,
   unless `fail_fast`. A page the paginator delivers together with the error that ends its
   contact (a `next` link it cannot follow) comes inside that `FailureResult` (`page`),
   whose `resume_cursor` is then `NO_SAFE_CURSOR`.
5. Closing the stream (`aclose()`, leaving `async with`, or dropping it after `break`)
   cancels every worker: no task and no request outlives it. Results not yet taken are
   dropped, since the caller closed (resume from the last result handled), and nothing is
   yielded after the close.
6. All workers share the client's rate limiter and retry policy: pacing is per client, not
   per contact.
7. Dead host. When `DEAD_HOST_FAILURES` contacts in a row fail because no connection to the
   host could be opened at all (`APIConnectionError.unreachable`: refused, unresolvable,
   unroutable, or no answer to the connection attempt; each after its retries), with no
   response from the server in between, the stream ends by raising one
   `APIConnectionError` naming the host. Any response (a page, an HTTP error status, a body
   refused) resets the count, and a connection that opened and then failed or was slow to answer
   (a read timeout) does not count: a slow host that answers is not dead.
8. A worker whose awaits swallow its cancellation (a transport or rate limiter of the
   caller's that catches `CancelledError`) is cancelled again, a bounded number of times
   (`_tasks.stop_tasks`): `aclose()` never waits without bound. One that still runs is
   reported once, by a WARNING naming its contact's hash, and sends nothing more: once
   closed, a worker's next request or result raises `CancelledError` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, Final, cast

import attrs

from ._checks import check_cursor
from ._exceptions import (
    AelystError,
    APIConnectionError,
    InvalidArgumentError,
    ResumeCursor,
)
from ._identifiers import Identifier, coerce_identifier
from ._instrument import contact_hash
from ._logs import LOGGER_NAME
from ._models import Page
from ._pagination import FetchPage, MessagePager
from ._tasks import STOP_ROUNDS, stop_tasks

__all__ = [
    "DEAD_HOST_FAILURES",
    "BulkEngine",
    "FailureResult",
    "ListItem",
    "ListRequest",
    "MessageStream",
    "PageResult",
]

_LOGGER = logging.getLogger(LOGGER_NAME)

DEAD_HOST_FAILURES = 5
"""Contacts failing in a row to connect at all, with no response between, that end a
`list_many` stream (module rule 7)."""


def _check_request_identifier(
    instance: ListRequest, attribute: attrs.Attribute[Identifier | str], value: object
) -> None:
    if not isinstance(value, (str, Identifier)):
        raise InvalidArgumentError(
            f"ListRequest.identifier must be an identifier (str or Identifier), not {value!r}"
        )


def _check_request_cursor(
    instance: ListRequest, attribute: attrs.Attribute[str | None], value: object
) -> None:
    check_cursor("ListRequest.cursor_id", value)


@attrs.frozen(eq=False)
class ListRequest:
    """
    One contact to list in `list_many`, from a cursor of its own.

    An item of `list_many`'s input beside plain identifiers; the results of the contact carry
    it back as their `item`. Two requests are equal only when they are the same object, so a
    contact repeated in the input is told apart by its request.

    Args:
        identifier: The contact, as a string or an `Identifier`; checked when it is listed,
            as a plain identifier is (a malformed one ends as a `FailureResult`).
        cursor_id: Where to start (a `resume_cursor` of an earlier run), or `None` for the
            start (or the cursor `cursors=` gives this identifier).

    Raises:
        InvalidArgumentError: At once, when `identifier` is not a string or an `Identifier`,
            or `cursor_id` is not a non-empty string (or is `NO_SAFE_CURSOR`).

    Example:
        ```python
        requests = [ListRequest("id:1"), ListRequest("id:2", cursor_id="1030000071")]
        async with client.messages.list_many(requests) as stream:
            async for result in stream:
                print(result.item.cursor_id, result.identifier)
        ```
    """

    identifier: Identifier | str = attrs.field(validator=_check_request_identifier)
    cursor_id: str | None = attrs.field(default=None, kw_only=True, validator=_check_request_cursor)


ListItem = Identifier | str | ListRequest
"""An item of `list_many`'s input: an identifier, or a `ListRequest`."""


@attrs.frozen(kw_only=True)
class PageResult:
    """
    One page of one contact, fetched by `list_many`.

    Attributes:
        identifier: The contact, in its string form.
        page: The page.
        resume_cursor: The cursor that resumes right after this page, or `None` once the
            contact is complete.
        item: The input item this page belongs to (an identifier or a `ListRequest`), as given.
    """

    identifier: str
    page: Page
    resume_cursor: str | None
    item: ListItem

    @property
    def done(self) -> bool:
        """
        Whether this was the contact's last page.
        """
        return self.resume_cursor is None


@attrs.frozen(kw_only=True)
class FailureResult:
    """
    A contact that failed for good (after the retries): the others go on.

    Attributes:
        identifier: The contact, in its string form (as given, when it was malformed).
        error: Why: `NotFoundError` for an unknown contact, `InvalidArgumentError` for a
            malformed identifier (or a cursor whose contact never appeared in the input),
            `PaginationError` for a `next` link that cannot be followed, or the error that
            ended the retries.
        resume_cursor: Where to resume this contact: a cursor, `None` (from the start), or
            `NO_SAFE_CURSOR` when every cursor would repeat a page already delivered: then
            resuming is not safe, and starting over repeats every message.
        page: A page delivered together with the failure (its items are new, and not
            delivered in any `PageResult`), or `None`.
        item: The input item that failed, as given; for a cursor whose contact never
            appeared, the key of `cursors=`.
    """

    identifier: str
    error: AelystError
    resume_cursor: ResumeCursor
    item: ListItem
    page: Page | None = None


@attrs.frozen
class _Raise:
    error: BaseException


_DONE: Final = object()
_EXHAUSTED: Final = object()


def check_cursors(cursors: object) -> dict[str, str]:
    """
    Validate `cursors=`: identifiers (strings or `Identifier`s) to non-empty string cursors.

    Returns:
        The cursors keyed by each identifier's string form.

    Raises:
        InvalidArgumentError: Naming the first key or cursor that is not valid.
    """
    if cursors is None:
        return {}
    if not isinstance(cursors, Mapping):
        raise InvalidArgumentError(
            f"cursors must be a mapping of identifier to cursor, not {cursors!r}"
        )
    checked: dict[str, str] = {}
    for key, cursor in cursors.items():
        try:
            identifier = coerce_identifier(key)
        except InvalidArgumentError as error:
            raise InvalidArgumentError(f"cursors: {error}") from None
        key = str(identifier)
        checked[key] = check_cursor(f"cursors[{key!r}]", cursor, optional=False)
    return checked


class BulkEngine:
    """
    The workers and their queue. Deliberately holds no reference to the `MessageStream`, so
    that dropping the stream after `break` lets it be collected, and its finaliser cancel
    these workers.
    """

    def __init__(
        self,
        fetch: FetchPage,
        identifiers: Iterable[ListItem] | AsyncIterable[ListItem],
        *,
        concurrency: int,
        limit: int | None,
        cursors: Mapping[str, str] | Mapping[Identifier, str] | None,
        fail_fast: bool,
        closing: asyncio.Event | None = None,
    ) -> None:
        self.fetch = fetch
        # Set once the stream closes; a fetcher given the same event sends nothing then.
        self.closing = asyncio.Event() if closing is None else closing
        self.sync_source: Iterator[ListItem] | None = None
        self.async_source: AsyncIterator[ListItem] | None = None
        if isinstance(identifiers, AsyncIterable):
            self.async_source = aiter(identifiers)
        elif isinstance(identifiers, (str, Identifier, ListRequest)):
            raise InvalidArgumentError(
                f"list_many takes an iterable of identifiers, not one identifier: {identifiers!r}"
            )
        elif isinstance(identifiers, Iterable):
            self.sync_source = iter(identifiers)
        else:
            raise InvalidArgumentError(f"identifiers must be an iterable, not {identifiers!r}")
        self.concurrency = concurrency
        self.limit = limit
        self.cursors = check_cursors(cursors)
        self.fail_fast = fail_fast
        self.queue: asyncio.Queue[object] | None = None
        self.source_lock: asyncio.Lock | None = None
        self.exhausted = False
        self.workers: list[asyncio.Task[None]] = []
        self.listing: dict[asyncio.Task[Any] | None, Identifier] = {}
        self.running = 0
        self.unreachable_run = 0

    def start(self) -> asyncio.Queue[object]:
        self.queue = asyncio.Queue(maxsize=self.concurrency)
        self.source_lock = asyncio.Lock()
        self.running = self.concurrency
        self.workers = [asyncio.create_task(self.work(self.queue)) for _ in range(self.concurrency)]
        return self.queue

    def close(self) -> list[asyncio.Task[None]]:
        """
        Mark the stream closed (rule 8) and wake a consumer waiting for a result.

        Returns:
            The workers, for the caller to stop.
        """
        self.closing.set()
        if self.queue is not None:
            with contextlib.suppress(asyncio.QueueFull):  # full: no consumer is waiting
                self.queue.put_nowait(_DONE)
        workers, self.workers = self.workers, []
        return workers

    async def put(self, queue: asyncio.Queue[object], item: object) -> None:
        """
        Hand `item` to the consumer; once the stream is closed, stop instead (rule 8).
        """
        if self.closing.is_set():
            raise asyncio.CancelledError("the list_many stream is closed")
        await queue.put(item)

    def report_running(self, workers: set[asyncio.Task[None]]) -> None:
        """
        Say once which workers still run after being cancelled `STOP_ROUNDS` times (rule 8).
        """
        contacts = sorted(
            f"#{contact_hash(self.listing[task])}" if task in self.listing else "(between contacts)"
            for task in workers
        )
        _LOGGER.warning(
            "list_many: %d worker(s) still running after the stream closed: their awaits "
            "swallowed %d cancellations (a transport or rate limiter that catches "
            "asyncio.CancelledError?); contacts %s. They send no more requests, and their "
            "results are dropped.",
            len(workers),
            STOP_ROUNDS,
            ", ".join(contacts),
        )

    async def next_identifier(self) -> object:
        assert self.source_lock is not None
        async with self.source_lock:
            if self.exhausted:
                return _EXHAUSTED
            try:
                if self.async_source is not None:
                    return await anext(self.async_source)
                assert self.sync_source is not None
                return next(self.sync_source)
            except (StopIteration, StopAsyncIteration):
                self.exhausted = True
                return _EXHAUSTED

    async def work(self, queue: asyncio.Queue[object]) -> None:
        try:
            while (raw := await self.next_identifier()) is not _EXHAUSTED:
                failure = await self.run_contact(queue, raw)
                self.listing.pop(asyncio.current_task(), None)
                if failure is not None:
                    dead = self.count_unreachable(failure.error)
                    if dead is not None:
                        await self.put(queue, _Raise(dead))
                        return
                    await self.put(queue, _Raise(failure.error) if self.fail_fast else failure)
        except Exception as error:  # a bug, or the caller's iterable failing: surface it
            await self.put(queue, _Raise(error))
            return
        self.running -= 1
        if self.running == 0:
            for failure in self.unused_cursors():
                await self.put(queue, _Raise(failure.error) if self.fail_fast else failure)
            await self.put(queue, _DONE)

    def count_unreachable(self, error: AelystError) -> APIConnectionError | None:
        """
        Count a failed contact towards the dead-host rule (module rule 7).

        Returns:
            The error that ends the stream, once the host is taken for dead.
        """
        if not isinstance(error, APIConnectionError):
            if not isinstance(error, InvalidArgumentError):  # a request got an answer
                self.unreachable_run = 0
            return None
        if not error.unreachable:
            return None
        self.unreachable_run += 1
        if self.unreachable_run < DEAD_HOST_FAILURES:
            return None
        host = error.host or "the API host"
        dead = APIConnectionError(
            f"giving up: {host} is unreachable ({self.unreachable_run} contacts in a row "
            f"could not connect, after their retries, and no request got an answer); "
            f"last error: {error.message}",
            url=error.url,
            host=error.host,
            unreachable=True,
        )
        dead.__cause__ = error
        return dead

    def unused_cursors(self) -> list[FailureResult]:
        """
        The cursors whose contact never appeared in the input (module rule 3).
        """
        unused, self.cursors = self.cursors, {}
        return [
            FailureResult(
                identifier=identifier,
                item=identifier,
                error=InvalidArgumentError(
                    f"cursors: {identifier!r} never appeared in the identifiers, so its "
                    f"cursor {cursor!r} was not used"
                ),
                resume_cursor=cursor,
            )
            for identifier, cursor in unused.items()
        ]

    async def run_contact(self, queue: asyncio.Queue[object], item: object) -> FailureResult | None:
        """
        List one input item's contact to its end, putting each page on the queue.

        Returns:
            The contact's failure, or `None` once its last page is on the queue.
        """
        checked = cast(ListItem, item)  # whatever it is, it is carried back as given
        raw, cursor = (
            (item.identifier, item.cursor_id) if isinstance(item, ListRequest) else (item, None)
        )
        try:
            identifier = coerce_identifier(raw)  # type: ignore[arg-type]  # validated here
        except InvalidArgumentError as error:
            return FailureResult(identifier=str(raw), error=error, resume_cursor=None, item=checked)
        key = str(identifier)
        self.listing[asyncio.current_task()] = identifier  # named if it will not stop (rule 8)
        if cursor is None:
            cursor = self.cursors.pop(key, None)  # a repeated identifier starts afresh (rule 3)
        pager = MessagePager(
            self.fetch, identifier, limit=self.limit, cursor_id=cursor, max_items=None
        )
        try:
            # Closed here, not by the garbage collector in a task of its own: a cancelled
            # worker leaves nothing behind (rule 5).
            async with contextlib.aclosing(pager.steps()) as steps:
                async for page, stop in steps:
                    if stop is not None:
                        return FailureResult(
                            identifier=key,
                            error=stop,
                            resume_cursor=stop.resume_cursor,
                            page=page,
                            item=checked,
                        )
                    self.unreachable_run = 0  # the server answered
                    await self.put(
                        queue,
                        PageResult(
                            identifier=key, page=page, resume_cursor=page.next_cursor, item=checked
                        ),
                    )
        except AelystError as error:
            return FailureResult(
                identifier=key, error=error, resume_cursor=error.resume_cursor, item=checked
            )
        return None


class MessageStream:
    """
    The pages of many contacts, in completion order: what `list_many` returns.

    Use it with `async for`; wrap it in `async with` (or call `aclose()`) to stop the
    workers deterministically when leaving early.

    Example:
        ```python
        async with client.messages.list_many(identifiers, concurrency=16) as stream:
            async for result in stream:
                if isinstance(result, FailureResult):
                    print("failed", result.identifier, result.error)
                else:
                    save(result.identifier, result.page.items)
        ```
    """

    def __init__(self, engine: BulkEngine) -> None:
        self._engine = engine
        self._closed = False

    def __repr__(self) -> str:
        return f"MessageStream(concurrency={self._engine.concurrency}, limit={self._engine.limit})"

    def __aiter__(self) -> MessageStream:
        return self

    async def __aenter__(self) -> MessageStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def __anext__(self) -> PageResult | FailureResult:
        if self._closed:
            raise StopAsyncIteration
        queue = self._engine.queue or self._engine.start()
        item = await queue.get()
        if self._closed:  # closed by another task meanwhile: the item is dropped (rule 5)
            raise StopAsyncIteration
        if isinstance(item, (PageResult, FailureResult)):
            return item
        await self.aclose()
        if isinstance(item, _Raise):
            raise item.error
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """
        Stop: cancel every worker and wait until they are gone (module rules 5 and 8).

        Results not yet taken are dropped. A worker that swallows its cancellation is
        cancelled again; one that still runs after `STOP_ROUNDS` cancellations is left behind
        with a WARNING, and sends no request after this returns.
        """
        self._closed = True
        running = await stop_tasks(self._engine.close())
        if running:
            self._engine.report_running(running)

    def __del__(self) -> None:
        # Dropped after `break` without `aclose()`: cancelling needs no await. (No engine:
        # the constructor raised.)
        engine: BulkEngine | None = getattr(self, "_engine", None)
        if engine is not None:
            for task in engine.close():
                task.cancel()
