"""
Pytest fixtures for code that uses aelyst-async: a fake Aelyst server and a client bound to it.

The plugin is opt-in. Enable it in the `conftest.py` at the root of your tests:

```python
pytest_plugins = ["aelyst_async.testing.pytest_plugin"]
```

The fixtures are async and run on pytest-asyncio (0.24 or newer), the usual way to test
asyncio code with pytest: with `asyncio_mode = "auto"` every `async def test_...` gets them;
in pytest-asyncio's default strict mode, mark the tests `@pytest.mark.asyncio`. They run in
the event loop of your own async fixtures (`asyncio_default_fixture_loop_scope`), which must
be the loop of your tests (the default: one loop per test).

Rules:

1. Nothing waits on real time: the client (its rate limiter included) and the server's rate
   limiter share `aelyst_clock`, a `FakeClock` in auto-advance mode, so backoffs,
   `Retry-After` pauses, pacing and deadlines run on fake time, which jumps ahead whenever
   the test has nothing else to do (and every wait is recorded in `aelyst_clock.slept`).
2. The client is configured as in production: the default limiter, `RetryPolicy()` and
   `Timeout()`; only its clock is fake.
3. Every fixture is function-scoped: each test gets a fresh server, with its own dataset,
   fault plan and counters.
4. Each fixture is a seam: override `aelyst_token`, `aelyst_dataset`, `aelyst_clock` or
   `aelyst_server_options` in a `conftest.py`, or set options of one test with the
   `aelyst_server` marker, e.g. `@pytest.mark.aelyst_server(link_style="seed")`.

Example:
    ```python
    async def test_reads_every_message(aelyst_server, aelyst_client):
        identifier = "id:1"
        messages = [m async for m in aelyst_client.messages.list(identifier)]
        assert len(aelyst_server.dataset.messages(identifier)) == len(messages)
    ```
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import attrs
import pytest

from .. import AelystClient
from .._client import BASE_URL_ENV, TOKEN_ENV
from . import Dataset, FakeAelystServer, FakeClock, ServerOptions
from ._options import DEFAULT_TOKEN

try:
    import pytest_asyncio
except ImportError as error:  # pragma: no cover - depends on the user's environment
    raise ImportError(
        "aelyst_async.testing.pytest_plugin needs pytest-asyncio: pip install pytest-asyncio"
    ) from error

__all__ = [
    "aelyst_client",
    "aelyst_clock",
    "aelyst_dataset",
    "aelyst_env",
    "aelyst_server",
    "aelyst_server_options",
    "aelyst_token",
]

MARKER = "aelyst_server"


def pytest_configure(config: pytest.Config) -> None:
    """
    Register the `aelyst_server` marker, and check that pytest-asyncio is active.

    Raises:
        pytest.UsageError: When the pytest-asyncio plugin is disabled (`-p no:asyncio`).
    """
    if not config.pluginmanager.hasplugin("asyncio"):
        raise pytest.UsageError(
            "aelyst_async.testing.pytest_plugin needs the pytest-asyncio plugin, "
            "which is installed but disabled (-p no:asyncio?)"
        )
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): fields of aelyst_async.testing.ServerOptions for this test's "
        "fake Aelyst server",
    )


@pytest.fixture
def aelyst_token() -> str:
    """
    The API token the fake server accepts and the client sends: `DEFAULT_TOKEN`.
    """
    return DEFAULT_TOKEN


@pytest.fixture
def aelyst_dataset() -> Dataset:
    """
    The fake server's contacts and messages: `Dataset(seed=0, contacts=20)`.

    Contacts `id:1` to `id:20` with 0 to 40 messages each, plus the special contacts of
    `Dataset.special`. Override this fixture for other data.
    """
    return Dataset(seed=0, contacts=20)


@pytest.fixture
def aelyst_clock() -> FakeClock:
    """
    The clock of the server's rate limiter and of the client: `FakeClock(auto_advance=True)`.
    """
    return FakeClock(auto_advance=True)


@pytest.fixture
def aelyst_server_options(
    request: pytest.FixtureRequest,
    aelyst_token: str,
    aelyst_dataset: Dataset,
    aelyst_clock: FakeClock,
) -> ServerOptions:
    """
    The fake server's options: the token, dataset and clock of the fixtures above, then the
    keyword arguments of the test's `aelyst_server` marker, if any.

    Raises:
        TypeError: When the marker has positional arguments or an unknown option.
    """
    options = ServerOptions(token=aelyst_token, dataset=aelyst_dataset, clock=aelyst_clock)
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        return options
    if marker.args:
        raise TypeError(f"@pytest.mark.{MARKER} takes keyword arguments only: {marker.args!r}")
    return attrs.evolve(options, **marker.kwargs)


@pytest_asyncio.fixture
async def aelyst_server(aelyst_server_options: ServerOptions) -> AsyncIterator[FakeAelystServer]:
    """
    A fake Aelyst server listening on 127.0.0.1, started for the test and closed after it.

    Its `dataset` is the ground truth, its `faults` can be scripted during the test, and its
    `stats` count what it received.
    """
    async with FakeAelystServer(aelyst_server_options) as server:
        yield server


@pytest_asyncio.fixture
async def aelyst_client(
    aelyst_server: FakeAelystServer, aelyst_token: str, aelyst_clock: FakeClock
) -> AsyncIterator[AelystClient]:
    """
    An `AelystClient` bound to `aelyst_server`, on `aelyst_clock`, closed after the test.

    It sends the server's token (`aelyst_token`, unless the marker set another).
    """
    token = aelyst_server.options.token or aelyst_token
    # The server is on this machine: a proxy named by the environment has no part in a test.
    async with AelystClient(
        token, base_url=aelyst_server.url, clock=aelyst_clock, trust_env=False
    ) as client:
        yield client


@pytest.fixture
def aelyst_env(
    aelyst_server: FakeAelystServer, aelyst_token: str, monkeypatch: pytest.MonkeyPatch
) -> FakeAelystServer:
    """
    Point `$AELYST_TOKEN` and `$AELYST_BASE_URL` at `aelyst_server` for the test, for code
    that builds its own `AelystClient()`; returns the server.

    Such a client runs on the real clock: give the server a rate limit only together with
    `clock=SystemClock()` (in the marker), or the server's time stands still.
    """
    monkeypatch.setenv(TOKEN_ENV, aelyst_server.options.token or aelyst_token)
    monkeypatch.setenv(BASE_URL_ENV, aelyst_server.url)
    return aelyst_server
