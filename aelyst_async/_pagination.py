"""
The paginator: `async for` over a contact's messages, page after page.

Rules:

1. Loops, not recursion: one `while` walks the pages.
2. The next request is built on the client's own base URL from the `cursorId` (and
   `limit`) of the page's `next` link; the link's host and path are never used.
3. The last page is the one whose `next` is empty, `null` or missing; an empty `items`
   list with a `next` link is not the end.
4. No page is lost: a page whose `next` link carries no usable cursor (no `cursorId`, an
   empty one, not a URL, a number), or a cursor already visited in this iteration, is
   yielded first; only then does the iteration stop with `PaginationError`, which carries
   the link. So the SDK never loops, never yields a message twice, and never drops a page
   it received. When `max_items` is satisfied by that page, there is no error at all.
5. A run of `MAX_EMPTY_PAGES` consecutive empty pages, each with a new cursor, stops the
   iteration with `PaginationError` (resuming at the next cursor is safe: it was never
   fetched).
6. An error that ends an iteration carries `identifier` and `resume_cursor`: passing that
   cursor as `cursor_id` resumes with the page that failed, so nothing is lost or repeated.
   When no cursor can do that (rule 4: the page was delivered and its `next` is unusable),
   `resume_cursor` is `NO_SAFE_CURSOR`, never `None` (which means "from the start").
7. The caller's `limit` is the size of every page; a `limit` in a `next` link is used only
   when the caller gave none.
8. Each iteration starts afresh from `cursor_id`; a pager can be iterated more than once.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Protocol

import attrs

from ._exceptions import (
    NO_SAFE_CURSOR,
    AelystError,
    PaginationError,
    ResumeCursor,
    body_excerpt,
)
from ._identifiers import Identifier
from ._routes import MAX_LIMIT, limit_from_link, next_link_is_broken

if TYPE_CHECKING:
    from ._models import Message, Page

__all__ = ["MAX_EMPTY_PAGES", "FetchPage", "MessagePager"]

MAX_EMPTY_PAGES = 100
"""Consecutive empty pages followed before an iteration stops (module rule 5)."""

_SHOWN_LINK_CHARS = 200


class FetchPage(Protocol):
    """
    Fetch one page of a contact's messages; retries happen inside.
    """

    async def __call__(self, contact: Identifier, limit: int | None, cursor: str | None, /) -> Page:
        """
        The page at `cursor` (`None`: the first), `limit` messages at most.
        """
        ...


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
            PaginationError: After yielding a page whose `next` link is unusable or repeats
                a cursor, or after `MAX_EMPTY_PAGES` empty pages in a row (module rules 4
                and 5).
            APIError: When a page cannot be fetched after the retries; it carries
                `resume_cursor`.
        """
        async for page, stop in self.steps():
            yield page
            if stop is not None:
                raise stop

    async def steps(self) -> AsyncGenerator[tuple[Page, PaginationError | None], None]:
        """
        Each page with the `PaginationError` that ends the iteration right after it, if any
        (module rules 4 and 5): what `pages()` yields and raises, for a caller that delivers
        such a page together with its failure, as `list_many` does.

        Raises:
            AelystError: When a page cannot be fetched; it carries `resume_cursor`.
        """
        cursor = self._cursor_id
        limit = self._limit
        left = self._max_items
        visited: set[str] = set() if cursor is None else {cursor}
        empty_run = 0
        while left is None or left > 0:
            request_limit = limit
            if left is not None and left < (limit or MAX_LIMIT):
                request_limit = left
            try:
                page = await self._fetch(self._identifier, request_limit, cursor)
            except AelystError as error:
                error.set_resume_point(str(self._identifier), cursor)
                raise
            if left is not None:
                if len(page.items) > left:  # the server ignored the smaller limit
                    page = attrs.evolve(page, items=page.items[:left])
                left -= len(page.items)
            empty_run = 0 if page.items else empty_run + 1
            stop = None if left == 0 else self._stop_after(page, visited, empty_run)
            yield page, stop
            if stop is not None or page.next_cursor is None:
                return
            cursor = page.next_cursor
            visited.add(cursor)
            if self._limit is None:
                limit = limit_from_link(page.pagination.next) or limit

    def _stop_after(self, page: Page, visited: set[str], empty_run: int) -> PaginationError | None:
        """
        The error that ends the iteration after `page` (module rules 4 and 5), or `None`.
        """
        link = page.pagination.next
        cursor = page.next_cursor
        who = repr(str(self._identifier))
        shown = repr(body_excerpt(link, _SHOWN_LINK_CHARS)) if link else "?"
        resume: ResumeCursor = NO_SAFE_CURSOR
        if next_link_is_broken(link, cursor):
            text = (
                f"the server sent a next link with no usable cursor while listing {who}: "
                f"{shown}; the page it came with was delivered, and no cursor resumes after it"
            )
            cursor = None  # none usable to name
        elif cursor is not None and cursor in visited:
            text = (
                f"the server sent cursor {body_excerpt(cursor, _SHOWN_LINK_CHARS)!r} twice "
                f"while listing {who}; stopping instead of looping (the page it came with "
                "was delivered, and no cursor resumes after it)"
            )
        elif cursor is not None and empty_run >= MAX_EMPTY_PAGES:
            text = (
                f"the server sent {empty_run} empty pages in a row while listing {who}; "
                f"stopping (resume at cursor {body_excerpt(cursor, _SHOWN_LINK_CHARS)!r} "
                "to go on)"
            )
            resume = cursor  # never fetched: resuming there repeats nothing
        else:
            return None
        return PaginationError(
            text,
            cursor=cursor,
            link=link,
            page=page,
            identifier=str(self._identifier),
            resume_cursor=resume,
        )
