"""
One run of an export: open or resume it, write each page, checkpoint, and stop cleanly (the
package's rules).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from .._bulk import FailureResult, ListRequest, PageResult
from .._clock import Clock, SystemClock
from .._exceptions import AelystError, AuthenticationError, ExportError
from .._tasks import stop_tasks
from ._checkpoint import Checkpoint, Entry
from ._input import ContactsInput
from ._options import ExportOptions
from ._output import Output, write_atomically
from ._progress import PROGRESS_TICK, ExportSnapshot
from ._results import ExportSummary, FailedContact, is_permanent
from ._schedule import Schedule

if TYPE_CHECKING:
    from .._client import AelystClient

__all__ = ["ExportJob"]


@attrs.define
class _Tally:
    """
    The counters of the whole job: the earlier runs' (from the checkpoint) and this run's.
    """

    done: int = 0
    messages: int = 0
    pages: int = 0
    earlier_requests: int = 0
    earlier_rate_limited: int = 0
    earlier_elapsed: float = 0.0
    finished_this_run: int = 0

    @classmethod
    def restore(cls, counters: dict[str, float]) -> _Tally:
        return cls(
            done=int(counters.get("contacts_done", 0)),
            messages=int(counters.get("messages", 0)),
            pages=int(counters.get("pages", 0)),
            earlier_requests=int(counters.get("requests", 0)),
            earlier_rate_limited=int(counters.get("rate_limited", 0)),
            earlier_elapsed=counters.get("elapsed", 0.0),
        )


def _describe_shard(shard: str | None) -> str:
    return "the whole input" if shard is None else f"shard {shard}"


class ExportJob:
    """
    One run of an export (see the package's rules); `run_export` is its public face.

    Args:
        client: The client to list with.
        contacts: The input.
        out: The JSON Lines file.
        options: How to run.
    """

    def __init__(
        self,
        client: AelystClient,
        contacts: Iterable[str] | AsyncIterable[str],
        out: Path,
        options: ExportOptions,
    ) -> None:
        self._client = client
        self._out_path = out
        self._checkpoint_path = options.checkpoint_of(out)
        self._options = options
        self._clock: Clock = options.clock or SystemClock()
        self._shard = None if options.shard is None else str(options.shard)
        self._contacts = ContactsInput(contacts, options.shard)
        self._schedule = Schedule(self._contacts)
        self._failed: dict[int, FailedContact] = {}
        self._checkpointed = False
        self._resumed = False
        self._tally = _Tally()
        self._start_requests = client.stats.requests
        self._start_rate_limited = client.stats.rate_limited
        self._started = self._clock.monotonic()
        self._last_checkpoint = self._started
        self._pages_since_checkpoint = 0

    async def _open(self) -> Output:
        """
        Open the output, resuming from the checkpoint when asked to (rules 5 and 7).
        """
        options = self._options
        exists = self._checkpoint_path.exists()
        if exists and not options.resume and not options.overwrite:
            raise ExportError(
                f"a checkpoint {str(self._checkpoint_path)!r} exists: resume the export "
                "(--resume), or delete the checkpoint to start over (--force)"
            )
        if not (exists and options.resume):
            if (
                not options.overwrite
                and self._out_path.exists()
                and self._out_path.stat().st_size > 0
            ):
                raise ExportError(
                    f"{str(self._out_path)!r} exists and has no checkpoint to resume from; "
                    "delete it or choose another output"
                )
            return Output(self._out_path, offset=0)
        state = self._load_checkpoint()
        # The input is checked before the output is touched (truncated to the offset).
        await self._contacts.skip_consumed(state.next_index, state.input_digest)
        output = Output(self._out_path, offset=state.offset)
        self._resumed = True
        # In progress and transiently failed contacts go first, in input order; permanent
        # failures stay failed (they would fail again).
        unfinished = dict(state.in_progress)
        for index, failure in state.failed.items():
            if failure.permanent:
                self._failed[index] = failure
            else:
                unfinished[index] = Entry(failure.identifier, failure.resume_cursor)
        self._schedule.restore(unfinished)
        self._tally = _Tally.restore(state.counters)
        return output

    def _summary(
        self, snapshot: ExportSnapshot, *, already_complete: bool = False
    ) -> ExportSummary:
        return ExportSummary(
            output=self._out_path,
            checkpoint=self._checkpoint_path,
            snapshot=snapshot,
            failed=tuple(failure for _, failure in sorted(self._failed.items())),
            resumed=self._resumed,
            already_complete=already_complete,
        )

    def _load_checkpoint(self) -> Checkpoint:
        """
        The checkpoint, which must be of this export's shard.

        Raises:
            ExportError: When it is damaged, or of another shard.
        """
        state = Checkpoint.load(self._checkpoint_path)
        if state.shard != self._shard:
            raise ExportError(
                f"the checkpoint {str(self._checkpoint_path)!r} is of "
                f"{_describe_shard(state.shard)}, not of {_describe_shard(self._shard)}: "
                "resume it with the same shard"
            )
        return state

    def _finished_earlier(self) -> ExportSummary | None:
        """
        The summary of an export the checkpoint says is complete, with no failure to retry,
        when this run is neither a resume nor a start over (rule 10); `None` otherwise.
        """
        options = self._options
        if options.resume or options.overwrite or not self._checkpoint_path.exists():
            return None
        state = self._load_checkpoint()
        if not state.complete or not all(failure.permanent for failure in state.failed.values()):
            return None
        self._failed = dict(state.failed)
        tally = _Tally.restore(state.counters)
        snapshot = ExportSnapshot(
            contacts_done=tally.done,
            contacts_failed=len(self._failed),
            contacts_total=options.total,
            contacts_active=0,
            messages=tally.messages,
            pages=tally.pages,
            requests=tally.earlier_requests,
            rate_limited=tally.earlier_rate_limited,
            elapsed=tally.earlier_elapsed,
            earlier_elapsed=tally.earlier_elapsed,
        )
        return self._summary(snapshot, already_complete=True)

    def snapshot(self) -> ExportSnapshot:
        """
        The counters now.
        """
        stats = self._client.stats
        tally = self._tally
        total = self._options.total
        ran = self._clock.monotonic() - self._started
        eta: float | None = None
        if total is not None and tally.finished_this_run and ran > 0:
            left = max(0, total - tally.done - len(self._failed))
            eta = left * ran / tally.finished_this_run
        return ExportSnapshot(
            contacts_done=tally.done,
            contacts_failed=len(self._failed),
            contacts_total=total,
            contacts_active=self._schedule.active,
            messages=tally.messages,
            pages=tally.pages,
            requests=tally.earlier_requests + stats.requests - self._start_requests,
            rate_limited=tally.earlier_rate_limited + stats.rate_limited - self._start_rate_limited,
            elapsed=tally.earlier_elapsed + ran,
            earlier_elapsed=tally.earlier_elapsed,
            eta=eta,
        )

    def _checkpoint(self, output: Output, *, complete: bool = False) -> None:
        offset = output.sync()
        snapshot = self.snapshot()
        state = Checkpoint(
            output=str(self._out_path),
            offset=offset,
            next_index=self._contacts.consumed,
            input_digest=self._contacts.digest(),
            in_progress=self._schedule.in_progress(),
            failed=self._failed,
            shard=self._shard,
            counters={
                "contacts_done": snapshot.contacts_done,
                "contacts_failed": snapshot.contacts_failed,
                "messages": snapshot.messages,
                "pages": snapshot.pages,
                "requests": snapshot.requests,
                "rate_limited": snapshot.rate_limited,
                "elapsed": round(snapshot.elapsed, 3),
            },
            complete=complete,
        )
        write_atomically(self._checkpoint_path, state.to_json())
        self._checkpointed = True
        self._last_checkpoint = self._clock.monotonic()
        self._pages_since_checkpoint = 0

    def _handle(self, output: Output, result: PageResult | FailureResult) -> None:
        request = result.item
        if not isinstance(request, ListRequest):  # pragma: no cover - the export gives requests
            raise AelystError(f"list_many returned an item it was not given: {request!r}")
        tally = self._tally
        if isinstance(result, PageResult):
            items = result.page.items
            if items:
                # Imported with the first page written, not with the SDK (see `_decoding`).
                from .._converter import converter, dump_json

                contact = result.identifier
                output.write(
                    b"".join(
                        dump_json({"contact": contact, "message": converter.unstructure(message)})
                        + b"\n"
                        for message in items
                    )
                )
            tally.messages += len(items)
            tally.pages += 1
            self._pages_since_checkpoint += 1
            if result.resume_cursor is None:
                self._schedule.finish(request)
                tally.done += 1
                tally.finished_this_run += 1
            else:
                self._schedule.advance(self._schedule.index_of(request), result.resume_cursor)
        else:
            if isinstance(result.error, AuthenticationError):
                raise result.error  # rule 8: the entry stays in progress
            # Our own cursor, not the error's: it is where this contact's output ends.
            index, entry = self._schedule.finish(request)
            self._failed[index] = FailedContact(
                index=index,
                identifier=entry.identifier,
                error=type(result.error).__name__,
                message=str(result.error),
                resume_cursor=entry.cursor,
                permanent=is_permanent(result.error),
            )
            tally.finished_this_run += 1
        if (
            self._pages_since_checkpoint >= self._options.checkpoint_pages
            or self._clock.monotonic() - self._last_checkpoint >= self._options.checkpoint_interval
        ):
            self._checkpoint(output)

    async def _tick(self, ended: asyncio.Event) -> None:
        progress = self._options.progress
        assert progress is not None
        while not ended.is_set():  # a clock that swallowed the cancellation updates no more
            progress.update(self.snapshot())
            await self._clock.sleep(PROGRESS_TICK)

    async def _export(self, output: Output) -> None:
        """
        List every contact of the input, each occurrence from its own cursor (rule 6),
        writing each page.
        """
        async with self._client.messages.list_many(
            self._schedule.requests(),
            concurrency=self._options.concurrency,
            limit=self._options.limit,
        ) as stream:
            async for result in stream:
                self._handle(output, result)
        self._contacts.raise_error()

    async def run(self) -> ExportSummary:
        """
        Run the export to its end (see the package's rules).
        """
        progress = self._options.progress
        ticker: asyncio.Task[None] | None = None
        ended = asyncio.Event()
        output: Output | None = None
        saved = False
        try:
            finished = self._finished_earlier()
            if finished is not None:
                return finished
            output = await self._open()
            self._checkpoint(output)
            if progress is not None:
                ticker = asyncio.create_task(self._tick(ended))
            await self._export(output)
            self._checkpoint(output, complete=True)
            saved = True
            return self._summary(self.snapshot())
        finally:
            ended.set()  # the ticker updates no more, even if its clock's sleep returns
            if output is not None:
                # Rule 4: stopped for any reason, once the export has started (its first
                # checkpoint written) and unless the output is in doubt.
                if not saved and self._checkpointed and not output.broken:
                    with contextlib.suppress(OSError):
                        if self._resumed or self._tally.pages or self._failed:
                            self._checkpoint(output)
                        else:  # rule 9: nothing to resume
                            self._checkpoint_path.unlink()
                output.close()
            try:
                if ticker is not None:
                    # After the files, as it awaits; bounded even when the clock's sleep
                    # swallows the cancellation (`_tasks`).
                    await stop_tasks([ticker])
                    if ticker.done() and not ticker.cancelled():
                        ticker.result()  # the progress display's own error
            finally:  # even when the stop is cancelled: no live display is left behind
                if output is not None and progress is not None:
                    progress.close(self.snapshot())
