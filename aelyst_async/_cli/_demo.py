"""
`aelyst demo`: export a fake server's contacts under a rate limit, then check the output.
"""

from __future__ import annotations

import collections
import contextlib
import secrets
import sys
import tempfile
from pathlib import Path

import click
import orjson

from .._client import AelystClient
from .._clock import SystemClock
from .._export import ExportOptions, run_export
from ..testing._data import MAX_CONTACTS
from ._errors import EXIT_ERROR, Failure, run
from ._progress import make_progress
from ._shared import (
    ProgressMode,
    concurrency_option,
    count_option,
    file_option,
    messages_option,
    progress_options,
    reports_errors,
)
from ._verbose import verbose_option

__all__ = ["count_lines", "demo", "describe_rate", "run_demo"]


def count_lines(path: Path) -> collections.Counter[tuple[str, int]]:
    """
    The (contact, messageId) pairs of an export's output, with how often each occurs.
    """
    seen: collections.Counter[tuple[str, int]] = collections.Counter()
    with open(path, "rb") as lines:
        for line in lines:
            record = orjson.loads(line)
            seen[(record["contact"], record["message"]["messageId"])] += 1
    return seen


def describe_rate(answered: int, elapsed: float, rate_limit: int) -> list[str]:
    """
    The demo summary's `rate` and `sustained` lines: how close the export came to the limit.

    The server's bucket starts full, so its first `rate_limit` requests are a free burst that
    says nothing of the pace; the pace is measured on the requests after it, and only when
    there are at least a second's worth of them (a shorter run would read 0% or 1800%).

    Args:
        answered: The requests the server answered with 200.
        elapsed: The export's duration, in seconds.
        rate_limit: The server's limit, requests per second.
    """
    per_second = answered / elapsed if elapsed > 0 else 0.0
    after_burst = answered - rate_limit
    lines = [
        f"  rate         {per_second:,.1f} successful requests/s, the first {rate_limit:,} "
        "in a burst (the server's bucket starts full)"
    ]
    if after_burst < rate_limit or elapsed <= 0:
        lines.append(
            f"  sustained    not measured: {answered:,} requests are too few beyond the burst "
            f"of {rate_limit:,} (export more contacts with --contacts)"
        )
    else:
        sustained = after_burst / elapsed
        lines.append(
            f"  sustained    {sustained:,.1f} requests/s after the burst = "
            f"{sustained / rate_limit:.0%} of the {rate_limit:,}/s limit"
        )
    return lines


async def run_demo(
    *,
    contacts: int,
    messages: int | tuple[int, int],
    rate_limit: int,
    concurrency: int,
    out: Path | None,
    progress: ProgressMode,
    progress_every: float,
) -> bool:
    """
    `aelyst demo`: export a fake server's contacts under a rate limit, then check the output.

    Returns:
        Whether the output holds every message of the server exactly once.
    """
    from ..testing import Dataset, FakeAelystServer, RateLimitConfig

    token = secrets.token_urlsafe(16)
    dataset = Dataset(seed=0, contacts=contacts, messages=messages)
    keep = out is not None
    with contextlib.ExitStack() as stack:
        if out is None:
            out = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="aelyst-demo-"))) / (
                "messages.jsonl"
            )
        async with FakeAelystServer(
            token=token,
            dataset=dataset,
            rate_limit=RateLimitConfig(requests=rate_limit, window=1.0),
        ) as server:
            print(
                f"demo: a fake Aelyst server on {server.url} with {contacts:,} contacts and "
                f"{dataset.total_messages:,} messages, rate limit {rate_limit}/s",
                file=sys.stdout,
                flush=True,
            )
            clock = SystemClock()
            # The server is in this process, on 127.0.0.1: a proxy of the environment has no
            # part in it (and may not even be reachable).
            async with AelystClient(
                token, base_url=server.url, clock=clock, trust_env=False
            ) as client:
                started = clock.monotonic()
                options = ExportOptions(
                    concurrency=concurrency,
                    overwrite=True,
                    total=contacts,
                    progress=make_progress(
                        progress, every=progress_every, stream=sys.stderr, title="demo"
                    ),
                )
                summary = await run_export(client, dataset.identifiers(), out, options=options)
                elapsed = clock.monotonic() - started
            answered = server.stats.by_status.get(200, 0)
        truth: collections.Counter[tuple[str, int]] = collections.Counter(
            (identifier, message["messageId"])
            for identifier in dataset.identifiers()
            for message in dataset.messages(identifier)
        )
        written = count_lines(out)
        where = f"{out}" if keep else "a temporary file (keep it with --out)"
        snap = summary.snapshot
        verified = written == truth and summary.ok
        lines = [
            "demo summary",
            f"  contacts     {snap.contacts_done:,} exported, {snap.contacts_failed:,} failed",
            f"  messages     {snap.messages:,} written to {where}",
            f"  requests     {snap.requests:,} sent, {snap.rate_limited:,} rate-limited (429)",
            f"  elapsed      {elapsed:.1f}s",
            *describe_rate(answered, elapsed, rate_limit),
        ]
        if verified:
            lines.append(
                f"  verified     all {sum(truth.values()):,} messages of the server, "
                "each exactly once"
            )
        else:
            missing = sum((truth - written).values())
            extra = sum((written - truth).values())
            lines.append(
                f"  MISMATCH     {missing:,} messages missing, {extra:,} unexpected or repeated"
            )
        print("\n".join(lines), file=sys.stdout, flush=True)
        return verified


@click.command()
@count_option(
    "--contacts", low=1, high=MAX_CONTACTS, default=300, metavar=None, help="Contacts to export."
)
@messages_option
@count_option(
    "--rate-limit",
    low=1,
    default=50,
    metavar="R",
    help="The server's limit, requests per second.",
)
@concurrency_option
@file_option("--out", help="Keep the output here (default: a temporary directory).")
@click.option("--force", is_flag=True, help="Overwrite the --out file if it exists.")
@progress_options
@verbose_option
@reports_errors
def demo(
    contacts: int,
    messages: int | tuple[int, int],
    rate_limit: int,
    concurrency: int,
    out: Path | None,
    force: bool,
    progress: ProgressMode,
    progress_every: float,
) -> None:
    """
    Export a fake server's messages under a rate limit, and check the output.

    Needs no token and no network: the server runs in this process, on 127.0.0.1.
    """
    if out is not None and not force and out.exists():
        raise Failure(f"{str(out)!r} exists: choose another --out, or overwrite it with --force")
    verified = run(
        lambda: run_demo(
            contacts=contacts,
            messages=messages,
            rate_limit=rate_limit,
            concurrency=concurrency,
            out=out,
            progress=progress,
            progress_every=progress_every,
        )
    )
    if not verified:
        raise click.exceptions.Exit(EXIT_ERROR)
