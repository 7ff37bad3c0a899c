"""
The files an export writes: the output, locked and tracked page by page, and files replaced
atomically (the package's rules 2, 4 and 7).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO

from .._exceptions import ExportError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock
    fcntl = None  # type: ignore[assignment]

__all__ = ["Output", "write_atomically"]


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform opens directories
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """
    Replace the file at `path` by `data`: a temporary file, fsync, `os.replace`, fsync of the
    directory, so that a crash leaves either the old file or the new one.
    """
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    _fsync_directory(path.parent)


class Output:
    """
    The JSON Lines file, locked, written at the end, its length tracked page by page.
    """

    def __init__(self, path: Path, *, offset: int) -> None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self._file: IO[bytes] = os.fdopen(fd, "r+b")
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    raise ExportError(
                        f"another export is writing to {str(path)!r}; wait for it or stop it"
                    ) from None
            size = os.fstat(fd).st_size
            if size < offset:
                raise ExportError(
                    f"{str(path)!r} is shorter ({size} bytes) than its checkpoint says ({offset}): "
                    "it was truncated or replaced, so the export cannot resume"
                )
            self._file.truncate(offset)
            self._file.seek(offset)
        except BaseException:
            self._file.close()
            raise
        self._offset = offset
        self._broken = False

    @property
    def broken(self) -> bool:
        """
        Whether a write or a sync failed: the file's end is then in doubt.
        """
        return self._broken

    def write(self, data: bytes) -> None:
        try:
            self._file.write(data)
        except BaseException:
            self._broken = True
            raise
        self._offset += len(data)

    def sync(self) -> int:
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        except BaseException:
            self._broken = True
            raise
        return self._offset

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
