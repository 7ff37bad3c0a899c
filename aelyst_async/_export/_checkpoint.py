"""
The checkpoint file: its format, written by `Checkpoint.to_json` and read back by
`Checkpoint.load` (the package's rule 3).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import attrs
import orjson

from .._checks import is_int
from .._exceptions import ExportError
from ._results import FailedContact

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "Checkpoint", "Entry"]

CHECKPOINT_FORMAT: Final = "aelyst-export-checkpoint"
CHECKPOINT_VERSION: Final = 1


@attrs.frozen
class Entry:
    """
    A consumed contact that is not complete: in progress, waiting, or not started; `cursor`
    resumes it right after its last page written.
    """

    identifier: str
    cursor: str | None


@attrs.frozen(kw_only=True)
class Checkpoint:
    """
    A checkpoint as stored (module rule 3).
    """

    output: str
    offset: int
    next_index: int
    input_digest: str
    in_progress: dict[int, Entry]
    failed: dict[int, FailedContact]
    counters: dict[str, float]
    shard: str | None = None
    """The shard exported, `"K/N"` (`None`: the whole input)."""
    complete: bool = False

    def to_json(self) -> bytes:
        document: dict[str, Any] = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "output": self.output,
            "offset": self.offset,
            "next_index": self.next_index,
            "input_digest": self.input_digest,
            "shard": self.shard,
            "in_progress": [
                {"index": index, "identifier": entry.identifier, "cursor": entry.cursor}
                for index, entry in sorted(self.in_progress.items())
            ],
            "failed": [
                {
                    "index": failure.index,
                    "identifier": failure.identifier,
                    "error": failure.error,
                    "message": failure.message,
                    "cursor": failure.resume_cursor,
                    "permanent": failure.permanent,
                }
                for _, failure in sorted(self.failed.items())
            ],
            "counters": self.counters,
            "complete": self.complete,
        }
        return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        try:
            document = orjson.loads(path.read_bytes())
        except OSError as error:
            raise ExportError(
                f"cannot read the checkpoint {str(path)!r}: {error.strerror}"
            ) from None
        except orjson.JSONDecodeError:
            raise ExportError(f"the checkpoint {str(path)!r} is not JSON: it is damaged") from None
        try:
            if document["format"] != CHECKPOINT_FORMAT:
                raise ValueError("not an export checkpoint")
            if document["version"] != CHECKPOINT_VERSION:
                raise ValueError(
                    f"version {document['version']!r}, this SDK reads {CHECKPOINT_VERSION}"
                )
            in_progress = {
                _int(item["index"]): Entry(_str(item["identifier"]), _optional_str(item["cursor"]))
                for item in document["in_progress"]
            }
            failed = {
                _int(item["index"]): FailedContact(
                    index=_int(item["index"]),
                    identifier=_str(item["identifier"]),
                    error=_str(item["error"]),
                    message=_str(item["message"]),
                    resume_cursor=_optional_str(item["cursor"]),
                    permanent=_bool(item.get("permanent", False)),
                )
                for item in document["failed"]
            }
            counters = {str(key): float(value) for key, value in dict(document["counters"]).items()}
            return cls(
                output=_str(document["output"]),
                offset=_int(document["offset"]),
                next_index=_int(document["next_index"]),
                input_digest=_str(document["input_digest"]),
                in_progress=in_progress,
                failed=failed,
                counters=counters,
                shard=_optional_str(document.get("shard")),  # absent before sharding
                complete=_bool(document.get("complete", False)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ExportError(f"the checkpoint {str(path)!r} is not valid ({error})") from None


def _int(value: object) -> int:
    if not is_int(value) or value < 0:
        raise TypeError(f"expected an integer >= 0, got {value!r}")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {value!r}")
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _optional_str(value: object) -> str | None:
    return None if value is None else _str(value)
