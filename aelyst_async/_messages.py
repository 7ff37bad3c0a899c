"""
`client.messages`: the one resource of the API, and the page fetcher of each of its calls.

Rules:

1. A call checks its arguments when it is made, and returns at once: nothing is sent until
   its pager or stream is iterated.
2. Each call fetches its pages through one `_PageFetcher`, which holds that call's retry
   policy and timeout, and asks the client (`AelystClient._fetch_page`) for each page.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import TYPE_CHECKING

import attrs

from ._checks import DEFAULT_CONCURRENCY, check_bool, check_concurrency, check_cursor, check_int
from ._config import RetryPolicy, Timeout, check_retry
from ._identifiers import Identifier, coerce_identifier
from ._pagination import FetchPage, MessagePager
from ._routes import MAX_LIMIT, check_limit

if TYPE_CHECKING:
    from ._bulk import ListItem, MessageStream
    from ._client import AelystClient
    from ._models import Page

__all__ = ["Messages"]


@attrs.frozen
class _PageFetcher:
    """
    Fetches the pages of one `list` or `list_many` call, with that call's options; once
    `closing` is set (the `list_many` stream closed), it sends nothing more.
    """

    client: AelystClient
    retry: RetryPolicy | None
    timeout: Timeout | None
    closing: asyncio.Event | None = None

    async def __call__(self, contact: Identifier, limit: int | None, cursor: str | None) -> Page:
        return await self.client._fetch_page(
            contact,
            limit=limit,
            cursor=cursor,
            retry=self.retry,
            timeout=self.timeout,
            closing=self.closing,
        )


class Messages:
    """
    The messages of contacts: `client.messages`.
    """

    def __init__(self, client: AelystClient) -> None:
        self._client = client

    def _fetcher(
        self,
        retry: RetryPolicy | None,
        timeout: Timeout | float | None,
        closing: asyncio.Event | None = None,
    ) -> FetchPage:
        """
        The page fetcher of one call, its options validated now.
        """
        call_timeout = None if timeout is None else Timeout.coerce(timeout)
        return _PageFetcher(self._client, check_retry(retry), call_timeout, closing)

    def list(
        self,
        identifier: Identifier | str,
        *,
        limit: int | None = None,
        cursor_id: str | None = None,
        max_items: int | None = None,
        retry: RetryPolicy | None = None,
        timeout: Timeout | float | None = None,
    ) -> MessagePager:
        """
        List a contact's messages, across all pages.

        Returns at once; nothing is sent until the pager is iterated.

        Args:
            identifier: `id:123`, `email:x@y.z`, `phone:+60121233112`, or an `Identifier`.
            limit: Page size, 1 to 50 (`None`: the server's default).
            cursor_id: Resume from this cursor (a `next_cursor`, or an error's `resume_cursor`).
            max_items: Stop after this many messages.
            retry: The retry policy of this call (default: the client's).
            timeout: The timeout of each page request (default: the client's).

        Returns:
            A `MessagePager`: `async for` yields `Message`s; `.pages()` yields `Page`s.

        Raises:
            InvalidArgumentError: At once, for an invalid identifier, limit, cursor or option.

        Example:
            ```python
            async for message in client.messages.list("email:abdc@gmail.com", limit=50):
                print(message.message_id, message.traffic)
            ```
        """
        contact = coerce_identifier(identifier)
        checked_limit = check_limit(limit)
        cursor = check_cursor("cursor_id", cursor_id, numbers=True)
        most = check_int("max_items", max_items, low=0, optional=True)
        fetch = self._fetcher(retry, timeout)
        return MessagePager(fetch, contact, limit=checked_limit, cursor_id=cursor, max_items=most)

    def list_many(
        self,
        identifiers: Iterable[ListItem] | AsyncIterable[ListItem],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        limit: int | None = MAX_LIMIT,
        cursors: Mapping[str, str] | Mapping[Identifier, str] | None = None,
        fail_fast: bool = False,
        retry: RetryPolicy | None = None,
        timeout: Timeout | float | None = None,
    ) -> MessageStream:
        """
        List the messages of many contacts at once, as fast as the rate limit allows.

        Returns at once; the work starts when the stream is iterated.

        Args:
            identifiers: Any iterable or async iterable of identifiers, or of `ListRequest`s
                (an identifier with a starting cursor of its own), read lazily.
            concurrency: Contacts listed at once (requests in flight at most).
            limit: Page size, 1 to 50.
            cursors: `{identifier: cursor}` to resume contacts where an earlier run stopped;
                keys as strings or `Identifier`s. A key that is not a valid identifier is
                refused at once; a cursor whose contact never appears in `identifiers` ends
                the stream as a `FailureResult` (`InvalidArgumentError`).
            fail_fast: Raise the first failure out of the loop instead of yielding it.
            retry: The retry policy of every request (default: the client's).
            timeout: The timeout of every request (default: the client's).

        Returns:
            A `MessageStream` of `PageResult`s and `FailureResult`s, in completion order;
            each carries back the input item it belongs to (`item`).

        Raises:
            InvalidArgumentError: At once, for an invalid option or `cursors` entry.
            APIConnectionError: From the stream, when the host is taken for dead: several
                contacts in a row could not connect at all and nothing answered.

        Example:
            ```python
            async with client.messages.list_many(["id:1", "id:2"], concurrency=16) as stream:
                async for result in stream:
                    if isinstance(result, PageResult):
                        print(result.identifier, len(result.page.items))
            ```
        """
        checked_limit = check_limit(limit)
        workers = check_concurrency(concurrency)
        from ._bulk import BulkEngine, MessageStream  # most programs list one contact at a time

        closing = asyncio.Event()
        engine = BulkEngine(
            self._fetcher(retry, timeout, closing),
            identifiers,
            concurrency=workers,
            limit=checked_limit,
            cursors=cursors,
            fail_fast=check_bool("fail_fast", fail_fast),
            closing=closing,
        )
        return MessageStream(engine)
