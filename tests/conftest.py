"""
Fixtures shared by the test modules.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """
    A real redis-server on 127.0.0.1 for the whole session (see `redis_server.py`).
    """
    server = RedisServer()
    server.start()
    yield server
    server.stop()
