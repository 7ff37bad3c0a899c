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
   resume cursor, the shard exported (`ExportOptions.shard`), and the counters. Every
   consumed contact is, at that instant, exactly one of: complete (all its pages are before
   `offset`), in progress, or failed.
4. A checkpoint is written atomically: a temporary file, fsync, `os.replace`, fsync of the
   directory. One is written when the export starts; then, after a page, whenever
   `checkpoint_interval` seconds or `checkpoint_pages` pages (`ExportOptions`) have passed
   since the last one; and when the export stops for any reason (finished, failed,
   cancelled), unless a write to the output failed (or rule 9 applies). So a crash loses
   at most that much work, never consistency.
5. Resuming truncates the output to `offset`: lines after it are of pages that no checkpoint
   recorded, and they are fetched again. Then it checks that the first `next_index` contacts
   of the input are the ones the checkpoint consumed (same digest), skips them, lists the
   in-progress contacts from their cursors, retries the failed ones from their resume cursor,
   and goes on with the rest of the input. Hence exactly once: a page is in the output before
   `offset` if and only if the checkpoint counts it as written.
6. Each line of the input is exported: a repeated identifier is exported once per occurrence
   (the output follows the input line by line). Each occurrence is listed as its own
   `ListRequest`, from its own resume cursor, and its pages come back with its request, so
   occurrences of one identifier never mix, even when they are listed at the same time.
7. Without `resume`, an existing checkpoint (but see rule 10), or an existing non-empty
   output, is an error: nothing is clobbered unless `overwrite=True`. A lock on the output
   stops a second export from writing to it at the same time.
8. A 401 ends the export (the token is wrong for every contact): the contact goes back in
   progress, the checkpoint is written and `AuthenticationError` is raised. Any other error of
   a contact fails that contact only: permanently when it would come back on every retry (an
   invalid identifier, a 404: `is_permanent`), and then resuming keeps it failed; otherwise
   resuming retries it.
9. A first run that stops before it wrote a page or failed a contact (a 401 at once, say)
   deletes its checkpoint instead of saving it: there is nothing to resume, and running the
   same command again just starts.
10. The last checkpoint of a run that went through its whole input says it is `complete`.
   Run again without `resume` or `overwrite`, a complete export whose failures are all
   permanent is not an error: the run does nothing and its summary says `already_complete`.

Modules, by concern: `_options` (`ExportOptions`), `_input` (the contacts), `_schedule` (which
contact is listed next), `_output` (the files written), `_checkpoint` (its format), `_progress`
(what a display is told), `_results` (the summary), `_job` (one run, tying them together).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, Iterable
from typing import TYPE_CHECKING

import attrs

from .._checks import check_instance, check_path
from .._exceptions import ExportError, InvalidArgumentError
from ._checkpoint import CHECKPOINT_FORMAT, CHECKPOINT_VERSION
from ._input import count_contacts, iter_contacts, read_lines_in_thread
from ._job import ExportJob
from ._options import ExportOptionChanges, ExportOptions, default_checkpoint_path
from ._progress import (
    ExportProgress,
    ExportSnapshot,
    PlainProgress,
    describe_progress,
    format_duration,
)
from ._results import ExportSummary, FailedContact, is_permanent

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._client import AelystClient

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "ExportError",
    "ExportOptionChanges",
    "ExportOptions",
    "ExportProgress",
    "ExportSnapshot",
    "ExportSummary",
    "FailedContact",
    "PlainProgress",
    "count_contacts",
    "default_checkpoint_path",
    "describe_progress",
    "format_duration",
    "is_permanent",
    "iter_contacts",
    "read_lines_in_thread",
    "run_export",
]


async def run_export(
    client: AelystClient,
    contacts: Iterable[str] | AsyncIterable[str],
    out: str | os.PathLike[str],
    *,
    options: ExportOptions | None = None,
    **changes: Unpack[ExportOptionChanges],
) -> ExportSummary:
    """
    Export the messages of many contacts to a JSON Lines file, resumably.

    Args:
        client: The client to list with (its rate limiter paces the whole export).
        contacts: The input: lines of identifiers, blank lines and `#` comments allowed; a
            file object, a list, or an async iterable; read lazily.
        out: The JSON Lines file written.
        options: How to run the export; `ExportOptions()` by default.
        **changes: Any field of `ExportOptions` by name (`concurrency=4`, `resume=True`, ...),
            replacing the one of `options`.

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
    if isinstance(contacts, str) or not isinstance(contacts, (Iterable, AsyncIterable)):
        raise InvalidArgumentError(
            f"contacts must be an iterable of lines (or an async one), not {contacts!r:.80}"
        )
    given = check_instance("options", options, ExportOptions, optional=True)
    options = attrs.evolve(given or ExportOptions(), **changes)
    return await ExportJob(client, contacts, check_path("out", out), options).run()
