"""
What an export reports at its end: the summary and the contacts that failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import attrs

from .._exceptions import APIStatusError, InvalidArgumentError
from ._progress import ExportSnapshot

__all__ = ["ExportSummary", "FailedContact", "is_permanent"]

_TRANSIENT_CLIENT_STATUSES: Final = frozenset({408, 409, 425, 429})
"""The 4xx statuses that may well be answered otherwise later: timeout, conflict, too early,
too many requests."""


def is_permanent(error: BaseException) -> bool:
    """
    Whether an error of a contact would come back on every retry: an invalid identifier, or
    a 4xx answer such as 404 (unknown contact). Server errors, timeouts, broken connections
    and responses the SDK could not read are transient: `resume=True` retries them.
    """
    if isinstance(error, InvalidArgumentError):
        return True
    return (
        isinstance(error, APIStatusError)
        and 400 <= error.status < 500
        and error.status not in _TRANSIENT_CLIENT_STATUSES
    )


@attrs.frozen(kw_only=True)
class FailedContact:
    """
    A contact the export could not finish.

    Attributes:
        index: Its position in the input, from 0 (blank lines and comments not counted).
        identifier: The identifier, as the input gave it.
        error: The class name of the error, e.g. `NotFoundError`.
        message: The error's message.
        resume_cursor: Where a retry resumes (`None`: from the start).
        permanent: Whether the error would come back on every retry (`is_permanent`): a
            resumed export keeps it failed instead of retrying it.
    """

    index: int
    identifier: str
    error: str
    message: str
    resume_cursor: str | None
    permanent: bool = False


@attrs.frozen(kw_only=True)
class ExportSummary:
    """
    What an export did, once it has gone through its whole input.

    Attributes:
        output: The JSON Lines file.
        checkpoint: The checkpoint file (kept: `resume=True` retries the failed contacts).
        snapshot: The final counters.
        failed: The contacts that failed, in input order.
        resumed: Whether this run resumed an earlier one.
        already_complete: Whether the export had finished before this run, which did
            nothing: run without `resume` or `overwrite`, it reports the finished export.
    """

    output: Path
    checkpoint: Path
    snapshot: ExportSnapshot
    failed: tuple[FailedContact, ...]
    resumed: bool
    already_complete: bool = False

    @property
    def ok(self) -> bool:
        """
        Whether every contact was exported.
        """
        return not self.failed

    @property
    def retryable(self) -> tuple[FailedContact, ...]:
        """
        The failed contacts that `resume=True` retries: those whose error is not permanent.
        """
        return tuple(failure for failure in self.failed if not failure.permanent)
