"""
The contacts input: its lines read lazily (from a list, a file, or a pipe by a thread),
numbered, and summed up in a digest that a resumed export checks (the package's rules 1 and 5).

A sharded export reads the whole input and lists only its shard's contacts: the others are
numbered and digested as they are passed over, so indexes are positions in the whole input
and a resumed shard checks the same input as an unsharded export does.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import os
import threading
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import TextIO

from .._exceptions import ExportError, InvalidArgumentError
from .._identifiers import coerce_identifier
from .._sharding import Shard

__all__ = ["ContactsInput", "count_contacts", "iter_contacts", "read_lines_in_thread"]

_START_OVER = "aelyst export --force, or overwrite=True"
"""How a checkpoint of another input is set aside, on the command line and in code."""


def _contact_of(line: str) -> str | None:
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    return text


def _key(contact: str) -> str:
    """
    The string `list_many` names a contact by: its identifier's own form when valid.
    """
    try:
        return str(coerce_identifier(contact))
    except InvalidArgumentError:
        return contact  # list_many reports it, named as given


def iter_contacts(lines: Iterable[str]) -> Iterator[str]:
    """
    The identifiers of an input's lines, stripped; blank lines and `#` comments skipped.
    """
    for line in lines:
        contact = _contact_of(line)
        if contact is not None:
            yield contact


def count_contacts(path: str | os.PathLike[str], shard: Shard | None = None) -> int:
    """
    How many contacts a file lists (read once, line by line), for a progress bar's total;
    only those of `shard` when given.

    Raises:
        OSError: When the file cannot be read.
    """
    with open(path, encoding="utf-8") as lines:
        return sum(1 for c in iter_contacts(lines) if shard is None or shard.contains(_key(c)))


class _ThreadedLines:
    """
    Lines of a blocking text stream (stdin), read by a daemon thread a batch at a time, so a
    slow pipe never blocks the event loop and Ctrl-C still works.
    """

    _BATCH = 512

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._queue: asyncio.Queue[list[str] | BaseException | None] | None = None
        self._batch: collections.deque[str] = collections.deque()
        self._finished = False

    def __aiter__(self) -> _ThreadedLines:
        return self

    def _start(self) -> asyncio.Queue[list[str] | BaseException | None]:
        queue: asyncio.Queue[list[str] | BaseException | None] = asyncio.Queue(maxsize=4)
        loop = asyncio.get_running_loop()

        def hand_over(item: list[str] | BaseException | None) -> bool:
            try:
                asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()
            except BaseException:  # the loop is closed or closing: nobody reads any more
                return False
            return True

        def read() -> None:
            batch: list[str] = []
            try:
                for line in self._stream:
                    batch.append(line)
                    if len(batch) >= self._BATCH:
                        if not hand_over(batch):
                            return
                        batch = []
            except BaseException as error:  # handed to the reader, raised there
                hand_over(batch)
                hand_over(error)
                return
            if not batch or hand_over(batch):
                hand_over(None)

        threading.Thread(target=read, name="aelyst-contacts-reader", daemon=True).start()
        return queue

    async def __anext__(self) -> str:
        while not self._batch:
            if self._finished:
                raise StopAsyncIteration
            self._queue = self._queue or self._start()
            item = await self._queue.get()
            if item is None:
                self._finished = True
            elif isinstance(item, BaseException):
                self._finished = True
                raise item
            else:
                self._batch.extend(item)
        return self._batch.popleft()


def read_lines_in_thread(stream: TextIO) -> AsyncIterator[str]:
    """
    The lines of a blocking text stream such as `sys.stdin`, read in a daemon thread.

    Args:
        stream: The stream; it is read until its end, a batch of lines at a time.

    Returns:
        An async iterator of its lines.
    """
    return _ThreadedLines(stream)


class _SyncLines:
    """
    An async view of a plain iterable of lines.
    """

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)

    def __aiter__(self) -> _SyncLines:
        return self

    async def __anext__(self) -> str:
        try:
            return next(self._lines)
        except StopIteration:
            raise StopAsyncIteration from None


class ContactsInput:
    """
    The identifiers of the input, one at a time, each numbered when it is consumed.

    A read error of the input ends it like its end does, so that the contacts already read
    are finished first; `raise_error` raises it afterwards.

    With a `shard`, `read` returns only that shard's contacts, consuming the others on its way.
    """

    def __init__(
        self, contacts: Iterable[str] | AsyncIterable[str], shard: Shard | None = None
    ) -> None:
        self._lines: AsyncIterator[str] = (
            aiter(contacts) if isinstance(contacts, AsyncIterable) else _SyncLines(contacts)
        )
        self._shard = shard
        self._consumed = 0
        self._digest = hashlib.sha256()
        self._error: BaseException | None = None

    @property
    def consumed(self) -> int:
        """
        How many contacts were consumed: the index of the next one.
        """
        return self._consumed

    def digest(self) -> str:
        """
        The digest of the contacts consumed, in order.
        """
        return self._digest.hexdigest()

    async def read(self) -> str:
        """
        The next identifier of the shard; `StopAsyncIteration` at the input's end or after a
        read error.
        """
        while True:
            identifier = await self._read_any()
            if self._shard is None or self._shard.contains(identifier):
                return identifier
            self.consume(identifier)  # another shard's: numbered and digested, not listed

    async def _read_any(self) -> str:
        """
        The next identifier of the input, whatever its shard.
        """
        if self._error is not None:
            raise StopAsyncIteration
        while True:
            try:
                line = await anext(self._lines)
            except StopAsyncIteration:
                raise
            except Exception as error:  # raised after the stream has drained
                self._error = error
                raise StopAsyncIteration from None
            contact = _contact_of(line)
            if contact is not None:
                return _key(contact)

    def consume(self, identifier: str) -> int:
        """
        Number an identifier just read, and count it in the digest.
        """
        index = self._consumed
        self._consumed += 1
        self._digest.update(identifier.encode("utf-8", "surrogatepass") + b"\n")
        return index

    def raise_error(self) -> None:
        """
        Raise the input's read error, if there was one.
        """
        if self._error is not None:
            raise self._error

    async def skip_consumed(self, count: int, digest: str) -> None:
        """
        Consume the first `count` contacts, checking they are those a checkpoint consumed.

        Raises:
            ExportError: When the input is shorter, or its first contacts are others.
        """
        while self._consumed < count:
            try:
                self.consume(await self._read_any())
            except StopAsyncIteration:
                break
        self.raise_error()
        if self._consumed < count:
            raise ExportError(
                f"the contacts input has {self._consumed} contacts, but the checkpoint had "
                f"already read {count}: it is not the input of the interrupted export; "
                f"resume with that input, or start over ({_START_OVER})"
            )
        if self.digest() != digest:
            raise ExportError(
                f"the first {count} contacts of the input are not those of the interrupted export; "
                f"resume with the same contacts input, or start over ({_START_OVER})"
            )
