"""
The installed version of the SDK, read from the package's metadata when first asked for.

`importlib.metadata` costs more to import and read than the rest of the package, so neither
`import aelyst_async` nor a module of it reads the version at import time.
"""

from __future__ import annotations

import functools

__all__ = ["sdk_version"]


@functools.cache
def sdk_version() -> str:
    """
    The installed version of aelyst-async (`0+unknown` in a source tree never installed).
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aelyst-async")
    except PackageNotFoundError:  # pragma: no cover - a bare source tree, never installed
        return "0+unknown"
