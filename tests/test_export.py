"""
The export engine over real loopback HTTP against the fake server: every message exactly once,
whatever stops it (cancellation, a lost tail, `kill -9`) and however often it is resumed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import io
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from aelyst_async import (
    AelystClient,
    AuthenticationError,
    ExportOptions,
    InvalidArgumentError,
    RetryPolicy,
)
from aelyst_async._checks import MAX_CONCURRENCY, check_concurrency
from aelyst_async._converter import dump_json, parse_json
from aelyst_async._export import (
    ExportError,
    ExportOptionChanges,
    ExportSnapshot,
    PlainProgress,
    count_contacts,
    default_checkpoint_path,
    iter_contacts,
    read_lines_in_thread,
    run_export,
)
from aelyst_async.testing import Dataset, FakeAelystServer, FakeClock, Fault, RateLimitConfig

from .strategies import messages, typed

TOKEN = "export-test-token-3b9d"
DATASET = Dataset(seed=3, contacts=40, messages=(0, 130))
CONTACTS = list(DATASET.identifiers())

Lines = collections.Counter[bytes]


def record(contact: str, message: dict[str, Any]) -> bytes:
    """
    One output line, keys sorted, for comparing.
    """
    return orjson.dumps({"contact": contact, "message": message}, option=orjson.OPT_SORT_KEYS)


def truth(contacts: Iterable[str], dataset: Dataset = DATASET) -> Lines:
    """
    The lines an export of `contacts` must hold: each message of each known contact, once per
    occurrence of the contact in the input.
    """
    return collections.Counter(
        record(contact, message)
        for contact in contacts
        if dataset.find(contact) is not None
        for message in dataset.messages(contact)
    )


def written(path: Path) -> Lines:
    """
    The lines of an output file; every line must be whole JSON.
    """
    with open(path, "rb") as lines:
        return collections.Counter(
            record(item["contact"], item["message"]) for item in map(orjson.loads, lines)
        )


def read(path: Path) -> bytes:
    """
    A file's bytes.
    """
    return path.read_bytes()


def write(path: Path, data: bytes) -> None:
    """
    Replace a file's bytes.
    """
    path.write_bytes(data)


def checkpoint_of(out: Path) -> dict[str, Any]:
    """
    The checkpoint of an output, as JSON.
    """
    document: dict[str, Any] = orjson.loads(default_checkpoint_path(out).read_bytes())
    return document


def calling_at(contacts: Iterable[str], nth: int, action: Callable[[], object]) -> Iterator[str]:
    """
    The contacts, calling `action` when the export pulls the `nth` one (from 0).
    """
    for index, contact in enumerate(contacts):
        if index == nth:
            action()
        yield contact


pytestmark = pytest.mark.aelyst_server(token=TOKEN, dataset=DATASET)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "messages.jsonl"


async def cancelled_export(client: AelystClient, out: Path, contacts: list[str], nth: int) -> None:
    """
    Run an export and cancel it when it pulls the `nth` contact.
    """
    task: asyncio.Task[Any] | None = None

    def cancel() -> None:
        assert task is not None
        task.cancel()

    task = asyncio.create_task(
        run_export(client, calling_at(contacts, nth, cancel), out, concurrency=4, limit=20)
    )
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_export_holds_every_message_of_every_contact_once(
    client: AelystClient, out: Path
) -> None:
    """A full export writes each message of each contact exactly once, with its contact."""
    summary = await run_export(client, CONTACTS, out, concurrency=6, limit=30)
    assert truth(CONTACTS) == written(out)
    assert (len(CONTACTS), 0, DATASET.total_messages) == (
        summary.snapshot.contacts_done,
        summary.snapshot.contacts_failed,
        summary.snapshot.messages,
    )


async def test_a_line_holds_the_contact_and_the_wire_message(
    client: AelystClient, out: Path
) -> None:
    """Each line is `{"contact": ..., "message": <the wire's camelCase dict>}`."""
    contact = "id:7"
    await run_export(client, [contact], out, limit=50)
    first = orjson.loads(read(out).splitlines()[0])
    assert {"contact": contact, "message": DATASET.messages(contact)[0]} == first


async def test_the_forward_compatibility_contact_is_exported_exactly_as_sent(
    client: AelystClient, out: Path
) -> None:
    """Each line's message is the JSON value the API sent: unknown fields, numeric ids and all."""
    contact = DATASET.special.forward_compat
    await run_export(client, [contact], out, limit=3)
    assert typed([{"contact": contact, "message": m} for m in DATASET.messages(contact)]) == typed(
        [parse_json(line) for line in read(out).splitlines()]
    )


@contextlib.asynccontextmanager
async def serving(items: list[dict[str, Any]]) -> AsyncIterator[str]:
    """
    A server whose every contact has one page: `items`, written with integers of any size.
    """

    async def page(request: web.Request) -> web.Response:
        body = dump_json({"items": items, "pagination": {"next": None}})
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/v1/contact/{identifier}/message/list", page)
    async with TestServer(app, host="127.0.0.1") as test_server:
        yield str(test_server.make_url("/v1"))


@settings(max_examples=30, deadline=None)
@given(items=st.lists(messages, min_size=1, max_size=4))
def test_any_items_are_exported_exactly_as_sent(items: list[dict[str, Any]]) -> None:
    """Unknown fields at every level, nulls, ids as numbers, integers of any size: kept."""

    async def export() -> list[Any]:
        with tempfile.TemporaryDirectory() as directory:
            out = Path(directory) / "messages.jsonl"
            async with serving(items) as url, AelystClient(TOKEN, base_url=url) as client:
                await run_export(client, ["id:1"], out)
            return [parse_json(line) for line in read(out).splitlines()]

    assert typed([{"contact": "id:1", "message": item} for item in items]) == typed(
        asyncio.run(export())
    )


async def test_blank_lines_and_comments_of_the_input_are_skipped(
    client: AelystClient, out: Path
) -> None:
    """Blank lines and `#` comments are not contacts; identifiers are stripped."""
    lines = ["# exported on Monday\n", "\n", "  id:1  \n", "   \n", "id:2\n", "#id:3\n"]
    await run_export(client, lines, out)
    assert truth(["id:1", "id:2"]) == written(out)


async def test_failed_contacts_are_listed_and_the_others_exported(
    client: AelystClient, out: Path
) -> None:
    """An unknown and a malformed contact fail; the summary and the checkpoint list them."""
    contacts = ["id:1", "id:999999", "id:2", "bogus", "id:3"]
    summary = await run_export(client, contacts, out)
    expected = [(1, "id:999999", "NotFoundError"), (3, "bogus", "InvalidArgumentError")]
    assert expected == [(f.index, f.identifier, f.error) for f in summary.failed]
    assert expected == [
        (f["index"], f["identifier"], f["error"]) for f in checkpoint_of(out)["failed"]
    ]
    assert (False, truth(contacts)) == (summary.ok, written(out))


async def test_resuming_retries_the_failed_contacts(server: FakeAelystServer, out: Path) -> None:
    """A contact failed by a 500 is retried by the resumed export, which completes the output."""
    server.faults.next(Fault.status(500), times=1)
    async with AelystClient(TOKEN, base_url=server.url, retry=RetryPolicy.disabled()) as sdk:
        first = await run_export(sdk, CONTACTS[:5], out, concurrency=1)
    async with AelystClient(TOKEN, base_url=server.url) as sdk:
        second = await run_export(sdk, CONTACTS[:5], out, resume=True)
    assert (["InternalServerError"], (), truth(CONTACTS[:5])) == (
        [f.error for f in first.failed],
        second.failed,
        written(out),
    )


async def test_a_cancelled_export_resumes_to_exactly_the_ground_truth(
    client: AelystClient, out: Path
) -> None:
    """Cancelled mid-run, then resumed: every message exactly once, none lost, none twice."""
    await cancelled_export(client, out, CONTACTS, nth=15)
    stopped = checkpoint_of(out)
    assert 0 < stopped["counters"]["messages"] < DATASET.total_messages
    summary = await run_export(client, CONTACTS, out, concurrency=4, limit=20, resume=True)
    assert (truth(CONTACTS), DATASET.total_messages, True) == (
        written(out),
        summary.snapshot.messages,
        summary.resumed,
    )


async def test_a_corrupted_tail_after_the_checkpoint_is_dropped_on_resume(
    client: AelystClient, out: Path
) -> None:
    """A repeated line and a half-written one after the checkpoint's offset are truncated."""
    await cancelled_export(client, out, CONTACTS, nth=12)
    first_line = read(out).splitlines(keepends=True)[0]
    write(out, read(out) + first_line + b'{"contact": "id:1", "message": {"messageId": 10')
    await run_export(client, CONTACTS, out, resume=True)
    assert truth(CONTACTS) == written(out)


async def test_pages_written_after_the_last_checkpoint_are_fetched_again_once(
    client: AelystClient, out: Path, tmp_path: Path
) -> None:
    """As after `kill -9` between checkpoints: the output runs past the checkpoint's offset."""
    checkpoint = default_checkpoint_path(out)
    saved = tmp_path / "saved.json"

    def save() -> None:
        shutil.copy(checkpoint, saved)

    await run_export(client, calling_at(CONTACTS, 20, save), out, concurrency=4)
    os.replace(saved, checkpoint)
    assert len(read(out)) > checkpoint_of(out)["offset"]
    await run_export(client, CONTACTS, out, concurrency=4, resume=True)
    assert truth(CONTACTS) == written(out)


async def test_a_repeated_contact_is_exported_once_per_line(
    client: AelystClient, out: Path
) -> None:
    """The output follows the input: a contact listed twice is exported twice, never at once."""
    contacts = ["id:4", "id:5", "id:4", "id:4", "id:6"]
    await run_export(client, contacts, out, concurrency=4)
    assert truth(contacts) == written(out)


async def test_a_resume_cursor_applies_to_its_own_occurrence_only(
    client: AelystClient, out: Path
) -> None:
    """A contact resumed from a cursor and listed again later is exported whole the second time."""
    contacts = ["id:9", "id:2", "id:9"]
    messages = DATASET.messages("id:9")
    assert len(messages) > 10
    lines = b"".join(orjson.dumps({"contact": "id:9", "message": m}) + b"\n" for m in messages[:10])
    write(out, lines)
    write(
        default_checkpoint_path(out),
        orjson.dumps(
            {
                "format": "aelyst-export-checkpoint",
                "version": 1,
                "output": str(out),
                "offset": len(lines),
                "next_index": 1,
                "input_digest": hashlib.sha256(b"id:9\n").hexdigest(),
                "in_progress": [
                    {"index": 0, "identifier": "id:9", "cursor": str(messages[10]["messageId"])}
                ],
                "failed": [],
                "counters": {},
            }
        ),
    )
    await run_export(client, contacts, out, limit=10, resume=True)
    assert truth(contacts) == written(out)


async def test_a_first_run_rejected_at_once_leaves_no_checkpoint(
    server: FakeAelystServer, out: Path
) -> None:
    """A 401 before anything was written: no checkpoint is left, and the same call starts."""
    async with AelystClient("wrong-token", base_url=server.url) as sdk:
        with pytest.raises(AuthenticationError):
            await run_export(sdk, CONTACTS[:3], out)
    gone = not default_checkpoint_path(out).exists()
    async with AelystClient(TOKEN, base_url=server.url) as sdk:
        summary = await run_export(sdk, CONTACTS[:3], out)
    assert (True, True, truth(CONTACTS[:3])) == (gone, summary.ok, written(out))


async def test_a_rejected_token_stops_a_resumed_export_and_resuming_finishes_it(
    client: AelystClient, server: FakeAelystServer, out: Path
) -> None:
    """A 401 ends the export with its contacts kept in progress, none failed; a resume with
    the right token completes it."""
    await cancelled_export(client, out, CONTACTS, nth=10)
    async with AelystClient("wrong-token", base_url=server.url) as sdk:
        with pytest.raises(AuthenticationError):
            await run_export(sdk, CONTACTS, out, resume=True)
    assert [] == checkpoint_of(out)["failed"]
    summary = await run_export(client, CONTACTS, out, resume=True)
    assert (True, truth(CONTACTS)) == (summary.ok, written(out))


async def test_an_unfinished_checkpoint_is_not_clobbered_without_resume(
    client: AelystClient, out: Path
) -> None:
    """Without `resume`, the checkpoint of an unfinished export is an error and the output is
    left alone."""
    await cancelled_export(client, out, CONTACTS, nth=10)
    before = read(out)
    with pytest.raises(ExportError, match=r"checkpoint .* exists"):
        await run_export(client, CONTACTS, out)
    assert before == read(out)


async def test_a_finished_export_run_again_reports_that_it_is_complete(
    client: AelystClient, out: Path
) -> None:
    """Run again as it was, a finished export does nothing and says it is complete."""
    first = await run_export(client, CONTACTS[:4], out)
    before = (read(out), checkpoint_of(out))
    again = await run_export(client, CONTACTS[:4], out)
    assert (True, False, True, first.snapshot.messages, before) == (
        checkpoint_of(out)["complete"],
        first.already_complete,
        again.already_complete,
        again.snapshot.messages,
        (read(out), checkpoint_of(out)),
    )


async def test_permanent_failures_are_kept_and_transient_ones_retried_on_resume(
    server: FakeAelystServer, out: Path
) -> None:
    """A 404 and a malformed identifier fail for good; a 500 fails for now, and only it is
    retried by a resume."""
    contacts = ["id:1", "id:999999", "bogus"]
    server.faults.next(Fault.status(500), times=1)  # the first request: id:1's
    async with AelystClient(TOKEN, base_url=server.url, retry=RetryPolicy.disabled()) as sdk:
        first = await run_export(sdk, contacts, out, concurrency=1)
        second = await run_export(sdk, contacts, out, resume=True)
    assert (
        [("id:1", False), ("id:999999", True), ("bogus", True)],
        [("id:999999", True), ("bogus", True)],
    ) == (
        [(f.identifier, f.permanent) for f in first.failed],
        [(f.identifier, f.permanent) for f in second.failed],
    )
    assert truth(contacts) == written(out)


async def test_a_resumed_export_reports_this_run_and_all_runs_apart(
    client: AelystClient, out: Path
) -> None:
    """After a resume, `elapsed` counts every run and `run_elapsed` this one alone (none of
    the frozen clock's time)."""
    clock = FakeClock()
    await cancelled_export(client, out, CONTACTS, nth=10)
    checkpoint = checkpoint_of(out)
    checkpoint["counters"]["elapsed"] = 100.0
    write(out.with_name(out.name + ".checkpoint.json"), orjson.dumps(checkpoint))
    summary = await run_export(client, CONTACTS, out, resume=True, clock=clock)
    snap = summary.snapshot
    assert (100.0, 100.0, 0.0) == (snap.earlier_elapsed, snap.elapsed, snap.run_elapsed)


async def test_an_existing_output_without_checkpoint_is_not_clobbered(
    client: AelystClient, out: Path
) -> None:
    """An output that no checkpoint describes is not overwritten, with or without `resume`."""
    write(out, b"precious\n")
    for resume in (False, True):
        with pytest.raises(ExportError, match="no checkpoint"):
            await run_export(client, CONTACTS[:2], out, resume=resume)
    assert b"precious\n" == read(out)


async def test_overwrite_starts_over(client: AelystClient, out: Path) -> None:
    """`overwrite=True` replaces the output and the checkpoint."""
    await run_export(client, CONTACTS[:2], out)
    await run_export(client, CONTACTS[2:4], out, overwrite=True)
    assert truth(CONTACTS[2:4]) == written(out)


async def test_resuming_with_another_input_is_refused(client: AelystClient, out: Path) -> None:
    """The contacts the checkpoint consumed must be the first ones of the resumed input."""
    await cancelled_export(client, out, CONTACTS, nth=12)
    with pytest.raises(ExportError, match="not those of the interrupted export"):
        await run_export(client, list(reversed(CONTACTS)), out, resume=True)
    with pytest.raises(ExportError, match="has 2 contacts"):
        await run_export(client, CONTACTS[:2], out, resume=True)


async def test_resuming_over_a_shortened_output_is_refused(client: AelystClient, out: Path) -> None:
    """An output shorter than the checkpoint's offset cannot be resumed."""
    await cancelled_export(client, out, CONTACTS, nth=12)
    write(out, b"")
    with pytest.raises(ExportError, match="shorter"):
        await run_export(client, CONTACTS, out, resume=True)


async def test_a_damaged_checkpoint_is_reported(client: AelystClient, out: Path) -> None:
    """A checkpoint that is not JSON is named in the error."""
    write(out, b"")
    write(default_checkpoint_path(out), b'{"format": "aelyst-exp')
    with pytest.raises(ExportError, match="damaged"):
        await run_export(client, CONTACTS, out, resume=True)


@pytest.mark.parametrize(
    ("concurrency", "limit"),
    [pytest.param(0, 50, id="no-concurrency"), pytest.param(8, 51, id="page-too-large")],
)
async def test_invalid_options_fail_before_any_file_is_written(
    client: AelystClient, out: Path, concurrency: int, limit: int
) -> None:
    """A bad concurrency or page size is refused at once."""
    with pytest.raises(InvalidArgumentError):
        await run_export(client, CONTACTS, out, concurrency=concurrency, limit=limit)
    assert [] == sorted(out.parent.iterdir())


async def test_options_given_as_one_value_export_the_same(client: AelystClient, out: Path) -> None:
    """`options=ExportOptions(...)` is the keywords, and a keyword beside it replaces its field."""
    options = ExportOptions(concurrency=3, limit=20, checkpoint=out.with_name("ckpt.json"))
    summary = await run_export(client, CONTACTS[:6], out, options=options, checkpoint_pages=1)
    assert truth(CONTACTS[:6]) == written(out)
    assert out.with_name("ckpt.json") == summary.checkpoint


@pytest.mark.parametrize(
    ("option", "value"),
    [
        pytest.param("concurrency", MAX_CONCURRENCY + 1, id="too-much-concurrency"),
        pytest.param("limit", 0, id="empty-page"),
        pytest.param("checkpoint_pages", 0, id="no-pages"),
        pytest.param("checkpoint_pages", True, id="pages-bool"),
        pytest.param("checkpoint_interval", "x", id="interval-text"),
        pytest.param("checkpoint_interval", -1, id="negative-interval"),
        pytest.param("resume", "yes", id="resume-text"),
        pytest.param("overwrite", 1, id="overwrite-number"),
        pytest.param("total", "300", id="total-text"),
        pytest.param("total", -1, id="negative-total"),
        pytest.param("checkpoint", 5, id="checkpoint-number"),
    ],
)
def test_an_invalid_option_is_refused_when_the_options_are_made(option: str, value: Any) -> None:
    """`ExportOptions` names the option and the value it refuses."""
    with pytest.raises(InvalidArgumentError, match=f"{option} must be .*{value!r}"):
        ExportOptions(**{option: value})  # a wrong type on purpose


@pytest.mark.parametrize(
    ("option", "methods"),
    [
        pytest.param("progress", "update() and close()", id="progress"),
        pytest.param("clock", "monotonic(), wall() and sleep()", id="clock"),
    ],
)
def test_an_option_without_the_methods_it_needs_is_refused_when_made(
    option: str, methods: str
) -> None:
    """A progress display or a clock without its methods is refused at once, not mid-export."""
    message = re.escape(f"{option} must have the methods {methods}")
    wrong: Any = "x"
    with pytest.raises(InvalidArgumentError, match=message):
        ExportOptions(**{option: wrong})


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        pytest.param({"contacts": 5}, "contacts", id="contacts-not-iterable"),
        pytest.param({"out": None}, "out", id="no-output"),
        pytest.param({"options": {"resume": True}}, "options", id="options-a-dict"),
    ],
)
async def test_an_invalid_argument_of_run_export_is_refused_before_any_file_is_written(
    client: AelystClient, out: Path, arguments: dict[str, Any], named: str
) -> None:
    """`run_export` names the argument it refuses, and writes nothing."""
    given: dict[str, Any] = {"contacts": CONTACTS, "out": out, **arguments}
    with pytest.raises(InvalidArgumentError, match=f"^{named} must be"):
        await run_export(client, given.pop("contacts"), given.pop("out"), **given)
    assert [] == sorted(out.parent.iterdir())


def test_the_concurrency_bound_stated_by_the_options_is_the_one_list_many_enforces() -> None:
    """`MAX_CONCURRENCY` (the command line's bound too) is the largest `list_many` takes."""
    assert MAX_CONCURRENCY == check_concurrency(MAX_CONCURRENCY)
    with pytest.raises(InvalidArgumentError):
        check_concurrency(MAX_CONCURRENCY + 1)


def test_the_keywords_of_run_export_are_the_fields_of_export_options() -> None:
    """Each field of `ExportOptions` can be passed to `run_export` by name, and nothing else."""
    fields = [field.name for field in attrs.fields(ExportOptions)]
    assert fields == list(ExportOptionChanges.__annotations__)


async def test_the_input_may_be_an_async_iterable(client: AelystClient, out: Path) -> None:
    """Lines read by a thread from a blocking stream (stdin) feed the export."""
    stream = io.StringIO("".join(f"{contact}\n" for contact in CONTACTS[:6]))
    await run_export(client, read_lines_in_thread(stream), out)
    assert truth(CONTACTS[:6]) == written(out)


def test_contacts_are_counted_without_comments(tmp_path: Path) -> None:
    """`count_contacts` counts what `iter_contacts` yields."""
    path = tmp_path / "contacts.txt"
    path.write_text("# header\nid:1\n\nid:2\n  # indented comment\n")
    with path.open() as lines:
        assert (2, ["id:1", "id:2"]) == (count_contacts(path), list(iter_contacts(lines)))


class StepClock:
    """
    A clock whose time the test sets.
    """

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_plain_progress_prints_a_line_per_interval_and_one_at_the_end() -> None:
    """Plain progress: a line every `every` seconds of updates, then the final one."""
    stream, clock = io.StringIO(), StepClock()
    progress = PlainProgress(stream, every=5.0, clock=clock)
    for now in (0.0, 1.0, 5.0, 6.0, 10.0):
        clock.now = now
        progress.update(snapshot(messages=int(now * 100)))
    progress.close(snapshot(messages=1200))
    assert [
        "export: 3/10 contacts (1 failed), 500 messages, 50 msg/s, 9 requests, "
        "2 rate-limited (429), elapsed 0:10, ETA 0:07",
        "export: 3/10 contacts (1 failed), 1,000 messages, 100 msg/s, 9 requests, "
        "2 rate-limited (429), elapsed 0:10, ETA 0:07",
        "export: 3/10 contacts (1 failed), 1,200 messages, 120 msg/s, 9 requests, "
        "2 rate-limited (429), elapsed 0:10, ETA 0:07",
    ] == stream.getvalue().splitlines()


def snapshot(*, messages: int) -> ExportSnapshot:
    """
    A snapshot of 10 s into an export of 10 contacts.
    """
    return ExportSnapshot(
        contacts_done=2,
        contacts_failed=1,
        contacts_total=10,
        contacts_active=2,
        messages=messages,
        pages=3,
        requests=9,
        rate_limited=2,
        elapsed=10.0,
        eta=7.0,
    )


@pytest.mark.slow
async def test_an_export_killed_with_sigkill_resumes_to_exactly_the_ground_truth(
    tmp_path: Path,
) -> None:
    """`kill -9` mid-run, then the same command with `--resume`: every message exactly once."""
    dataset = Dataset(seed=5, contacts=60, messages=(40, 160))
    contacts = list(dataset.identifiers())
    source, out = tmp_path / "contacts.txt", tmp_path / "messages.jsonl"
    write(source, "".join(f"{contact}\n" for contact in contacts).encode())
    limited = RateLimitConfig(requests=50)  # ~150 requests: a burst of 50, then 2 s at 50/s
    async with FakeAelystServer(token=TOKEN, dataset=dataset, rate_limit=limited) as server:
        command = [
            sys.executable, "-m", "aelyst_async", "export", "--contacts", str(source),
            "--out", str(out), "--concurrency", "4", "--progress", "none",
            "--base-url", server.url,
        ]  # fmt: skip
        env = {**os.environ, "AELYST_TOKEN": TOKEN}
        first = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        await until(lambda: progressed(out), first)
        first.send_signal(signal.SIGKILL)
        await first.communicate()
        killed = checkpoint_of(out)
        second = await asyncio.create_subprocess_exec(
            *command,
            "--resume",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, errors = await second.communicate()
    assert (-signal.SIGKILL, 0, b"") == (first.returncode, second.returncode, errors)
    assert killed["next_index"] < len(contacts)
    assert truth(contacts, dataset) == written(out)


def progressed(out: Path) -> bool:
    """
    Whether an export has checkpointed some messages.
    """
    try:
        return bool(checkpoint_of(out)["counters"].get("messages"))
    except (OSError, orjson.JSONDecodeError):
        return False


async def until(condition: Callable[[], bool], process: asyncio.subprocess.Process) -> None:
    """
    Poll `condition` while `process` runs, for 20 s at most.
    """
    for _ in range(2000):
        if condition():
            return
        assert process.returncode is None, "the export ended before it could be killed"
        await asyncio.sleep(0.01)  # allow-sleep: polling another process, bounded
    raise AssertionError("the export made no progress in 20 s")
