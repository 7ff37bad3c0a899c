"""
The paginator: `async for` over a contact's messages, page after page.

Rules:

1. Loops, not recursion: one `while` walks the pages.
2. The next request is built on the client's own base URL from the `cursorId` (and
   `limit`) of the page's `next` link; the link's host and path are never used.
3. The last page is the one whose `next` is empty, `null` or missing; an empty `items`
   list with a `next` link is not the end.
4. A `next` cursor already visited in this iteration raises `PaginationError`: the SDK
   never loops forever, and never yields a message twice.
5. An error that ends an iteration carries `identifier` and `resume_cursor`: passing that
   cursor as `cursor_id` resumes with the page that failed, so nothing is lost or repeated.
6. Each iteration starts afresh from `cursor_id`; a pager can be iterated more than once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import attrs

from ._exceptions import AelystError, PaginationError
from ._identifiers import Identifier
from ._models import Message, Page
from ._protocol import MAX_LIMIT, limit_from_link

__all__ = ["FetchPage", "MessagePager"]

FetchPage = Callable[[Identifier, int | None, str | None], Awaitable[Page]]
"""Fetch one page: (identifier, limit, cursor) -> Page; retries happen inside."""


class MessagePager:
    """
    The messages of one contact, fetched lazily page by page.

    Returned by `client.messages.list(...)`; nothing is sent until it is iterated.

    Example:
        ```python
        async for message in client.messages.list("id:123", limit=50):
            print(message.message_id)

        async for page in client.messages.list("id:123").pages():
            print(len(page.items), page.next_cursor)
        ```
    """

    __slots__ = ("_cursor_id", "_fetch", "_identifier", "_limit", "_max_items")

    def __init__(
        self,
        fetch: FetchPage,
        identifier: Identifier,
        *,
        limit: int | None,
        cursor_id: str | None,
        max_items: int | None,
    ) -> None:
        self._fetch = fetch
        self._identifier = identifier
        self._limit = limit
        self._cursor_id = cursor_id
        self._max_items = max_items

    @property
    def identifier(self) -> Identifier:
        """
        The contact being listed.
        """
        return self._identifier

    def __repr__(self) -> str:
        return (
            f"MessagePager(identifier={str(self._identifier)!r}, limit={self._limit!r}, "
            f"cursor_id={self._cursor_id!r}, max_items={self._max_items!r})"
        )

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[Message]:
        async for page in self.pages():
            for message in page.items:
                yield message

    async def pages(self) -> AsyncIterator[Page]:
        """
        Iterate over whole pages instead of messages.

        With `max_items`, the last page is requested no larger than what is left, so its
        `next_cursor` resumes right after the last message yielded.

        Raises:
            PaginationError: When the server repeats a cursor.
            APIError: When a page cannot be fetched after the retries; it carries
                `resume_cursor`.
        """
        cursor = self._cursor_id
        limit = self._limit
        left = self._max_items
        visited: set[str] = set() if cursor is None else {cursor}
        while left is None or left > 0:
            request_limit = limit
            if left is not None and left < (limit or MAX_LIMIT):
                request_limit = left
            try:
                page = await self._fetch(self._identifier, request_limit, cursor)
                if page.next_cursor is not None and page.next_cursor in visited:
                    raise PaginationError(
                        f"the server sent cursor {page.next_cursor!r} twice while listing "
                        f"{str(self._identifier)!r}; stopping instead of looping",
                        cursor=page.next_cursor,
                    )
            except AelystError as error:
                error.identifier = str(self._identifier)
                error.resume_cursor = cursor
                raise
            if left is not None:
                if len(page.items) > left:  # the server ignored the smaller limit
                    page = attrs.evolve(page, items=page.items[:left])
                left -= len(page.items)
            yield page
            if page.next_cursor is None:
                return
            cursor = page.next_cursor
            visited.add(cursor)
            limit = limit_from_link(page.pagination.next) or limit
