"""
Fixtures shared by the test modules: the shipped pytest plugin's fake server and client, under
the names the tests use, and the same server in a thread; tasks on a manual fake clock; a real
redis-server; and a run that does not depend on the machine's proxy settings.

A module chooses its server's token and data with the plugin's marker, e.g.
`pytestmark = pytest.mark.aelyst_server(token=TOKEN, dataset=DATASET)`; the client sends that
token. Both run on the plugin's auto-advancing `FakeClock`, so no backoff waits on real time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import attrs
import pytest

from aelyst_async import AelystClient, SystemClock
from aelyst_async.testing import FakeAelystServer, FakeClock, ServerOptions

from .helpers import ServerThread, Tasks
from .redis_server import RedisServer

pytest_plugins = ["aelyst_async.testing.pytest_plugin"]


@pytest.fixture
def server(aelyst_server: FakeAelystServer) -> FakeAelystServer:
    """
    The test's fake server on 127.0.0.1 (`aelyst_server`).
    """
    return aelyst_server


@pytest.fixture
def client(aelyst_client: AelystClient) -> AelystClient:
    """
    A client bound to `server`, configured as in production but for its clock (`aelyst_client`).
    """
    return aelyst_client


@pytest.fixture
def threaded_server(aelyst_server_options: ServerOptions) -> Iterator[FakeAelystServer]:
    """
    The test's fake server (the options of the module's marker) in a thread of its own, on
    the real clock: for code that runs an event loop of its own (a command, `asyncio.run`).
    """
    with ServerThread(attrs.evolve(aelyst_server_options, clock=SystemClock())) as fake:
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    """
    A fake clock in manual mode: time moves only when the test calls `advance()`.
    """
    return FakeClock()


@pytest.fixture
async def tasks(clock: FakeClock) -> AsyncIterator[Tasks]:
    """
    Starts tasks on `clock`, and cancels whatever is left when the test ends.
    """
    started = Tasks(clock)
    yield started
    await started.cancel_all()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """
    A real redis-server on 127.0.0.1 for the whole session (see `redis_server.py`).
    """
    server = RedisServer()
    server.start()
    yield server
    server.stop()


PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_proxy_of_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    The tests talk to servers on 127.0.0.1, which a proxy of the machine's environment must
    not stand between (a client honours them by default); a test that wants one sets it.
    """
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
