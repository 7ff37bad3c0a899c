"""
`aelyst messages list`: a contact's messages as JSON Lines or a table.
"""

from __future__ import annotations

import datetime as _dt
import sys
from typing import Literal

import click

from .._client import AelystClient
from .._converter import converter, dump_json
from .._models import Message, TextMessage, UnknownMessage
from .._protocol import MAX_LIMIT
from ._errors import run
from ._shared import (
    base_url_option,
    limiter_option,
    make_client,
    opened,
    reports_errors,
    token_option,
)

__all__ = ["list_messages", "messages"]


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
    rows: list[tuple[str, str, str, str, str, str]] = []
    count = 0
    next_cursor: str | None = None
    async with opened(client):
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
        Console(file=sys.stdout).print(table)
    if max_items is not None and count >= max_items and next_cursor is not None:
        print(f"more messages: continue with --cursor {next_cursor}", file=sys.stderr)
    return count


@click.group()
def messages() -> None:
    """
    The messages of a contact.
    """


@messages.command("list")
@click.argument("identifier")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), help=f"Page size (1 to {MAX_LIMIT}).")
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
@limiter_option
@token_option
@base_url_option
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
) -> None:
    """
    List the messages of IDENTIFIER (id:123, email:x@y.z or phone:+60121233112).
    """
    client = make_client(token, base_url, limiter)
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
