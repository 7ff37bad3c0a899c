"""
`aelyst messages list`: a contact's messages as JSON Lines or a table.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import sys
from collections.abc import Iterator
from typing import Final, Literal

import click

from .._client import AelystClient
from .._converter import converter, dump_json
from .._exceptions import BadRequestError
from .._models import Message, TextMessage, UnknownMessage
from .._routes import MAX_LIMIT
from ._errors import Failure, one_line, run
from ._shared import (
    base_url_option,
    limiter_option,
    make_client,
    opened,
    proxy_option,
    reports_errors,
    token_option,
)
from ._verbose import verbose_option

__all__ = ["list_messages", "messages"]


_CAPTIONS: Final = ("caption", "text", "title", "name", "filename")
"""The fields of a body the table shows after its kind, `[image] New in ...`: the first found."""


def describe_body(body: TextMessage | UnknownMessage | None) -> str:
    """
    A message's body as the table's last column shows it: a text as it is; any other kind
    as `[kind]`, then its caption (or title, name...) when it has one.
    """
    if body is None:
        return ""
    if isinstance(body, TextMessage):
        return " ".join(body.text.split())
    caption = next(
        (value for key in _CAPTIONS if isinstance(value := body.raw.get(key), str) and value),
        "",
    )
    return " ".join(f"[{body.type}] {caption}".split())


def _message_row(message: Message) -> tuple[str, str, str, str, str]:
    """
    A message as the table shows it: id, time, traffic, last status, body.
    """
    first = message.status[0].timestamp if message.status else None
    when = (
        ""
        if first is None
        else _dt.datetime.fromtimestamp(first, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
    )
    status = str(message.status[-1].value) if message.status else ""
    return (
        str(message.message_id),
        when,
        str(message.traffic),
        status,
        describe_body(message.message),
    )


def _print_table(identifier: str, rows: list[tuple[str, str, str, str, str]]) -> None:
    """
    The table of `--format table`, as wide as the terminal: no vertical rules, and every
    column but the message kept on one line, so that at 80 columns the message has about 25
    of them; a longer one wraps (a word too long for a line is folded, never cut).
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=f"Messages of {identifier}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0),
    )
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("time (UTC)", no_wrap=True)
    table.add_column("traffic", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("message", ratio=1, overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # the API's text, never rich markup
    Console(file=sys.stdout).print(table)


@contextlib.contextmanager
def _blaming_the_cursor(cursor: str | None) -> Iterator[None]:
    """
    A 400 answer to a listing from `--cursor` names the option: the API says only
    "Validation error.", and a cursor is what the user most likely mistyped.
    """
    try:
        yield
    except BadRequestError as error:
        if cursor is None:
            raise
        raise Failure(
            f"{one_line(error)} (check --cursor {cursor}: it must be one that a listing printed)"
        ) from None


async def list_messages(
    client: AelystClient,
    identifier: str,
    *,
    limit: int | None,
    max_items: int | None,
    cursor: str | None,
    output_format: Literal["jsonl", "table"],
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

    Returns:
        How many messages were printed.
    """
    pager = client.messages.list(identifier, limit=limit, cursor_id=cursor, max_items=max_items)
    rows: list[tuple[str, str, str, str, str]] = []
    count = 0
    next_cursor: str | None = None
    async with opened(client):
        with _blaming_the_cursor(cursor):
            async for page in pager.pages():
                if output_format == "jsonl":
                    sys.stdout.write(
                        "".join(
                            dump_json(converter.unstructure(message)).decode() + "\n"
                            for message in page.items
                        )
                    )
                    sys.stdout.flush()
                else:
                    rows.extend(_message_row(message) for message in page.items)
                count += len(page.items)
                next_cursor = page.next_cursor
    if output_format == "table":
        _print_table(identifier, rows)
    if max_items is not None and count >= max_items and next_cursor is not None:
        print(f"more messages: continue with --cursor {next_cursor}", file=sys.stderr)
    return count


def _cursor_value(ctx: click.Context, param: click.Parameter, text: str | None) -> str | None:
    """
    `--cursor`, checked here so that the error names the option, not the SDK's argument.
    """
    if text is not None and not text.strip():
        raise click.BadParameter(
            "empty; give the cursor a listing printed (more messages: continue with --cursor ...)"
        )
    return text


@click.group()
def messages() -> None:
    """
    The messages of a contact.
    """


@messages.command("list")
@click.argument("identifier")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), help=f"Page size (1 to {MAX_LIMIT}).")
@click.option("--max-items", type=click.IntRange(min=0), help="Stop after this many messages.")
@click.option("--cursor", metavar="CURSOR", callback=_cursor_value, help="Start from this cursor.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["jsonl", "table"]),
    default="jsonl",
    show_default=True,
    help="One JSON message per line, or a table.",
)
@limiter_option
@token_option
@base_url_option
@proxy_option
@verbose_option
@reports_errors
def list_command(
    identifier: str,
    limit: int | None,
    max_items: int | None,
    cursor: str | None,
    output_format: Literal["jsonl", "table"],
    limiter: str | None,
    token: str | None,
    base_url: str | None,
    proxy: str | None,
) -> None:
    """
    List the messages of IDENTIFIER (id:123, email:x@y.z or phone:+60121233112).
    """
    client = make_client(token, base_url, proxy, limiter)
    run(
        lambda: list_messages(
            client,
            identifier,
            limit=limit,
            max_items=max_items,
            cursor=cursor,
            output_format=output_format,
        )
    )
