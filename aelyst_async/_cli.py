"""
The `aelyst` command line: `messages list`, `export`, `mock-server` and `demo`.

Rules:

1. Only this module imports click and rich (the `cli` extra), and only when `main()` runs:
   the core package never imports it, and without the extra `main()` prints one line saying
   what to install.
2. Every error a user can cause (no token, a bad identifier, an HTTP error, a file that cannot
   be read, a checkpoint in the way) is one line on stderr, `error: ...`, and a non-zero exit;
   never a traceback. Exit statuses: 0 done, 1 error, 2 usage, 3 an export finished with
   failed contacts, 130 interrupted (Ctrl-C or SIGTERM).
3. The token is never printed: not in help (no defaults shown for it), errors or summaries.
   The one exception is `mock-server`, whose token is a fake one for local tests.
4. Ctrl-C and SIGTERM cancel the running command at an `await`, so an export stops between
   two pages and saves its checkpoint.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as _dt
import os
import secrets
import signal
import stat
import sys
import tempfile
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, NoReturn, TextIO, TypeVar

import orjson

from ._client import BASE_URL_ENV, TOKEN_ENV, AelystClient
from ._converter import converter, dump_json
from ._exceptions import AelystError
from ._export import (
    ExportProgress,
    ExportSnapshot,
    ExportSummary,
    PlainProgress,
    count_contacts,
    format_duration,
    read_lines_in_thread,
    run_export,
)
from ._models import Message, TextMessage, UnknownMessage

if TYPE_CHECKING:
    import click
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from .testing import Fault, FaultPlan

__all__ = ["build_cli", "main"]

T = TypeVar("T")

EXIT_ERROR: Final = 1
EXIT_FAILED_CONTACTS: Final = 3
EXIT_INTERRUPTED: Final = 130
INSTALL_HINT: Final = (
    "aelyst: the command line needs click and rich: pip install 'aelyst-async[cli]'"
)
ProgressMode = Literal["auto", "bar", "lines", "none"]


class _Failure(Exception):
    """
    An error to print as one line, with the exit status to leave with.
    """

    def __init__(self, message: str, status: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.status = status


def _one_line(error: BaseException) -> str:
    """
    An error as one line of text (module rule 2).
    """
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        text = f"{where}{error.strerror}"
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())


def _run(work: Callable[[], Awaitable[T]]) -> T:
    """
    Run a coroutine in a new event loop; Ctrl-C and SIGTERM cancel it (module rule 4).

    Raises:
        _Failure: For an SDK or OS error, or an interruption.
    """
    received: list[int] = []

    async def main() -> T:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM)
        for number in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows, threads

                def stop(number: int = number) -> None:
                    received.append(number)
                    task.cancel()

                loop.add_signal_handler(number, stop)
        try:
            return await work()
        finally:
            for number in signals:
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(number)

    try:
        return asyncio.run(main())
    except asyncio.CancelledError:
        if not received:
            raise
        raise _Failure("interrupted", EXIT_INTERRUPTED) from None
    except KeyboardInterrupt:
        raise _Failure("interrupted", EXIT_INTERRUPTED) from None
    except (AelystError, OSError) as error:
        raise _Failure(_one_line(error)) from None
    except UnicodeDecodeError as error:
        raise _Failure(f"the contacts input is not UTF-8 text ({error.reason})") from None


def _client(token: str | None, base_url: str | None) -> AelystClient:
    if not token:
        raise _Failure(f"no API token: pass --token or set {TOKEN_ENV}")
    try:
        return AelystClient(token, base_url=base_url)
    except AelystError as error:
        raise _Failure(_one_line(error)) from None


# -- messages list -----------------------------------------------------------------------------


def _message_row(message: Message) -> tuple[str, str, str, str, str, str]:
    """
    A message as the table shows it: id, time, traffic, last status, type, text.
    """
    first = message.status[0].timestamp if message.status else None
    when = (
        ""
        if first is None
        else _dt.datetime.fromtimestamp(first, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    )
    body = message.message
    if isinstance(body, TextMessage):
        kind, text = "text", body.text
    elif isinstance(body, UnknownMessage):
        kind, text = body.type, ""
    else:
        kind, text = "", ""
    status = str(message.status[-1].value) if message.status else ""
    return (
        str(message.message_id),
        when,
        str(message.traffic),
        status,
        kind,
        " ".join(text.split()),
    )


async def list_messages(
    client: AelystClient,
    identifier: str,
    *,
    limit: int | None,
    max_items: int | None,
    cursor: str | None,
    output_format: Literal["jsonl", "table"],
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """
    `aelyst messages list`: print a contact's messages as JSON Lines or a table.

    Args:
        client: The client.
        identifier: The contact.
        limit: Page size.
        max_items: Stop after this many messages.
        cursor: Start from this cursor.
        output_format: `jsonl` (the wire's camelCase dict per line) or `table`.
        stdout: Where the messages go.
        stderr: Where the hint to continue goes.

    Returns:
        How many messages were printed.
    """
    pager = client.messages.list(identifier, limit=limit, cursor_id=cursor, max_items=max_items)
    rows: list[tuple[str, str, str, str, str, str]] = []
    count = 0
    next_cursor: str | None = None
    async with client:
        async for page in pager.pages():
            if output_format == "jsonl":
                stdout.write(
                    "".join(
                        dump_json(converter.unstructure(message)).decode() + "\n"
                        for message in page.items
                    )
                )
                stdout.flush()
            else:
                rows.extend(_message_row(message) for message in page.items)
            count += len(page.items)
            next_cursor = page.next_cursor
    if output_format == "table":
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"Messages of {identifier}", title_justify="left")
        table.add_column("id", justify="right", no_wrap=True, min_width=10)
        table.add_column("time (UTC)", no_wrap=True, min_width=19)
        table.add_column("traffic", no_wrap=True, min_width=8)
        table.add_column("status", no_wrap=True, min_width=9)
        table.add_column("type", no_wrap=True, min_width=4)
        table.add_column("text", ratio=1)  # wraps: the other columns keep their width
        for row in rows:
            table.add_row(*row)
        Console(file=stdout).print(table)
    if max_items is not None and count >= max_items and next_cursor is not None:
        print(f"more messages: continue with --cursor {next_cursor}", file=stderr)
    return count


# -- export ------------------------------------------------------------------------------------


class RichProgress:
    """
    A live progress bar on a terminal: contacts done, messages, rate, 429s, ETA.

    Args:
        console: The rich console to draw on (stderr).
        title: The label before the bar.
    """

    def __init__(self, console: Console, *, title: str = "export") -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._columns = (
            TextColumn(f"[bold]{title}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("contacts"),
            TextColumn("{task.fields[failed]}"),
            TextColumn("[cyan]{task.fields[messages]:,} messages"),
            TextColumn("{task.fields[rate]:,.0f} msg/s"),
            TextColumn("[yellow]{task.fields[limited]:,} × 429"),
            TextColumn("ETA {task.fields[eta]}"),
        )
        self._console = console

    def update(self, snapshot: ExportSnapshot) -> None:
        from rich.progress import Progress

        if self._progress is None:
            self._progress = Progress(*self._columns, console=self._console, refresh_per_second=4)
            self._progress.start()
            self._task = self._progress.add_task("export", total=None, **self._fields(snapshot))
        assert self._task is not None
        self._progress.update(
            self._task,
            total=snapshot.contacts_total,
            completed=snapshot.contacts_finished,
            **self._fields(snapshot),
        )

    def close(self, snapshot: ExportSnapshot) -> None:
        self.update(snapshot)
        assert self._progress is not None
        self._progress.stop()

    @staticmethod
    def _fields(snapshot: ExportSnapshot) -> dict[str, Any]:
        return {
            "failed": f"[red]{snapshot.contacts_failed:,} failed"
            if snapshot.contacts_failed
            else "",
            "messages": snapshot.messages,
            "rate": snapshot.messages_per_second,
            "limited": snapshot.rate_limited,
            "eta": "-" if snapshot.eta is None else format_duration(snapshot.eta),
        }


def make_progress(
    mode: ProgressMode, *, every: float, stream: TextIO, title: str
) -> ExportProgress | None:
    """
    The progress display of `mode`: `auto` is a bar on a terminal and plain lines otherwise.
    """
    if mode == "none":
        return None
    if mode == "auto":
        mode = "bar" if stream.isatty() else "lines"
    if mode == "bar":
        from rich.console import Console

        return RichProgress(Console(file=stream), title=title)
    return PlainProgress(stream, every=every, prefix=f"{title}: ")


def print_failures(summary: ExportSummary, stream: TextIO) -> None:
    """
    List the failed contacts of an export, one per line.
    """
    if not summary.failed:
        return
    count = len(summary.failed)
    print(f"{count:,} contact{'' if count == 1 else 's'} failed:", file=stream)
    for failure in summary.failed:
        print(f"  {failure.identifier}: {failure.error}: {failure.message}", file=stream)
    print(
        "run the same command with --resume to retry them "
        f"(they are listed in {summary.checkpoint})",
        file=stream,
    )


def _describe_summary(summary: ExportSummary) -> str:
    snap = summary.snapshot
    failed = f", {snap.contacts_failed:,} failed" if snap.contacts_failed else ""
    return (
        f"exported {snap.contacts_done:,} contacts{failed}: {snap.messages:,} messages "
        f"in {snap.elapsed:.1f}s ({snap.requests:,} requests, {snap.rate_limited:,} rate-limited) "
        f"to {summary.output}"
    )


@contextlib.contextmanager
def _contacts_input(
    source: str,
) -> Iterator[tuple[Iterable[str] | AsyncIterable[str], int | None]]:
    """
    The contacts of `--contacts`: a regular file is counted (for the ETA), then read line by
    line; stdin (`-`) or a pipe (`<(...)`) is read once, by a thread.
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
    total = count_contacts(source)
    with open(source, encoding="utf-8") as lines:
        yield lines, total


# -- mock-server and demo ----------------------------------------------------------------------


def parse_messages(text: str) -> int | tuple[int, int]:
    """
    `--messages`: a number per contact (`40`) or a range each contact draws from (`0-100`).

    Raises:
        ValueError: When the text is neither.
    """
    low, dash, high = text.partition("-")
    if not dash:
        return int(text)
    return int(low), int(high)


def parse_faults(text: str) -> FaultPlan:
    """
    `--faults RATE[:KIND,...]`: fault about RATE of the requests, with faults chosen among
    KINDs: HTTP statuses (`500`, `503`), `rate_limited`, `drop`, `truncate`, `not_json`,
    `cut_json`, `slow` (default: `500,503,drop,cut_json`).

    Raises:
        ValueError: When the text cannot be read.
    """
    from .testing import Fault, FaultPlan

    rate_text, _, kinds_text = text.partition(":")
    rate = float(rate_text)
    makers: dict[str, Callable[[], Fault]] = {
        "rate_limited": Fault.rate_limited,
        "drop": Fault.drop,
        "truncate": Fault.truncate,
        "not_json": Fault.not_json,
        "cut_json": Fault.cut_json,
        "slow": lambda: Fault.slow(2.0),
    }
    faults: list[Fault] = []
    for kind in (kinds_text or "500,503,drop,cut_json").split(","):
        name = kind.strip()
        if name.isdigit():
            faults.append(Fault.status(int(name)))
        elif name in makers:
            faults.append(makers[name]())
        else:
            raise ValueError(f"unknown fault {name!r}; use a status, {', '.join(makers)}")
    return FaultPlan().fraction(rate, faults)


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


async def run_demo(
    *,
    contacts: int,
    messages: int | tuple[int, int],
    rate_limit: int,
    concurrency: int,
    out: Path | None,
    progress: ProgressMode,
    progress_every: float,
    stdout: TextIO,
    stderr: TextIO,
) -> bool:
    """
    `aelyst demo`: export a fake server's contacts under a rate limit, then check the output.

    Returns:
        Whether the output holds every message of the server exactly once.
    """
    from .testing import Dataset, FakeAelystServer, RateLimitConfig

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
                file=stdout,
                flush=True,
            )
            async with AelystClient(token, base_url=server.url) as client:
                started = time.monotonic()
                summary = await run_export(
                    client,
                    dataset.identifiers(),
                    out,
                    concurrency=concurrency,
                    overwrite=True,
                    total=contacts,
                    progress=make_progress(
                        progress, every=progress_every, stream=stderr, title="demo"
                    ),
                )
                elapsed = time.monotonic() - started
            answered = server.stats.by_status.get(200, 0)
        truth: collections.Counter[tuple[str, int]] = collections.Counter(
            (identifier, message["messageId"])
            for identifier in dataset.identifiers()
            for message in dataset.messages(identifier)
        )
        written = count_lines(out)
        per_second = answered / elapsed if elapsed > 0 else 0.0
        # The server's bucket starts full: its first `rate_limit` requests are a free burst.
        sustained = max(0, answered - rate_limit) / elapsed if elapsed > 0 else 0.0
        where = f"{out}" if keep else "a temporary file (keep it with --out)"
        snap = summary.snapshot
        verified = written == truth and summary.ok
        lines = [
            "demo summary",
            f"  contacts     {snap.contacts_done:,} exported, {snap.contacts_failed:,} failed",
            f"  messages     {snap.messages:,} written to {where}",
            f"  requests     {snap.requests:,} sent, {snap.rate_limited:,} rate-limited (429)",
            f"  elapsed      {elapsed:.1f}s",
            f"  rate         {per_second:.1f} successful requests/s = "
            f"{per_second / rate_limit:.0%} of the {rate_limit}/s limit "
            f"(the server's bucket starts full: a burst of {rate_limit} first)",
            f"  sustained    {sustained:.1f} requests/s after that burst = "
            f"{sustained / rate_limit:.0%} of the limit",
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
        print("\n".join(lines), file=stdout, flush=True)
        return verified


# -- the click layer ---------------------------------------------------------------------------


def build_cli() -> click.Group:
    """
    The `aelyst` command group (imports click and rich).
    """
    import click

    def fail(error: _Failure) -> NoReturn:
        click.echo(f"error: {error}", err=True)
        raise click.exceptions.Exit(error.status)

    token_option = click.option(
        "--token",
        envvar=TOKEN_ENV,
        show_envvar=True,
        show_default=False,
        metavar="TOKEN",
        help="The API token.",
    )
    base_url_option = click.option(
        "--base-url",
        envvar=BASE_URL_ENV,
        show_envvar=True,
        metavar="URL",
        help="The API's base URL (default: https://api.aelyst.ai/v1).",
    )
    progress_options = [
        click.option(
            "--progress",
            type=click.Choice(["auto", "bar", "lines", "none"]),
            default="auto",
            show_default=True,
            help="A live bar on a terminal, plain lines otherwise (on stderr).",
        ),
        click.option(
            "--progress-every",
            type=click.FloatRange(min=0),
            default=5.0,
            show_default=True,
            metavar="SECONDS",
            help="Seconds between two plain progress lines.",
        ),
    ]

    def with_progress(function: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(progress_options):
            function = option(function)
        return function

    @click.group(
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
        epilog="Start with `aelyst demo`: it needs no token and no network.",
    )
    @click.version_option(package_name="aelyst-async", prog_name="aelyst")
    def cli() -> None:
        """
        The Aelyst messaging API from the command line.

        Exit status: 0 done, 1 error, 2 usage, 3 export finished with failed contacts,
        130 interrupted.
        """

    @cli.group()
    def messages() -> None:
        """
        The messages of a contact.
        """

    @messages.command("list")
    @click.argument("identifier")
    @click.option("--limit", type=click.IntRange(1, 50), help="Page size (1 to 50).")
    @click.option("--max-items", type=click.IntRange(min=0), help="Stop after this many messages.")
    @click.option("--cursor", metavar="CURSOR", help="Start from this cursor.")
    @click.option(
        "--format",
        "output_format",
        type=click.Choice(["jsonl", "table"]),
        default="jsonl",
        show_default=True,
        help="One JSON message per line, or a table.",
    )
    @token_option
    @base_url_option
    def messages_list(
        identifier: str,
        limit: int | None,
        max_items: int | None,
        cursor: str | None,
        output_format: Literal["jsonl", "table"],
        token: str | None,
        base_url: str | None,
    ) -> None:
        """
        List the messages of IDENTIFIER (id:123, email:x@y.z or phone:+60121233112).
        """
        try:
            client = _client(token, base_url)
            _run(
                lambda: list_messages(
                    client,
                    identifier,
                    limit=limit,
                    max_items=max_items,
                    cursor=cursor,
                    output_format=output_format,
                    stdout=sys.stdout,
                    stderr=sys.stderr,
                )
            )
        except _Failure as error:
            fail(error)
        except BrokenPipeError:  # `| head`: the reader has all it wanted
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(EXIT_ERROR) from None

    @cli.command()
    @click.option(
        "--contacts",
        "contacts_source",
        required=True,
        metavar="FILE|-",
        help="Identifiers, one per line (blank lines and # comments skipped); - for stdin.",
    )
    @click.option(
        "--out",
        required=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="The JSON Lines file to write: one message per line with its contact.",
    )
    @click.option(
        "--concurrency",
        type=click.IntRange(1, 1000),
        default=8,
        show_default=True,
        help="Contacts at once.",
    )
    @click.option(
        "--limit", type=click.IntRange(1, 50), default=50, show_default=True, help="Page size."
    )
    @click.option(
        "--resume",
        is_flag=True,
        help="Finish an interrupted export from its checkpoint (failed contacts are retried).",
    )
    @click.option(
        "--force", is_flag=True, help="Start over, overwriting the output and checkpoint."
    )
    @click.option(
        "--checkpoint",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The checkpoint file (default: <out>.checkpoint.json).",
    )
    @with_progress
    @token_option
    @base_url_option
    def export(
        contacts_source: str,
        out: Path,
        concurrency: int,
        limit: int,
        resume: bool,
        force: bool,
        checkpoint: Path | None,
        progress: ProgressMode,
        progress_every: float,
        token: str | None,
        base_url: str | None,
    ) -> None:
        """
        Export the messages of many contacts to a JSON Lines file, resumably.

        A checkpoint next to the output records what is written: after Ctrl-C, kill -9 or a
        crash, run the same command with --resume and every message ends up in the output
        exactly once. Failed contacts are listed at the end and kept in the checkpoint.
        """
        try:
            if resume and force:
                raise _Failure("--resume and --force exclude each other")
            client = _client(token, base_url)

            async def work() -> ExportSummary:
                with _contacts_input(contacts_source) as (contacts, total):
                    async with client:
                        return await run_export(
                            client,
                            contacts,
                            out,
                            concurrency=concurrency,
                            limit=limit,
                            resume=resume,
                            overwrite=force,
                            checkpoint=checkpoint,
                            total=total,
                            progress=make_progress(
                                progress, every=progress_every, stream=sys.stderr, title="export"
                            ),
                        )

            try:
                summary = _run(work)
            except _Failure as error:
                if error.status == EXIT_INTERRUPTED:
                    raise _Failure(
                        "interrupted; the checkpoint is saved: run the same command with --resume "
                        "to finish",
                        EXIT_INTERRUPTED,
                    ) from None
                raise
        except _Failure as error:
            fail(error)
        click.echo(_describe_summary(summary))
        print_failures(summary, sys.stderr)
        if not summary.ok:
            raise click.exceptions.Exit(EXIT_FAILED_CONTACTS)

    messages_option = click.option(
        "--messages",
        default="0-100",
        show_default=True,
        metavar="N|MIN-MAX",
        help="Messages per contact.",
    )

    @cli.command("mock-server")
    @click.option(
        "--host", default="127.0.0.1", show_default=True, help="The address to listen on."
    )
    @click.option(
        "--port",
        type=click.IntRange(0, 65535),
        default=8080,
        show_default=True,
        help="0: any free port.",
    )
    @click.option(
        "--contacts",
        type=click.IntRange(0, 900_000),
        default=1000,
        show_default=True,
        help="Contacts id:1 to id:N.",
    )
    @messages_option
    @click.option(
        "--seed", type=int, default=0, show_default=True, help="Another seed, other messages."
    )
    @click.option(
        "--rate-limit",
        type=click.IntRange(min=0),
        default=10,
        show_default=True,
        metavar="R",
        help="Requests per second (0: unlimited).",
    )
    @click.option(
        "--faults",
        metavar="RATE[:KIND,...]",
        help="Answer about RATE of requests badly, e.g. 0.1 or 0.05:503,drop.",
    )
    @click.option(
        "--token", default="test-token", show_default=True, help="The token the server accepts."
    )
    def mock_server(
        host: str,
        port: int,
        contacts: int,
        messages: str,
        seed: int,
        rate_limit: int,
        faults: str | None,
        token: str,
    ) -> None:
        """
        Run a fake Aelyst server until Ctrl-C, for trying the SDK and the CLI locally.
        """
        from .testing import Dataset, FakeAelystServer, RateLimitConfig, run_server

        try:
            dataset = Dataset(seed=seed, contacts=contacts, messages=parse_messages(messages))
            plan = parse_faults(faults) if faults else None
        except (ValueError, AelystError) as error:
            fail(_Failure(f"invalid option: {_one_line(error)}"))

        def ready(server: FakeAelystServer) -> None:
            click.echo(f"Fake Aelyst server on {server.url} (Ctrl-C to stop)")
            click.echo(f"  token: {token}")
            click.echo(f"  contacts: id:1 to id:{contacts}, {dataset.total_messages:,} messages")
            click.echo(f"  export {BASE_URL_ENV}={server.url} {TOKEN_ENV}={token}")
            sys.stdout.flush()

        try:
            run_server(
                host,
                port,
                token=token,
                dataset=dataset,
                rate_limit=RateLimitConfig(requests=rate_limit) if rate_limit else None,
                faults=plan,
                on_ready=ready,
            )
        except OSError as error:
            fail(_Failure(_one_line(error)))

    @cli.command()
    @click.option(
        "--contacts",
        type=click.IntRange(1, 900_000),
        default=300,
        show_default=True,
        help="Contacts to export.",
    )
    @messages_option
    @click.option(
        "--rate-limit",
        type=click.IntRange(min=1),
        default=50,
        show_default=True,
        metavar="R",
        help="The server's limit, requests per second.",
    )
    @click.option(
        "--concurrency",
        type=click.IntRange(1, 1000),
        default=8,
        show_default=True,
        help="Contacts at once.",
    )
    @click.option(
        "--out",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Keep the output here (default: a temporary directory).",
    )
    @with_progress
    def demo(
        contacts: int,
        messages: str,
        rate_limit: int,
        concurrency: int,
        out: Path | None,
        progress: ProgressMode,
        progress_every: float,
    ) -> None:
        """
        Export a fake server's messages under a rate limit, and check the output.

        Needs no token and no network: the server runs in this process, on 127.0.0.1.
        """
        try:
            counts = parse_messages(messages)
        except ValueError as error:
            fail(_Failure(f"invalid --messages: {_one_line(error)}"))
        try:
            verified = _run(
                lambda: run_demo(
                    contacts=contacts,
                    messages=counts,
                    rate_limit=rate_limit,
                    concurrency=concurrency,
                    out=out,
                    progress=progress,
                    progress_every=progress_every,
                    stdout=sys.stdout,
                    stderr=sys.stderr,
                )
            )
        except _Failure as error:
            fail(error)
        if not verified:
            raise click.exceptions.Exit(EXIT_ERROR)

    return cli


def main(argv: Sequence[str] | None = None) -> None:
    """
    The `aelyst` console script (and `python -m aelyst_async`).

    Args:
        argv: The arguments; `sys.argv[1:]` by default.
    """
    try:
        import click  # noqa: F401  # only checks that the extra is installed
        import rich  # noqa: F401
    except ImportError:
        print(INSTALL_HINT, file=sys.stderr)
        raise SystemExit(EXIT_ERROR) from None
    build_cli().main(args=list(argv) if argv is not None else None, prog_name="aelyst")
