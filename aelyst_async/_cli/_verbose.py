"""
`-v`/`--verbose`, which every command and the group take: the SDK's logging on stderr.
Imports click only, so that the group can take it without importing a command.
"""

from __future__ import annotations

import logging
from typing import Final

import click

__all__ = ["verbose_option", "verbosity"]

_VERBOSITY_KEY: Final = "aelyst_async.verbosity"


def _verbosity(ctx: click.Context, param: click.Parameter, count: int) -> None:
    """
    `-v`: the SDK's INFO records on stderr; `-vv`: DEBUG. Given to the group and to a command
    (`aelyst -v export -v`), the counts add up.
    """
    if not count:
        return
    meta = ctx.find_root().meta
    total = meta[_VERBOSITY_KEY] = meta.get(_VERBOSITY_KEY, 0) + count
    from .._logs import enable_logging

    enable_logging(logging.DEBUG if total >= 2 else logging.INFO)


def verbosity() -> int:
    """
    How many `-v` the running command was given, with the group's.
    """
    count: int = click.get_current_context().find_root().meta.get(_VERBOSITY_KEY, 0)
    return count


verbose_option = click.option(
    "-v",
    "--verbose",
    count=True,
    expose_value=False,
    callback=_verbosity,
    help="Log on stderr what the SDK does: -v retries (and requests served), -vv every "
    "attempt. Never the token or an identifier.",
)
