"""
Many contacts at once: `client.messages.list_many(...)`.

Rules:

1. Lazy input: identifiers are pulled from the (async) iterable one at a time, only when a
   worker is free; a million-line input is never materialised.
2. Bounded: `concurrency` workers, each with at most one request in flight, and a queue of
   at most `buffer` finished results. A slow consumer blocks the workers, which then send
   nothing: memory stays flat whatever the number of contacts and messages.
3. A cursor in `cursors` applies to the first occurrence of its identifier only. Keys are
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
   cancels every worker: no task and no request outlives it.
6. All workers share the client's rate limiter and retry policy: pacing is per client, not
   per contact.
7. Dead host. When `DEAD_HOST_FAILURES` contacts in a row fail because no connection to the
   host could be opened at all (`APIConnectionError.unreachable`: refused, unresolvable,
   unroutable, or no answer to the connection attempt; each after its retries), with no
   response from the server in between, the stream ends by raising one
   `APIConnectionError` naming the host. Any response (a page, an HTTP error status, a body
   refused) resets the count, and a connection that opened and then failed or was slow to answer
   (a read timeout) does not count: a slow host that answers is not dead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Final

import attrs

from ._exceptions import (
    NO_SAFE_CURSOR,
    AelystError,
    APIConnectionError,
    InvalidArgumentError,
    ResumeCursor,
)
from ._identifiers import Identifier, coerce_identifier
from ._models import Page
from ._pagination import FetchPage, MessagePager

__all__ = ["DEAD_HOST_FAILURES", "BulkEngine", "FailureResult", "MessageStream", "PageResult"]

DEAD_HOST_FAILURES = 5
"""Contacts failing in a row to connect at all, with no response between, that end a
`list_many` stream (module rule 7)."""


@attrs.frozen(kw_only=True)
class PageResult:
    """
    One page of one contact, fetched by `list_many`.

    Attributes:
        identifier: The contact, in its string form.
        page: The page.
        resume_cursor: The cursor that resumes right after this page, or `None` once the
            contact is complete.
    """

    identifier: str
    page: Page
    resume_cursor: str | None

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
    """

    identifier: str
    error: AelystError
    resume_cursor: ResumeCursor
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
        if cursor is NO_SAFE_CURSOR:
            raise InvalidArgumentError(
                f"cursors: {str(identifier)!r} has NO_SAFE_CURSOR: that contact cannot be "
                "resumed without repeating messages already delivered"
            )
        if not isinstance(cursor, str) or not cursor:
            raise InvalidArgumentError(
                f"cursors: the cursor of {str(identifier)!r} must be a non-empty str, "
                f"not {cursor!r}"
            )
        checked[str(identifier)] = cursor
    return checked


def check_concurrency(concurrency: object) -> int:
    """
    Validate `concurrency`: an integer from 1 to 1000.

    Raises:
        InvalidArgumentError: Naming the value.
    """
    if (
        isinstance(concurrency, bool)
        or not isinstance(concurrency, int)
        or not 1 <= concurrency <= 1000
    ):
        raise InvalidArgumentError(
            f"concurrency must be an integer from 1 to 1000, not {concurrency!r}"
        )
    return concurrency


class BulkEngine:
    """
    The workers and their queue. Deliberately holds no reference to the `MessageStream`, so
    that dropping the stream after `break` lets it be collected, and its finaliser cancel
    these workers.
    """

    def __init__(
        self,
        fetch: FetchPage,
        identifiers: Iterable[Identifier | str] | AsyncIterable[Identifier | str],
        *,
        concurrency: int,
        limit: int | None,
        cursors: Mapping[str, str] | Mapping[Identifier, str] | None,
        fail_fast: bool,
        buffer: int | None = None,
    ) -> None:
        self.fetch = fetch
        self.sync_source: Iterator[Identifier | str] | None = None
        self.async_source: AsyncIterator[Identifier | str] | None = None
        if isinstance(identifiers, AsyncIterable):
            self.async_source = aiter(identifiers)
        elif isinstance(identifiers, (str, Identifier)):
            raise InvalidArgumentError(
                "list_many takes an iterable of identifiers, not one identifier: "
                f"{str(identifiers)!r}"
            )
        elif isinstance(identifiers, Iterable):
            self.sync_source = iter(identifiers)
        else:
            raise InvalidArgumentError(f"identifiers must be an iterable, not {identifiers!r}")
        self.concurrency = concurrency
        self.limit = limit
        self.cursors = check_cursors(cursors)
        self.fail_fast = fail_fast
        self.buffer = buffer or concurrency
        self.queue: asyncio.Queue[object] | None = None
        self.source_lock: asyncio.Lock | None = None
        self.exhausted = False
        self.workers: list[asyncio.Task[None]] = []
        self.running = 0
        self.unreachable_run = 0

    def start(self) -> asyncio.Queue[object]:
        self.queue = asyncio.Queue(maxsize=self.buffer)
        self.source_lock = asyncio.Lock()
        self.running = self.concurrency
        self.workers = [asyncio.create_task(self.work(self.queue)) for _ in range(self.concurrency)]
        return self.queue

    def cancel(self) -> list[asyncio.Task[None]]:
        workers, self.workers = self.workers, []
        for task in workers:
            task.cancel()
        return workers

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
                if failure is not None:
                    dead = self.count_unreachable(failure.error)
                    if dead is not None:
                        await queue.put(_Raise(dead))
                        return
                    await queue.put(_Raise(failure.error) if self.fail_fast else failure)
        except Exception as error:  # a bug, or the caller's iterable failing: surface it
            await queue.put(_Raise(error))
            return
        self.running -= 1
        if self.running == 0:
            for failure in self.unused_cursors():
                await queue.put(_Raise(failure.error) if self.fail_fast else failure)
            await queue.put(_DONE)

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
                error=InvalidArgumentError(
                    f"cursors: {identifier!r} never appeared in the identifiers, so its "
                    f"cursor {cursor!r} was not used"
                ),
                resume_cursor=cursor,
            )
            for identifier, cursor in unused.items()
        ]

    async def run_contact(self, queue: asyncio.Queue[object], raw: object) -> FailureResult | None:
        try:
            identifier = coerce_identifier(raw)  # type: ignore[arg-type]  # validated here
        except InvalidArgumentError as error:
            return FailureResult(identifier=str(raw), error=error, resume_cursor=None)
        key = str(identifier)
        pager = MessagePager(
            self.fetch,
            identifier,
            limit=self.limit,
            cursor_id=self.cursors.pop(key, None),  # a repeated identifier starts afresh
            max_items=None,
        )
        try:
            async for page, stop in pager.steps():
                if stop is not None:
                    return FailureResult(
                        identifier=key, error=stop, resume_cursor=stop.resume_cursor, page=page
                    )
                self.unreachable_run = 0  # the server answered
                await queue.put(
                    PageResult(identifier=key, page=page, resume_cursor=page.next_cursor)
                )
        except AelystError as error:
            return FailureResult(identifier=key, error=error, resume_cursor=error.resume_cursor)
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
        if isinstance(item, (PageResult, FailureResult)):
            return item
        await self.aclose()
        if isinstance(item, _Raise):
            raise item.error
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """
        Stop: cancel every worker and wait until they are gone.
        """
        self._closed = True
        workers = self._engine.cancel()
        if workers:
            await asyncio.gather(*workers, return_exceptions=True)

    def __del__(self) -> None:
        # Dropped after `break` without `aclose()`: cancelling needs no await. (No engine:
        # the constructor raised.)
        engine: BulkEngine | None = getattr(self, "_engine", None)
        if engine is not None:
            engine.cancel()
