"""
Resumable export of many contacts' messages to a JSON Lines file: the engine of `aelyst export`.

Each line of the output is one message with its contact,
`{"contact": "id:1", "message": {<the wire's camelCase dict>}}`.
Next to the output, a checkpoint (`<out>.checkpoint.json` by default) says how much of it is
done, so that an export stopped by Ctrl-C, `kill -9` or a crash is finished by running it
again with `resume=True`, every message ending up in the output exactly once.

Rules:

1. Contacts are numbered by their position in the input (blank lines and `#` comments do not
   count). The input is read lazily, one contact when `list_many` has a free worker; memory
   stays O(concurrency) whatever its length (failed contacts are the exception: they are
   kept, to be listed).
2. A page is written whole: its lines go to the output in one `write`, and no checkpoint is
   ever taken between the lines of a page.
3. A checkpoint is one consistent instant: taken between two pages, after the output was
   flushed and fsynced, it records the output's length (`offset`), how many contacts of the
   input were consumed (`next_index`, with a digest of them), every consumed contact not yet
   complete (`in_progress`: its index, identifier and the cursor that resumes it right after
   its last page written, `null` when none was), the failed contacts with their error and
   resume cursor, and the counters. Every consumed contact is, at that instant, exactly one
   of: complete (all its pages are before `offset`), in progress, or failed.
4. A checkpoint is written atomically: a temporary file, fsync, `os.replace`, fsync of the
   directory. One is written when the export starts; then, after a page, whenever
   `checkpoint_interval` seconds or `checkpoint_pages` pages have passed since the last one; and
   when the export stops for any reason (finished, failed, cancelled), unless a write to the
   output failed. So a crash loses at most that much work, never consistency.
5. Resuming truncates the output to `offset`: lines after it are of pages that no checkpoint
   recorded, and they are fetched again. Then it checks that the first `next_index` contacts
   of the input are the ones the checkpoint consumed (same digest), skips them, lists the
   in-progress contacts from their cursors, retries the failed ones from their resume cursor,
   and goes on with the rest of the input. Hence exactly once: a page is in the output before
   `offset` if and only if the checkpoint counts it as written.
6. An identifier is never listed twice at the same time: a repeated identifier waits until the
   earlier one is complete, then it is exported again (the output follows the input line by
   line). A resume cursor applies to one occurrence only: an occurrence it must not apply to
   ends the current `list_many` stream and starts the next one.
7. Without `resume`, an existing checkpoint, or an existing non-empty output, is an error:
   nothing is clobbered unless `overwrite=True`. A lock on the output stops a second export
   from writing to it at the same time.
8. A 401 ends the export (the token is wrong for every contact): the contact goes back in
   progress, the checkpoint is written and `AuthenticationError` is raised. Any other error of
   a contact fails that contact only.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import os
import threading
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, Protocol, TextIO

import attrs
import orjson

from ._bulk import FailureResult, PageResult, check_concurrency
from ._clock import Clock, SystemClock
from ._converter import converter, dump_json
from ._exceptions import AelystError, AuthenticationError, ExportError, InvalidArgumentError
from ._identifiers import coerce_identifier
from ._protocol import check_limit

if TYPE_CHECKING:
    from ._client import AelystClient

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "ExportError",
    "ExportProgress",
    "ExportSnapshot",
    "ExportSummary",
    "FailedContact",
    "PlainProgress",
    "count_contacts",
    "default_checkpoint_path",
    "describe_progress",
    "format_duration",
    "iter_contacts",
    "read_lines_in_thread",
    "run_export",
]

CHECKPOINT_FORMAT: Final = "aelyst-export-checkpoint"
CHECKPOINT_VERSION: Final = 1
_PROGRESS_TICK: Final = 0.25
"""Seconds between two progress updates while nothing else happens."""


@attrs.frozen(kw_only=True)
class FailedContact:
    """
    A contact the export could not finish.

    Attributes:
        index: Its position in the input, from 0 (blank lines and comments not counted).
        identifier: The identifier, as the input gave it.
        error: The class name of the error, e.g. `NotFoundError`.
        message: The error's message.
        resume_cursor: Where a retry resumes (`None`: from the start).
    """

    index: int
    identifier: str
    error: str
    message: str
    resume_cursor: str | None


@attrs.frozen(kw_only=True)
class ExportSnapshot:
    """
    Where an export stands, for a progress display. Counters are of the whole job, earlier
    runs of a resumed export included.

    Attributes:
        contacts_done: Contacts exported completely.
        contacts_failed: Contacts that failed.
        contacts_total: Contacts in the input, when known.
        contacts_active: Contacts being listed now.
        messages: Messages written.
        pages: Pages written.
        requests: HTTP requests sent, retries included.
        rate_limited: 429 answers received.
        elapsed: Seconds spent, all runs together.
        eta: Seconds left, estimated from this run's pace, when the total is known.
    """

    contacts_done: int
    contacts_failed: int
    contacts_total: int | None
    contacts_active: int
    messages: int
    pages: int
    requests: int
    rate_limited: int
    elapsed: float
    eta: float | None = None

    @property
    def contacts_finished(self) -> int:
        """
        Contacts done or failed.
        """
        return self.contacts_done + self.contacts_failed

    @property
    def messages_per_second(self) -> float:
        """
        Messages written per second, on average.
        """
        return self.messages / self.elapsed if self.elapsed > 0 else 0.0


@attrs.frozen(kw_only=True)
class ExportSummary:
    """
    What an export did, once it has gone through its whole input.

    Attributes:
        output: The JSON Lines file.
        checkpoint: The checkpoint file (kept: `resume=True` retries the failed contacts).
        snapshot: The final counters.
        failed: The contacts that failed, in input order.
        resumed: Whether this run resumed an earlier one.
    """

    output: Path
    checkpoint: Path
    snapshot: ExportSnapshot
    failed: tuple[FailedContact, ...]
    resumed: bool

    @property
    def ok(self) -> bool:
        """
        Whether every contact was exported.
        """
        return not self.failed


class ExportProgress(Protocol):
    """
    What the export tells a progress display: `update` often, `close` once at the end.
    """

    def update(self, snapshot: ExportSnapshot) -> None:
        """
        Show where the export stands; called every fraction of a second.
        """
        ...

    def close(self, snapshot: ExportSnapshot) -> None:
        """
        Show the final state; called once, when the export stops for any reason.
        """
        ...


def format_duration(seconds: float) -> str:
    """
    `1:02:03`, `2:03` or `0:07`: a duration as a person reads it.
    """
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def describe_progress(snapshot: ExportSnapshot) -> str:
    """
    One line of progress, e.g. `120/300 contacts (1 failed), 6,000 messages, 410 msg/s, ...`.
    """
    total = "" if snapshot.contacts_total is None else f"/{snapshot.contacts_total:,}"
    failed = f" ({snapshot.contacts_failed:,} failed)" if snapshot.contacts_failed else ""
    eta = "" if snapshot.eta is None else f", ETA {format_duration(snapshot.eta)}"
    return (
        f"{snapshot.contacts_finished:,}{total} contacts{failed}, {snapshot.messages:,} messages, "
        f"{snapshot.messages_per_second:,.0f} msg/s, {snapshot.requests:,} requests, "
        f"{snapshot.rate_limited:,} rate-limited (429), "
        f"elapsed {format_duration(snapshot.elapsed)}{eta}"
    )


class PlainProgress:
    """
    Progress as plain lines, one every `every` seconds and one at the end: for logs and pipes.

    Args:
        stream: Where the lines go (a text stream, e.g. `sys.stderr`).
        every: Seconds between two lines.
        clock: The clock that spaces them.
        prefix: Put before each line.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        every: float = 5.0,
        clock: Clock | None = None,
        prefix: str = "export: ",
    ) -> None:
        self._stream = stream
        self._every = every
        self._clock: Clock = clock or SystemClock()
        self._prefix = prefix
        self._last: float | None = None

    def update(self, snapshot: ExportSnapshot) -> None:
        now = self._clock.monotonic()
        if self._last is None:
            self._last = now  # the first line comes one interval in
        elif now - self._last >= self._every:
            self._last = now
            self._print(snapshot)

    def close(self, snapshot: ExportSnapshot) -> None:
        self._print(snapshot)

    def _print(self, snapshot: ExportSnapshot) -> None:
        print(self._prefix + describe_progress(snapshot), file=self._stream, flush=True)


def default_checkpoint_path(out: str | os.PathLike[str]) -> Path:
    """
    The checkpoint of an output file: `<out>.checkpoint.json`.
    """
    path = Path(out)
    return path.with_name(path.name + ".checkpoint.json")


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


def count_contacts(path: str | os.PathLike[str]) -> int:
    """
    How many contacts a file lists (read once, line by line), for a progress bar's total.

    Raises:
        OSError: When the file cannot be read.
    """
    with open(path, encoding="utf-8") as lines:
        return sum(1 for _ in iter_contacts(lines))


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


@attrs.define
class _Entry:
    """
    A consumed contact that is not complete: in progress, waiting, or not started.
    """

    identifier: str
    cursor: str | None


@attrs.frozen(kw_only=True)
class _Checkpoint:
    """
    A checkpoint as stored (module rule 3).
    """

    output: str
    offset: int
    next_index: int
    input_digest: str
    in_progress: dict[int, _Entry]
    failed: dict[int, FailedContact]
    counters: dict[str, float]

    def to_json(self) -> bytes:
        document: dict[str, Any] = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "output": self.output,
            "offset": self.offset,
            "next_index": self.next_index,
            "input_digest": self.input_digest,
            "in_progress": [
                {"index": index, "identifier": entry.identifier, "cursor": entry.cursor}
                for index, entry in sorted(self.in_progress.items())
            ],
            "failed": [
                {
                    "index": failure.index,
                    "identifier": failure.identifier,
                    "error": failure.error,
                    "message": failure.message,
                    "cursor": failure.resume_cursor,
                }
                for _, failure in sorted(self.failed.items())
            ],
            "counters": self.counters,
        }
        return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"

    @classmethod
    def load(cls, path: Path) -> _Checkpoint:
        try:
            document = orjson.loads(path.read_bytes())
        except OSError as error:
            raise ExportError(
                f"cannot read the checkpoint {str(path)!r}: {error.strerror}"
            ) from None
        except orjson.JSONDecodeError:
            raise ExportError(f"the checkpoint {str(path)!r} is not JSON: it is damaged") from None
        try:
            if document["format"] != CHECKPOINT_FORMAT:
                raise ValueError("not an export checkpoint")
            if document["version"] != CHECKPOINT_VERSION:
                raise ValueError(
                    f"version {document['version']!r}, this SDK reads {CHECKPOINT_VERSION}"
                )
            in_progress = {
                _int(item["index"]): _Entry(_str(item["identifier"]), _optional_str(item["cursor"]))
                for item in document["in_progress"]
            }
            failed = {
                _int(item["index"]): FailedContact(
                    index=_int(item["index"]),
                    identifier=_str(item["identifier"]),
                    error=_str(item["error"]),
                    message=_str(item["message"]),
                    resume_cursor=_optional_str(item["cursor"]),
                )
                for item in document["failed"]
            }
            counters = {str(key): float(value) for key, value in dict(document["counters"]).items()}
            return cls(
                output=_str(document["output"]),
                offset=_int(document["offset"]),
                next_index=_int(document["next_index"]),
                input_digest=_str(document["input_digest"]),
                in_progress=in_progress,
                failed=failed,
                counters=counters,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ExportError(f"the checkpoint {str(path)!r} is not valid ({error})") from None


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"expected an integer >= 0, got {value!r}")
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _optional_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform opens directories
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    _fsync_directory(path.parent)


class _Output:
    """
    The JSON Lines file, locked, written at the end, its length tracked page by page.
    """

    def __init__(self, path: Path, *, offset: int) -> None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self._file: IO[bytes] = os.fdopen(fd, "r+b")
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    raise ExportError(
                        f"another export is writing to {str(path)!r}; wait for it or stop it"
                    ) from None
            size = os.fstat(fd).st_size
            if size < offset:
                raise ExportError(
                    f"{str(path)!r} is shorter ({size} bytes) than its checkpoint says ({offset}): "
                    "it was truncated or replaced, so the export cannot resume"
                )
            self._file.truncate(offset)
            self._file.seek(offset)
        except BaseException:
            self._file.close()
            raise
        self.offset = offset
        self.broken = False

    def write(self, data: bytes) -> None:
        try:
            self._file.write(data)
        except BaseException:
            self.broken = True
            raise
        self.offset += len(data)

    def sync(self) -> int:
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        except BaseException:
            self.broken = True
            raise
        return self.offset

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()


class _Feed:
    """
    The identifiers of one `list_many` stream, pulled lazily by its workers (module rule 6).
    """

    def __init__(self, job: _Export, designated: dict[str, int]) -> None:
        self._job = job
        self._designated = designated
        self._ended = False

    def __aiter__(self) -> _Feed:
        return self

    async def __anext__(self) -> str:
        if self._ended:
            raise StopAsyncIteration
        job = self._job
        if not job.upcoming:
            try:
                identifier = await job.read_contact()
            except StopAsyncIteration:
                self._ended = True
                raise
            index = job.consume(identifier)
            job.upcoming.append(index)
        index = job.upcoming[0]
        entry = job.pending[index]
        designated = self._designated.get(entry.identifier)
        if (designated is not None or entry.cursor is not None) and designated != index:
            # The stream's cursor for this identifier belongs to another occurrence (or this
            # occurrence's cursor is not the stream's): the next stream takes it.
            self._ended = True
            raise StopAsyncIteration
        await job.wait_until_idle(entry.identifier)
        job.upcoming.popleft()
        job.active[entry.identifier] = index
        return entry.identifier


class _Export:
    """
    One run of an export (see the module's rules); `run_export` is its public face.
    """

    def __init__(
        self,
        client: AelystClient,
        contacts: Iterable[str] | AsyncIterable[str],
        out: Path,
        *,
        checkpoint: Path,
        concurrency: int,
        limit: int | None,
        resume: bool,
        overwrite: bool,
        progress: ExportProgress | None,
        total: int | None,
        clock: Clock,
        checkpoint_interval: float,
        checkpoint_pages: int,
    ) -> None:
        self._client = client
        self._lines: AsyncIterator[str] = (
            aiter(contacts) if isinstance(contacts, AsyncIterable) else _SyncLines(contacts)
        )
        self._out_path = out
        self._checkpoint_path = checkpoint
        self._concurrency = concurrency
        self._limit = limit
        self._resume = resume
        self._overwrite = overwrite
        self._progress = progress
        self._total = total
        self._clock = clock
        self._checkpoint_interval = checkpoint_interval
        self._checkpoint_pages = checkpoint_pages

        self.pending: dict[int, _Entry] = {}
        self.upcoming: collections.deque[int] = collections.deque()
        self.active: dict[str, int] = {}
        self._idle: dict[str, asyncio.Event] = {}
        self._failed: dict[int, FailedContact] = {}
        self._next_index = 0
        self._digest = hashlib.sha256()
        self._source_error: BaseException | None = None

        self._output: _Output | None = None
        self._checkpointed = False
        self._resumed = False
        self._done = 0
        self._messages = 0
        self._pages = 0
        self._earlier_requests = 0
        self._earlier_rate_limited = 0
        self._earlier_elapsed = 0.0
        self._start_requests = client.stats.requests
        self._start_rate_limited = client.stats.rate_limited
        self._started = clock.monotonic()
        self._finished_this_run = 0
        self._last_checkpoint = self._started
        self._pages_since_checkpoint = 0

    # -- the input -------------------------------------------------------------------------

    async def read_contact(self) -> str:
        """
        The next identifier of the input; `StopAsyncIteration` at its end or after a read error.
        """
        if self._source_error is not None:
            raise StopAsyncIteration
        while True:
            try:
                line = await anext(self._lines)
            except StopAsyncIteration:
                raise
            except Exception as error:  # raised after the stream has drained
                self._source_error = error
                raise StopAsyncIteration from None
            contact = _contact_of(line)
            if contact is not None:
                return _key(contact)

    def consume(self, identifier: str) -> int:
        """
        Number a contact read from the input, and count it in the digest of the input.
        """
        index = self._next_index
        self._next_index += 1
        self._digest.update(identifier.encode("utf-8", "surrogatepass") + b"\n")
        self.pending[index] = _Entry(identifier, None)
        return index

    async def wait_until_idle(self, identifier: str) -> None:
        """
        Wait until no occurrence of `identifier` is being listed (module rule 6).
        """
        while identifier in self.active:
            event = self._idle.setdefault(identifier, asyncio.Event())
            await event.wait()

    def _release(self, identifier: str) -> None:
        del self.active[identifier]
        event = self._idle.pop(identifier, None)
        if event is not None:
            event.set()

    async def _skip_consumed(self, count: int, digest: str) -> None:
        for _ in range(count):
            try:
                identifier = await self.read_contact()
            except StopAsyncIteration:
                break
            self._digest.update(identifier.encode("utf-8", "surrogatepass") + b"\n")
            self._next_index += 1
        if self._source_error is not None:
            raise self._source_error
        if self._next_index < count:
            raise ExportError(
                f"the contacts input has {self._next_index} contacts, but the checkpoint had "
                f"already read {count}: it is not the input of the interrupted export"
            )
        if self._digest.hexdigest() != digest:
            raise ExportError(
                f"the first {count} contacts of the input are not those of the interrupted export; "
                "resume with the same contacts input"
            )

    # -- start, checkpoints, results ---------------------------------------------------------

    async def _open(self) -> None:
        exists = self._checkpoint_path.exists()
        if exists and not self._resume and not self._overwrite:
            raise ExportError(
                f"a checkpoint {str(self._checkpoint_path)!r} exists: resume the export "
                "(--resume), or delete the checkpoint to start over (--force)"
            )
        if not (exists and self._resume):
            if (
                not self._overwrite
                and self._out_path.exists()
                and self._out_path.stat().st_size > 0
            ):
                raise ExportError(
                    f"{str(self._out_path)!r} exists and has no checkpoint to resume from; "
                    "delete it or choose another output"
                )
            self._output = _Output(self._out_path, offset=0)
            return
        state = _Checkpoint.load(self._checkpoint_path)
        # The input is checked before the output is touched (truncated to the offset).
        await self._skip_consumed(state.next_index, state.input_digest)
        self._output = _Output(self._out_path, offset=state.offset)
        self._resumed = True
        # In progress and failed contacts go first, in input order (module rule 5).
        resumed = dict(state.in_progress)
        for index, failure in state.failed.items():
            resumed[index] = _Entry(failure.identifier, failure.resume_cursor)
        self.pending = dict(sorted(resumed.items()))
        self.upcoming.extend(self.pending)
        counters = state.counters
        self._done = int(counters.get("contacts_done", 0))
        self._messages = int(counters.get("messages", 0))
        self._pages = int(counters.get("pages", 0))
        self._earlier_requests = int(counters.get("requests", 0))
        self._earlier_rate_limited = int(counters.get("rate_limited", 0))
        self._earlier_elapsed = counters.get("elapsed", 0.0)

    def snapshot(self) -> ExportSnapshot:
        """
        The counters now.
        """
        stats = self._client.stats
        now = self._clock.monotonic()
        ran = now - self._started
        eta: float | None = None
        if self._total is not None and self._finished_this_run and ran > 0:
            left = max(0, self._total - self._done - len(self._failed))
            eta = left * ran / self._finished_this_run
        return ExportSnapshot(
            contacts_done=self._done,
            contacts_failed=len(self._failed),
            contacts_total=self._total,
            contacts_active=len(self.active),
            messages=self._messages,
            pages=self._pages,
            requests=self._earlier_requests + stats.requests - self._start_requests,
            rate_limited=self._earlier_rate_limited + stats.rate_limited - self._start_rate_limited,
            elapsed=self._earlier_elapsed + ran,
            eta=eta,
        )

    def _checkpoint(self) -> None:
        assert self._output is not None
        offset = self._output.sync()
        snapshot = self.snapshot()
        state = _Checkpoint(
            output=str(self._out_path),
            offset=offset,
            next_index=self._next_index,
            input_digest=self._digest.hexdigest(),
            in_progress=self.pending,
            failed=self._failed,
            counters={
                "contacts_done": snapshot.contacts_done,
                "contacts_failed": snapshot.contacts_failed,
                "messages": snapshot.messages,
                "pages": snapshot.pages,
                "requests": snapshot.requests,
                "rate_limited": snapshot.rate_limited,
                "elapsed": round(snapshot.elapsed, 3),
            },
        )
        _write_atomically(self._checkpoint_path, state.to_json())
        self._checkpointed = True
        self._last_checkpoint = self._clock.monotonic()
        self._pages_since_checkpoint = 0

    def _handle(self, result: PageResult | FailureResult) -> None:
        index = self.active.get(result.identifier)
        if index is None:  # pragma: no cover - list_many only returns what it was given
            raise AelystError(
                f"list_many returned a contact it was not given: {result.identifier!r}"
            )
        entry = self.pending[index]
        if isinstance(result, PageResult):
            items = result.page.items
            if items:
                contact = result.identifier
                assert self._output is not None
                self._output.write(
                    b"".join(
                        dump_json({"contact": contact, "message": converter.unstructure(message)})
                        + b"\n"
                        for message in items
                    )
                )
            self._messages += len(items)
            self._pages += 1
            self._pages_since_checkpoint += 1
            if result.resume_cursor is None:
                del self.pending[index]
                self._release(entry.identifier)
                self._done += 1
                self._finished_this_run += 1
            else:
                entry.cursor = result.resume_cursor
        else:
            if isinstance(result.error, AuthenticationError):
                raise result.error  # module rule 8: the entry stays in progress
            # Our own cursor, not the error's: it is where this contact's output ends.
            del self.pending[index]
            self._release(entry.identifier)
            self._failed[index] = FailedContact(
                index=index,
                identifier=entry.identifier,
                error=type(result.error).__name__,
                message=str(result.error),
                resume_cursor=entry.cursor,
            )
            self._finished_this_run += 1
        if (
            self._pages_since_checkpoint >= self._checkpoint_pages
            or self._clock.monotonic() - self._last_checkpoint >= self._checkpoint_interval
        ):
            self._checkpoint()

    def _designate(self) -> dict[str, int]:
        """
        For the next stream: the occurrence each resume cursor is for (module rule 6).
        """
        designated: dict[str, int] = {}
        seen: set[str] = set()
        for index in self.upcoming:
            entry = self.pending[index]
            if entry.identifier not in seen:
                seen.add(entry.identifier)
                if entry.cursor is not None:
                    designated[entry.identifier] = index
        return designated

    async def _tick(self) -> None:
        assert self._progress is not None
        while True:
            self._progress.update(self.snapshot())
            await self._clock.sleep(_PROGRESS_TICK)

    async def run(self) -> ExportSummary:
        ticker: asyncio.Task[None] | None = None
        saved = False
        try:
            await self._open()
            self._checkpoint()
            if self._progress is not None:
                ticker = asyncio.create_task(self._tick())
            while True:
                designated = self._designate()
                cursors: dict[str, str] = {}
                for identifier, index in designated.items():
                    cursor = self.pending[index].cursor
                    if cursor is not None:
                        cursors[identifier] = cursor
                async with self._client.messages.list_many(
                    _Feed(self, designated),
                    concurrency=self._concurrency,
                    limit=self._limit,
                    cursors=cursors,
                ) as stream:
                    async for result in stream:
                        self._handle(result)
                if self._source_error is not None:
                    raise self._source_error
                if not self.upcoming:
                    break
            self._checkpoint()
            saved = True
            return ExportSummary(
                output=self._out_path,
                checkpoint=self._checkpoint_path,
                snapshot=self.snapshot(),
                failed=tuple(failure for _, failure in sorted(self._failed.items())),
                resumed=self._resumed,
            )
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
            output = self._output
            if output is not None:
                # Rule 4: stopped for any reason, once the export has started (its first
                # checkpoint written) and unless the output is in doubt.
                if not saved and self._checkpointed and not output.broken:
                    with contextlib.suppress(OSError):
                        self._checkpoint()
                output.close()
                if self._progress is not None:
                    self._progress.close(self.snapshot())


async def run_export(
    client: AelystClient,
    contacts: Iterable[str] | AsyncIterable[str],
    out: str | os.PathLike[str],
    *,
    concurrency: int = 8,
    limit: int | None = 50,
    resume: bool = False,
    overwrite: bool = False,
    checkpoint: str | os.PathLike[str] | None = None,
    progress: ExportProgress | None = None,
    total: int | None = None,
    clock: Clock | None = None,
    checkpoint_interval: float = 0.5,
    checkpoint_pages: int = 200,
) -> ExportSummary:
    """
    Export the messages of many contacts to a JSON Lines file, resumably.

    Args:
        client: The client to list with (its rate limiter paces the whole export).
        contacts: The input: lines of identifiers, blank lines and `#` comments allowed; a
            file object, a list, or an async iterable; read lazily.
        out: The JSON Lines file written.
        concurrency: Contacts listed at once.
        limit: Page size, 1 to 50.
        resume: Finish the export a checkpoint describes (retrying its failed contacts), or
            start one when there is neither checkpoint nor output.
        overwrite: Start over even if a checkpoint or an output exists.
        checkpoint: The checkpoint file; `<out>.checkpoint.json` by default.
        progress: Told where the export stands, every fraction of a second.
        total: How many contacts the input has, when known (for the ETA).
        clock: The clock of the checkpoint and progress intervals.
        checkpoint_interval: Seconds between two checkpoints, at most.
        checkpoint_pages: Pages between two checkpoints, at most.

    Returns:
        The summary: counters and failed contacts. The checkpoint is kept, so that
        `resume=True` retries the failed contacts (and reads any contacts added to the input).

    Raises:
        ExportError: When a checkpoint or output is in the way (without `resume`), or the
            checkpoint does not match the output or the input.
        AuthenticationError: When the API refuses the token; resume with the right one.
        InvalidArgumentError: For an invalid option.
        OSError: When a file cannot be read or written.

    Example:
        ```python
        async with AelystClient() as client:
            with open("contacts.txt", encoding="utf-8") as contacts:
                summary = await run_export(client, contacts, "messages.jsonl", resume=True)
        print(summary.snapshot.messages, [f.identifier for f in summary.failed])
        ```
    """
    if isinstance(contacts, str):
        raise InvalidArgumentError("contacts must be an iterable of lines, not one string")
    if (
        isinstance(checkpoint_pages, bool)
        or not isinstance(checkpoint_pages, int)
        or checkpoint_pages < 1
    ):
        raise InvalidArgumentError(
            f"checkpoint_pages must be an integer >= 1, not {checkpoint_pages!r}"
        )
    if not checkpoint_interval >= 0:
        raise InvalidArgumentError(f"checkpoint_interval must be >= 0, not {checkpoint_interval!r}")
    concurrency = check_concurrency(concurrency)
    limit = check_limit(limit)
    out_path = Path(out)
    job = _Export(
        client,
        contacts,
        out_path,
        checkpoint=Path(checkpoint)
        if checkpoint is not None
        else default_checkpoint_path(out_path),
        concurrency=concurrency,
        limit=limit,
        resume=resume,
        overwrite=overwrite,
        progress=progress,
        total=total,
        clock=clock or SystemClock(),
        checkpoint_interval=checkpoint_interval,
        checkpoint_pages=checkpoint_pages,
    )
    return await job.run()
