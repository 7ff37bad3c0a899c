"""
The export's schedule, without a server: which contact a `list_many` stream is handed next.
"""

from __future__ import annotations

from aelyst_async import ListRequest
from aelyst_async._export._checkpoint import Entry
from aelyst_async._export._input import ContactsInput
from aelyst_async._export._schedule import Schedule


def described(requests: list[ListRequest]) -> list[tuple[str | None, str | None]]:
    """
    What each request lists, and from where.
    """
    return [(str(request.identifier), request.cursor_id) for request in requests]


async def test_contacts_are_read_and_numbered_in_input_order() -> None:
    """Each worker's request reads the next contact; blank lines and comments are skipped."""
    schedule = Schedule(ContactsInput(["id:1\n", "\n", "# a comment\n", "id:2\n"]))
    taken = [request async for request in schedule.requests()]
    expected = ([("id:1", None), ("id:2", None)], [0, 1])
    assert expected == (described(taken), [schedule.index_of(r) for r in taken])


async def test_each_occurrence_of_a_repeated_contact_is_a_request_of_its_own() -> None:
    """Two `id:1` lines are two requests, each naming its own index, listed at once or not."""
    schedule = Schedule(ContactsInput(["id:1", "id:1"]))
    first, second = [request async for request in schedule.requests()]
    both_active = schedule.active
    finished = schedule.finish(first)
    expected = (2, (0, Entry("id:1", None)), 1, 1)
    assert expected == (both_active, finished, schedule.index_of(second), schedule.active)


async def test_each_occurrence_starts_from_its_own_cursor() -> None:
    """Restored occurrences of one identifier keep their own cursors, in input order."""
    schedule = Schedule(ContactsInput([]))
    schedule.restore({3: Entry("id:1", "second"), 0: Entry("id:1", "first")})
    taken = [request async for request in schedule.requests()]
    expected = ([("id:1", "first"), ("id:1", "second")], [0, 3])
    assert expected == (described(taken), [schedule.index_of(r) for r in taken])


async def test_a_contact_s_cursor_moves_with_its_pages_and_is_checkpointed() -> None:
    """`advance` records where a contact resumes; `in_progress` is what a checkpoint saves."""
    schedule = Schedule(ContactsInput(["id:7"]))
    request = await anext(schedule.requests())
    schedule.advance(schedule.index_of(request), "after-page-1")
    saved = schedule.in_progress()
    schedule.finish(request)
    expected: tuple[dict[int, Entry], dict[int, Entry], int]
    expected = ({0: Entry("id:7", "after-page-1")}, {}, 0)
    assert expected == (saved, schedule.in_progress(), schedule.active)
