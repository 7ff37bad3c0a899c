"""
Which contact is listed next, and which are being listed (the package's rules 1, 5 and 6).

Rules:

1. Every consumed contact that is not complete has an `Entry` in `pending`, keyed by its index
   in the input, with the cursor that resumes it right after its last page written.
2. `upcoming` holds the indexes not yet handed to `list_many`, in input order; a contact is
   read from the input only when `upcoming` is empty and a worker asks for one.
3. Each occurrence of a contact is handed to `list_many` as its own `ListRequest`, from its own
   cursor; a result carries its request back, and the request names its index. So a repeated
   identifier, or one resumed from a cursor and listed again later, needs nothing more.
"""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator

import attrs

from .._bulk import ListRequest
from ._checkpoint import Entry
from ._input import ContactsInput

__all__ = ["Schedule"]


class Schedule:
    """
    The contacts consumed and not complete, in input order (see the module's rules).

    Args:
        contacts: The input, read when a worker asks for a contact and none is upcoming.
    """

    def __init__(self, contacts: ContactsInput) -> None:
        self._contacts = contacts
        self._pending: dict[int, Entry] = {}
        self._upcoming: collections.deque[int] = collections.deque()
        self._listing: dict[ListRequest, int] = {}

    def restore(self, entries: dict[int, Entry]) -> None:
        """
        Put a checkpoint's unfinished contacts first, in input order.
        """
        self._pending = dict(sorted(entries.items()))
        self._upcoming.extend(self._pending)

    def in_progress(self) -> dict[int, Entry]:
        """
        The consumed contacts that are not complete, by index (for a checkpoint).
        """
        return dict(self._pending)

    @property
    def active(self) -> int:
        """
        How many contacts are being listed.
        """
        return len(self._listing)

    async def requests(self) -> AsyncIterator[ListRequest]:
        """
        The requests of `list_many`, one when a worker asks for it: the upcoming contacts
        first, then the rest of the input (rule 2).
        """
        while True:
            if not self._upcoming:
                try:
                    identifier = await self._contacts.read()
                except StopAsyncIteration:
                    return
                index = self._contacts.consume(identifier)
                self._pending[index] = Entry(identifier, None)
                self._upcoming.append(index)
            index = self._upcoming.popleft()
            entry = self._pending[index]
            request = ListRequest(entry.identifier, cursor_id=entry.cursor)
            self._listing[request] = index
            yield request

    def index_of(self, request: ListRequest) -> int:
        """
        The index of the contact a request lists.

        Raises:
            KeyError: When the request is not being listed.
        """
        return self._listing[request]

    def advance(self, index: int, cursor: str) -> None:
        """
        Record that a contact's output ends where `cursor` resumes it.
        """
        self._pending[index] = attrs.evolve(self._pending[index], cursor=cursor)

    def finish(self, request: ListRequest) -> tuple[int, Entry]:
        """
        Take a contact out, complete or failed.

        Returns:
            Its index, and its entry, with the cursor right after its last page written.
        """
        index = self._listing.pop(request)
        return index, self._pending.pop(index)
