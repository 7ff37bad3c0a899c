"""
What an export reports at its end: the summary and the contacts that failed.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from ._progress import ExportSnapshot

__all__ = ["ExportSummary", "FailedContact"]


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
    """

    index: int
    identifier: str
    error: str
    message: str
    resume_cursor: str | None


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
    """

    output: Path
    checkpoint: Path
    snapshot: ExportSnapshot
    failed: tuple[FailedContact, ...]
    resumed: bool

    @property
    def ok(self) -> bool:
        """
        Whether every contact was exported.
        """
        return not self.failed
