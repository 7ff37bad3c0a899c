"""
Exit statuses, the one-line error, and the event loop the commands run in (the package's rules
2 and 4). Imports neither click nor rich.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from .._client import BASE_URL_ENV, TOKEN_ENV
from .._exceptions import AelystError, APIConnectionError, AuthenticationError

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_ERROR",
    "EXIT_FAILED_CONTACTS",
    "EXIT_INTERRUPTED",
    "Failure",
    "one_line",
    "run",
    "what_to_check",
]

T = TypeVar("T")

EXIT_ERROR: Final = 1
EXIT_FAILED_CONTACTS: Final = 3
EXIT_INTERRUPTED: Final = 130
EXIT_BROKEN_PIPE: Final = 141
"""128 + SIGPIPE: what a shell reports for any tool whose reader went away (`| head`)."""


class Failure(Exception):
    """
    An error to print as one line, with the exit status to leave with.
    """

    def __init__(self, message: str, status: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.status = status


def one_line(error: BaseException) -> str:
    """
    An error as one line of text (the package's rule 2).
    """
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        text = f"{where}{error.strerror}"
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())


def what_to_check(error: BaseException) -> str:
    """
    What a user can check, for the errors that come from the command's options: a refused
    token, or a server that cannot be reached at all (a slow one can).
    """
    if isinstance(error, AuthenticationError):
        return f" (the API refused the token: check --token or ${TOKEN_ENV})"
    if isinstance(error, APIConnectionError) and error.unreachable:
        return f" (is the server up? check --base-url or ${BASE_URL_ENV})"
    return ""


def run(work: Callable[[], Awaitable[T]]) -> T:
    """
    Run a coroutine in a new event loop; Ctrl-C and SIGTERM cancel it (the package's rule 4).

    Raises:
        Failure: For an SDK or OS error, or an interruption.
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
        raise Failure("interrupted", EXIT_INTERRUPTED) from None
    except KeyboardInterrupt:
        raise Failure("interrupted", EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        raise  # not an error to print: the reader has all it wanted (`_shared.reports_errors`)
    except (AelystError, OSError) as error:
        raise Failure(f"{one_line(error)}{what_to_check(error)}") from None
    except UnicodeDecodeError as error:
        raise Failure(f"the contacts input is not UTF-8 text ({error.reason})") from None
