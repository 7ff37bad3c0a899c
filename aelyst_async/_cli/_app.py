"""
The `aelyst` command group. Each command lives in its own module, imported when the command
runs (or when the help lists it), so that `aelyst messages list` does not import the fake
server that `aelyst demo` needs.
"""

from __future__ import annotations

import importlib
from typing import Final

import click

from ._verbose import verbose_option

__all__ = ["cli"]

_COMMANDS: Final = {
    "messages": "._messages:messages",
    "export": "._export:export",
    "mock-server": "._mock_server:mock_server",
    "demo": "._demo:demo",
}
"""Each command's name, and where it is defined (`module:attribute`)."""


class _LazyGroup(click.Group):
    """
    A group that imports a command's module only when the command is asked for.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = _COMMANDS.get(cmd_name)
        if where is None:
            return None
        module, _, name = where.partition(":")
        command = getattr(importlib.import_module(module, __package__), name)
        assert isinstance(command, click.Command)
        return command


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """
    `--version`: the version the SDK reports (`__version__`, the User-Agent), read when asked.
    """
    if not value or ctx.resilient_parsing:
        return
    from .._version import sdk_version

    click.echo(f"aelyst, version {sdk_version()}")
    ctx.exit()


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Start with `aelyst demo`: it needs no token and no network.",
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the version and exit.",
)
@verbose_option
def cli() -> None:
    """
    The Aelyst messaging API from the command line.

    Exit status: 0 done, 1 error, 2 usage, 3 export finished with failed contacts,
    130 interrupted, 141 output pipe closed (`| head`).
    """
