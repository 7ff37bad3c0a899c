"""
Which contact is listed next, and which are being listed (the package's rules 1, 5 and 6).

Rules:

1. Every consumed contact that is not complete has an `Entry` in `pending`, keyed by its index
   in the input, with the cursor that resumes it right after its last page written.
2. `upcoming` holds the indexes not yet handed to `list_many`, in input order; a contact is
   read from the input only when `upcoming` is empty and a worker asks for one.
3. An identifier is `active` from the moment it is handed to `list_many` until its last page or
   its failure; a repeated identifier waits until the earlier occurrence is no longer active.
4. A `list_many` stream takes one cursor per identifier. Before each stream, the first upcoming
   occurrence of each identifier is designated to take it; an occurrence with a cursor that is
   not designated, or an undesignated occurrence of a designated identifier, ends the stream,
   and the next stream starts with it.
"""

from __future__ import annotations

import asyncio
import collections

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
        self._active: dict[str, int] = {}
        self._idle: dict[str, asyncio.Event] = {}

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
        return len(self._active)

    @property
    def has_upcoming(self) -> bool:
        """
        Whether a consumed contact waits for the next stream.
        """
        return bool(self._upcoming)

    def next_stream(self) -> tuple[_Feed, dict[str, str]]:
        """
        The identifiers of the next `list_many` stream, and the cursors it starts them from.
        """
        designated: dict[str, int] = {}
        cursors: dict[str, str] = {}
        for index in self._upcoming:
            entry = self._pending[index]
            if entry.identifier not in designated:
                designated[entry.identifier] = index
                if entry.cursor is not None:
                    cursors[entry.identifier] = entry.cursor
        # Only an occurrence with a cursor needs to be designated (rule 4).
        designated = {identifier: designated[identifier] for identifier in cursors}
        return _Feed(self, designated), cursors

    async def take(self, designated: dict[str, int]) -> str | None:
        """
        The identifier a worker lists next, now active; `None` when this stream ends (rule 4).
        """
        if not self._upcoming:
            try:
                identifier = await self._contacts.read()
            except StopAsyncIteration:
                return None
            index = self._contacts.consume(identifier)
            self._pending[index] = Entry(identifier, None)
            self._upcoming.append(index)
        index = self._upcoming[0]
        entry = self._pending[index]
        chosen = designated.get(entry.identifier)
        if (chosen is not None or entry.cursor is not None) and chosen != index:
            return None  # the cursor of this identifier is another occurrence's: next stream
        while entry.identifier in self._active:  # rule 3
            await self._idle.setdefault(entry.identifier, asyncio.Event()).wait()
        self._upcoming.popleft()
        self._active[entry.identifier] = index
        return entry.identifier

    def index_of(self, identifier: str) -> int:
        """
        The index of the active occurrence of `identifier`.

        Raises:
            KeyError: When it is not active.
        """
        return self._active[identifier]

    def advance(self, index: int, cursor: str) -> None:
        """
        Record that a contact's output ends where `cursor` resumes it.
        """
        self._pending[index].cursor = cursor

    def finish(self, index: int) -> Entry:
        """
        Take a contact out, complete or failed, and let a waiting occurrence start.

        Returns:
            Its entry, with the cursor right after its last page written.
        """
        entry = self._pending.pop(index)
        del self._active[entry.identifier]
        event = self._idle.pop(entry.identifier, None)
        if event is not None:
            event.set()
        return entry


class _Feed:
    """
    The identifiers of one `list_many` stream, pulled lazily by its workers.
    """

    def __init__(self, schedule: Schedule, designated: dict[str, int]) -> None:
        self._schedule = schedule
        self._designated = designated
        self._ended = False

    def __aiter__(self) -> _Feed:
        return self

    async def __anext__(self) -> str:
        if not self._ended:
            identifier = await self._schedule.take(self._designated)
            if identifier is not None:
                return identifier
            self._ended = True
        raise StopAsyncIteration
