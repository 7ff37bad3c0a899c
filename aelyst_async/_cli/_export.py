"""
`aelyst export`: many contacts' messages to a JSON Lines file, resumably.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import AsyncIterable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

import click

from .._exceptions import InvalidArgumentError
from .._export import (
    ExportOptions,
    ExportSummary,
    count_contacts,
    read_lines_in_thread,
    run_export,
)
from .._routes import MAX_LIMIT
from .._sharding import Shard
from ._errors import EXIT_FAILED_CONTACTS, EXIT_INTERRUPTED, Failure, run
from ._progress import make_progress
from ._shared import (
    ProgressMode,
    base_url_option,
    concurrency_option,
    count_option,
    file_option,
    limiter_option,
    make_client,
    opened,
    progress_options,
    proxy_option,
    reports_errors,
    token_option,
)
from ._verbose import verbose_option

__all__ = ["describe_summary", "export", "print_failures"]


def _contacts(count: int) -> str:
    return f"{count:,} contact{'' if count == 1 else 's'}"


def print_failures(summary: ExportSummary, stream: TextIO) -> None:
    """
    List the failed contacts of an export, one per line: first those that failed for good
    (`--resume` does not retry them), then those that may succeed later (it does).
    """
    permanent = [failure for failure in summary.failed if failure.permanent]
    retryable = summary.retryable
    for failures, why in (
        (permanent, "failed permanently (--resume does not retry them)"),
        (retryable, "failed for now"),
    ):
        if failures:
            print(f"{_contacts(len(failures))} {why}:", file=stream)
            for failure in failures:
                print(f"  {failure.identifier}: {failure.error}: {failure.message}", file=stream)
    if retryable:
        print(
            f"run the same command with --resume to retry the {_contacts(len(retryable))} "
            f"that failed for now (every failure is listed in {summary.checkpoint})",
            file=stream,
        )


def describe_summary(summary: ExportSummary) -> str:
    """
    The line `aelyst export` ends with: what was exported, how fast, and where to.
    """
    snap = summary.snapshot
    failed = f", {snap.contacts_failed:,} failed" if snap.contacts_failed else ""
    counts = f"{snap.contacts_done:,} contacts{failed}: {snap.messages:,} messages"
    if summary.already_complete:
        return (
            f"the export to {summary.output} is already complete ({counts}); "
            "--force starts it over, --resume reads contacts added to the input since"
        )
    elapsed = f"{snap.run_elapsed:.1f}s"
    if snap.earlier_elapsed:
        elapsed += f" ({snap.elapsed:.1f}s in all runs)"
    return (
        f"exported {counts} in {elapsed} ({snap.requests:,} requests, "
        f"{snap.rate_limited:,} rate-limited) to {summary.output}"
    )


@contextlib.contextmanager
def _contacts_input(
    source: str, shard: Shard | None
) -> Iterator[tuple[Iterable[str] | AsyncIterable[str], int | None]]:
    """
    The contacts of `--contacts`: a regular file is counted (those of `shard`, for the ETA),
    then read line by line; stdin (`-`) or a pipe (`<(...)`) is read once, by a thread.
    """
    if source == "-":
        if sys.stdin.isatty():
            print(
                "reading contacts from the terminal, one per line; end with Ctrl-D", file=sys.stderr
            )
        yield read_lines_in_thread(sys.stdin), None
        return
    if not stat.S_ISREG(os.stat(source).st_mode):
        with open(source, encoding="utf-8") as pipe:
            yield read_lines_in_thread(pipe), None
        return
    total = count_contacts(source, shard)
    with open(source, encoding="utf-8") as lines:
        yield lines, total


def _parse_shard(ctx: click.Context, param: click.Parameter, value: str | None) -> Shard | None:
    if value is None:
        return None
    try:
        return Shard.parse(value)
    except InvalidArgumentError as error:
        raise click.BadParameter(str(error), ctx, param) from None


@click.command()
@click.option(
    "--contacts",
    "contacts_source",
    required=True,
    metavar="FILE|-",
    help="Identifiers, one per line (blank lines and # comments skipped); - for stdin.",
)
@file_option(
    "--out",
    required=True,
    help="The JSON Lines file to write: one message per line with its contact.",
)
@concurrency_option
@count_option("--limit", low=1, high=MAX_LIMIT, default=MAX_LIMIT, metavar=None, help="Page size.")
@click.option(
    "--resume",
    is_flag=True,
    help=(
        "Finish an interrupted export from its checkpoint; contacts that failed on an "
        "error that may pass (a timeout, a 5xx, a 429) are retried, not those refused "
        "for good (a 404, an invalid identifier)."
    ),
)
@click.option("--force", is_flag=True, help="Start over, overwriting the output and checkpoint.")
@file_option(
    "--checkpoint",
    help=(
        "The checkpoint file (default: <out>.checkpoint.json; "
        "<out>.shard-K-of-N.checkpoint.json with --shard)."
    ),
)
@click.option(
    "--shard",
    metavar="K/N",
    callback=_parse_shard,
    help=(
        "Export only shard K of N (K from 0), e.g. a Kubernetes Indexed Job's "
        "$JOB_COMPLETION_INDEX/N: the N shards of one input hold each message once."
    ),
)
@limiter_option
@progress_options
@token_option
@base_url_option
@proxy_option
@verbose_option
@reports_errors
def export(
    contacts_source: str,
    out: Path,
    concurrency: int,
    limit: int,
    resume: bool,
    force: bool,
    checkpoint: Path | None,
    shard: Shard | None,
    limiter: str | None,
    progress: ProgressMode,
    progress_every: float,
    token: str | None,
    base_url: str | None,
    proxy: str | None,
) -> None:
    """
    Export the messages of many contacts to a JSON Lines file, resumably.

    A checkpoint next to the output records what is written: after Ctrl-C, kill -9 or a
    crash, run the same command with --resume and every message ends up in the output
    exactly once. Failed contacts are listed at the end and kept in the checkpoint.
    """
    if resume and force:
        raise Failure("--resume and --force exclude each other")
    client = make_client(token, base_url, proxy, limiter)
    options = ExportOptions(
        concurrency=concurrency,
        limit=limit,
        resume=resume,
        overwrite=force,
        checkpoint=checkpoint,
        shard=shard,
        progress=make_progress(progress, every=progress_every, stream=sys.stderr, title="export"),
    )

    async def work() -> ExportSummary:
        with _contacts_input(contacts_source, shard) as (contacts, total):
            async with opened(client):
                return await run_export(client, contacts, out, options=options, total=total)

    try:
        summary = run(work)
    except Failure as error:
        if error.status == EXIT_INTERRUPTED:
            raise Failure(
                "interrupted; the checkpoint is saved: run the same command with --resume "
                "to finish",
                EXIT_INTERRUPTED,
            ) from None
        raise
    click.echo(describe_summary(summary))
    print_failures(summary, sys.stderr)
    if not summary.ok:
        raise click.exceptions.Exit(EXIT_FAILED_CONTACTS)
