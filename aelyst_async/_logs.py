"""
Turning the SDK's logging on without code: `AELYST_LOG=debug` or `AELYST_LOG=info`.

Rules:

1. Everything the SDK logs goes to the `aelyst_async` logger: one DEBUG line per attempt
   (`_instrument.py`), one INFO line per retry (`_retry.py`), never a token, a body or a
   concrete identifier.
2. `AELYST_LOG` is read once, when `aelyst_async` is imported (as openai-python reads
   `OPENAI_LOG`): it sets the logger's level and gives it one handler of its own writing to
   stderr. Without it, nothing is configured: the application's logging decides.
3. An unknown value is ignored with a warning, never an error: a typo in an environment
   variable must not stop a program from starting.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Mapping
from typing import Final

__all__ = ["LOGGER_NAME", "LOG_ENV", "configure_from_env", "enable_logging"]

LOG_ENV: Final = "AELYST_LOG"
LOGGER_NAME: Final = "aelyst_async"
LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO}
FORMAT: Final = "[%(asctime)s %(levelname)s %(name)s] %(message)s"


class _SdkHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """
    The handler `enable_logging` adds; known by its type, so it is added once.
    """


def enable_logging(level: int) -> None:
    """
    Log the SDK's records of `level` and above to stderr.

    Args:
        level: `logging.DEBUG` or `logging.INFO`.
    """
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    if not any(isinstance(handler, _SdkHandler) for handler in logger.handlers):
        handler = _SdkHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(handler)


def configure_from_env(environ: Mapping[str, str] = os.environ) -> None:
    """
    Apply `$AELYST_LOG` (module rule 2).
    """
    value = environ.get(LOG_ENV, "").strip()
    if not value:
        return
    level = LEVELS.get(value.lower())
    if level is None:
        warnings.warn(
            f"${LOG_ENV}={value!r} is not one of {', '.join(LEVELS)}; it is ignored",
            RuntimeWarning,
            stacklevel=2,
        )
        return
    enable_logging(level)
