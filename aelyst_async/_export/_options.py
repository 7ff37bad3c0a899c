"""
`ExportOptions`: how an export runs, as one value validated on construction.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import attrs

from .._checks import (
    DEFAULT_CONCURRENCY,
    check_bool,
    check_clock,
    check_concurrency,
    check_int,
    check_methods,
    check_number,
    check_path,
)
from .._clock import Clock
from .._exceptions import InvalidArgumentError
from .._routes import MAX_LIMIT, check_limit
from .._sharding import Shard

if TYPE_CHECKING:
    from ._progress import ExportProgress

__all__ = [
    "ExportOptionChanges",
    "ExportOptions",
    "default_checkpoint_path",
]


def default_checkpoint_path(out: str | os.PathLike[str], shard: Shard | None = None) -> Path:
    """
    The checkpoint of an output file: `<out>.checkpoint.json`, or
    `<out>.shard-K-of-N.checkpoint.json` for shard K of N.
    """
    path = Path(out)
    part = "" if shard is None else f".shard-{shard.index}-of-{shard.count}"
    return path.with_name(f"{path.name}{part}.checkpoint.json")


def _optional_shard(value: Shard | str | None) -> Shard | None:
    if value is None or isinstance(value, Shard):
        return value
    if isinstance(value, str):
        return Shard.parse(value)
    raise InvalidArgumentError(f"shard must be a Shard, a 'K/N' str or None, not {value!r}")


def _optional_path(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None else check_path("checkpoint", value)


def _check_concurrency(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_concurrency(value)


def _check_limit(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_limit(value)


def _check_interval(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    # Infinity is allowed: checkpoints every `checkpoint_pages` pages only.
    check_number("checkpoint_interval", value, low=0, finite=False)


def _check_pages(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_int("checkpoint_pages", value, low=1)


def _check_flag(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_bool(attribute.name, value)


def _check_total(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_int("total", value, low=0, optional=True)


def _check_progress(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        check_methods("progress", value, "ExportProgress", ("update", "close"))


def _check_clock(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_clock("clock", value)


@attrs.frozen(kw_only=True)
class ExportOptions:
    """
    How `run_export` runs: one value, validated when it is made, that can be kept and reused.

    Args:
        concurrency: Contacts listed at once.
        limit: Page size, 1 to 50 (`None`: the server's default).
        resume: Finish the export a checkpoint describes (retrying the contacts that failed
            on an error that may pass, not those refused for good: `is_permanent`), or start
            one when there is neither checkpoint nor output.
        overwrite: Start over even if a checkpoint or an output exists.
        checkpoint: The checkpoint file; `<out>.checkpoint.json` by default (see `shard`).
        progress: Told where the export stands, every fraction of a second.
        total: How many contacts the input has, when known (for the ETA).
        clock: The clock of the checkpoint and progress intervals (the system's by default).
        checkpoint_interval: Seconds between two checkpoints, at most.
        checkpoint_pages: Pages between two checkpoints, at most.
        shard: Export only the contacts of this shard (a `Shard`, or `"K/N"`): N exports
            of one input, one per shard, together hold each message once. Each has its own
            checkpoint, `<out>.shard-K-of-N.checkpoint.json` by default.

    Raises:
        InvalidArgumentError: Naming an option whose value is invalid.

    Example:
        ```python
        options = ExportOptions(concurrency=16, resume=True)
        summary = await run_export(client, ["id:1", "id:2"], "messages.jsonl", options=options)
        ```
    """

    concurrency: int = attrs.field(default=DEFAULT_CONCURRENCY, validator=_check_concurrency)
    limit: int | None = attrs.field(default=MAX_LIMIT, validator=_check_limit)
    resume: bool = attrs.field(default=False, validator=_check_flag)
    overwrite: bool = attrs.field(default=False, validator=_check_flag)
    checkpoint: Path | None = attrs.field(default=None, converter=_optional_path)
    progress: ExportProgress | None = attrs.field(default=None, validator=_check_progress)
    total: int | None = attrs.field(default=None, validator=_check_total)
    clock: Clock | None = attrs.field(default=None, validator=_check_clock)
    checkpoint_interval: float = attrs.field(default=0.5, validator=_check_interval)
    checkpoint_pages: int = attrs.field(default=200, validator=_check_pages)
    shard: Shard | None = attrs.field(default=None, converter=_optional_shard)

    def checkpoint_of(self, out: Path) -> Path:
        """
        The checkpoint file of an export to `out`.
        """
        if self.checkpoint is not None:
            return self.checkpoint
        return default_checkpoint_path(out, self.shard)


class ExportOptionChanges(TypedDict, total=False):
    """
    The fields of `ExportOptions`, as keyword arguments of `run_export` (for type checkers).
    """

    concurrency: int
    limit: int | None
    resume: bool
    overwrite: bool
    checkpoint: str | os.PathLike[str] | None
    progress: ExportProgress | None
    total: int | None
    clock: Clock | None
    checkpoint_interval: float
    checkpoint_pages: int
    shard: Shard | str | None
