"""
The `aelyst` command line: `messages list`, `export`, `mock-server` and `demo`.

Rules:

1. Only this package imports click and rich (the `cli` extra), and this module does not:
   `main()` checks that they are installed, and says what to install when they are not, before
   it imports the commands. The core package never imports this one.
2. Every error a user can cause (no token, a bad identifier, an HTTP error, a file that cannot
   be read, a checkpoint in the way) is one line on stderr, `error: ...`, and a non-zero exit;
   never a traceback. Exit statuses: 0 done, 1 error, 2 usage, 3 an export finished with
   failed contacts, 130 interrupted (Ctrl-C or SIGTERM), 141 the reader of stdout went away
   (`| head`, silently). `_shared.reports_errors` is the one place that prints them.
3. The token is never printed: not in help (no defaults shown for it), errors or summaries.
   The one exception is `mock-server`, whose token is a fake one for local tests.
4. Ctrl-C and SIGTERM cancel the running command at an `await`, so an export stops between
   two pages and saves its checkpoint.

Modules: `_app` (the group), one per command (`_messages`, `_export`, `_mock_server`, `_demo`),
`_shared` (the error wrapper and shared options), `_verbose` (`-v`, the SDK's logging),
`_progress` (the displays), `_errors` (exit statuses and the event loop).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Final

from ._errors import EXIT_ERROR

__all__ = ["INSTALL_HINT", "main"]

INSTALL_HINT: Final = (
    "aelyst: the command line needs click and rich: pip install 'aelyst-async[cli]'"
)


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
    from ._app import cli

    cli.main(args=list(argv) if argv is not None else None, prog_name="aelyst")
