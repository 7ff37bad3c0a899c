"""
The export's schedule, without a server: which contact a `list_many` stream is handed next.
"""

from __future__ import annotations

import asyncio

from aelyst_async._export._checkpoint import Entry
from aelyst_async._export._input import ContactsInput
from aelyst_async._export._schedule import Schedule


async def settle() -> None:
    """
    Let every ready task run until it blocks.
    """
    for _ in range(20):
        await asyncio.sleep(0)


async def test_contacts_are_read_and_numbered_in_input_order() -> None:
    """Each worker's request reads the next contact; blank lines and comments are skipped."""
    schedule = Schedule(ContactsInput(["id:1\n", "\n", "# a comment\n", "id:2\n"]))
    feed, cursors = schedule.next_stream()
    taken = [identifier async for identifier in feed]
    expected: tuple[list[str], dict[str, str], list[int]] = (["id:1", "id:2"], {}, [0, 1])
    assert expected == (taken, cursors, [schedule.index_of(i) for i in taken])


async def test_a_repeated_contact_waits_until_the_earlier_one_is_finished() -> None:
    """The second `id:1` is handed out only once the first has finished."""
    schedule = Schedule(ContactsInput(["id:1", "id:1"]))
    feed, _ = schedule.next_stream()
    first = await anext(feed)
    second = asyncio.create_task(anext(feed))
    await settle()
    waited = not second.done()
    schedule.finish(schedule.index_of(first))
    expected = (True, "id:1", 1)
    assert expected == (waited, await second, schedule.index_of("id:1"))


async def test_a_cursor_of_another_occurrence_ends_the_stream() -> None:
    """A stream carries one cursor per identifier: an occurrence with another cursor waits."""
    schedule = Schedule(ContactsInput([]))
    schedule.restore({3: Entry("id:1", "second"), 0: Entry("id:1", "first")})
    feed, cursors = schedule.next_stream()
    taken = [identifier async for identifier in feed]
    assert (["id:1"], {"id:1": "first"}, 0) == (taken, cursors, schedule.index_of("id:1"))
    schedule.finish(0)
    feed, cursors = schedule.next_stream()
    assert (["id:1"], {"id:1": "second"}) == ([i async for i in feed], cursors)


async def test_a_contact_s_cursor_moves_with_its_pages_and_is_checkpointed() -> None:
    """`advance` records where a contact resumes; `in_progress` is what a checkpoint saves."""
    schedule = Schedule(ContactsInput(["id:7"]))
    feed, _ = schedule.next_stream()
    index = schedule.index_of(await anext(feed))
    schedule.advance(index, "after-page-1")
    saved = schedule.in_progress()
    schedule.finish(index)
    expected: tuple[dict[int, Entry], dict[int, Entry], int]
    expected = ({0: Entry("id:7", "after-page-1")}, {}, 0)
    assert expected == (saved, schedule.in_progress(), schedule.active)
