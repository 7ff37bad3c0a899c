"""
The `aelyst` command group, with every command added.
"""

from __future__ import annotations

import click

from ._demo import demo
from ._export import export
from ._messages import messages
from ._mock_server import mock_server

__all__ = ["cli"]


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


cli.add_command(messages)
cli.add_command(export)
cli.add_command(mock_server)
cli.add_command(demo)
