"""
Sharding: which of N workers exports which contacts, decided without talking to each other.

Rules:

1. A contact's shard is a pure function of its identifier string and the shard count: the
   first 8 bytes of the SHA-256 of the identifier's UTF-8 text, as an unsigned big-endian
   integer, modulo the count. The same identifier lands in the same shard on every machine,
   Python version and run (no `hash()`, which is salted per process).
2. Shards are numbered 0 to N-1, as a Kubernetes Indexed Job numbers its pods
   (`JOB_COMPLETION_INDEX`): shard K of N is the job's index K.
3. The N shards of a list partition it: each identifier in exactly one, the input order
   kept within each shard.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import TypeVar

import attrs

from ._checks import check_int
from ._exceptions import InvalidArgumentError
from ._identifiers import Identifier

__all__ = ["Shard", "shard_of"]

ContactT = TypeVar("ContactT", str, Identifier)


def shard_of(identifier: str | Identifier, count: int) -> int:
    """
    The shard, from 0 to `count - 1`, that a contact belongs to (module rule 1).

    Args:
        identifier: The contact, as given to `messages.list`.
        count: How many shards there are.

    Returns:
        The shard's index.

    Raises:
        InvalidArgumentError: When `count` is not an integer of at least 1.

    Example:
        ```python
        assert shard_of("id:7", 4) == shard_of("id:7", 4)  # on any machine
        ```
    """
    _check_count(count)
    digest = hashlib.sha256(str(identifier).encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def _check_count(count: object) -> int:
    return check_int("shard count", count, low=1)


def _check_index(instance: Shard, attribute: attrs.Attribute[int], index: object) -> None:
    count = _check_count(instance.count)
    check_int("shard index", index, low=0, high=count - 1)


@attrs.frozen
class Shard:
    """
    Shard `index` of `count`: the contacts one worker of `count` takes (module rules).

    Args:
        index: This worker's shard, from 0 to `count - 1` (a Kubernetes Indexed Job's
            `JOB_COMPLETION_INDEX`).
        count: How many workers share the contacts.

    Raises:
        InvalidArgumentError: When `count` is below 1 or `index` is outside `0..count-1`.

    Example:
        ```python
        shard = Shard.parse("1/4")  # a Kubernetes Indexed Job: f"{JOB_COMPLETION_INDEX}/4"
        async for result in client.messages.list_many(shard.select(identifiers)):
            ...
        ```
    """

    index: int = attrs.field(validator=_check_index)
    count: int = attrs.field(validator=lambda _, __, count: _check_count(count))

    @classmethod
    def parse(cls, text: str) -> Shard:
        """
        Read `"K/N"`, shard K of N.

        Args:
            text: The shard, as `--shard` takes it, e.g. `"0/4"`.

        Returns:
            The shard.

        Raises:
            InvalidArgumentError: When `text` is not two integers `K/N` with `0 <= K < N`.
        """
        index, slash, count = str(text).strip().partition("/")
        if not slash or not index.strip().isdigit() or not count.strip().isdigit():
            raise InvalidArgumentError(f"a shard is K/N, e.g. 0/4 for the first of 4, not {text!r}")
        try:
            return cls(int(index), int(count))
        except InvalidArgumentError as error:
            raise InvalidArgumentError(f"{error}, in {text!r}") from None

    def contains(self, identifier: str | Identifier) -> bool:
        """
        Whether `identifier` belongs to this shard.
        """
        return shard_of(identifier, self.count) == self.index

    def select(self, identifiers: Iterable[ContactT]) -> Iterator[ContactT]:
        """
        The identifiers of `identifiers` that belong to this shard, in their order (lazily).

        Args:
            identifiers: Every contact of the whole export.

        Returns:
            An iterator over this shard's contacts.
        """
        return (identifier for identifier in identifiers if self.contains(identifier))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
