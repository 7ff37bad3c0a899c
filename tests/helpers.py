"""
Helpers shared by the integration tests: ground truth comparison and result collection.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from aelyst_async import AelystClient, FailureResult, Message, MessageStream, PageResult, to_wire
from aelyst_async.testing import Dataset


def wire(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """
    Messages back in the API's own JSON form, to compare with the server's ground truth.
    """
    return [to_wire(m) for m in messages]


def ground_truth(dataset: Dataset, identifiers: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """
    What the server holds for each contact.
    """
    return {identifier: dataset.messages(identifier) for identifier in identifiers}


async def drain(
    stream: MessageStream,
) -> tuple[dict[str, list[dict[str, Any]]], list[FailureResult]]:
    """
    Every message a stream yields, by contact, and its failures.
    """
    got: dict[str, list[dict[str, Any]]] = defaultdict(list)
    failures: list[FailureResult] = []
    async with stream:
        async for result in stream:
            if isinstance(result, PageResult):
                got[result.identifier].extend(wire(result.page.items))
            else:
                failures.append(result)
    return dict(got), failures


async def list_all(client: AelystClient, identifier: str, **options: Any) -> list[dict[str, Any]]:
    """
    One contact's messages, in wire form.
    """
    return wire([m async for m in client.messages.list(identifier, **options)])
