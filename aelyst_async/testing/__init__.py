"""
Test tools shipped with the SDK: a fake Aelyst server, its dataset and faults, and a fake clock.

Example:
    ```python
    from aelyst_async import AelystClient
    from aelyst_async.testing import Dataset, FakeAelystServer, Fault

    async with FakeAelystServer(token="t", dataset=Dataset(seed=1, contacts=5)) as server:
        server.faults.next(Fault.status(503), times=1)  # the SDK retries it
        async with AelystClient("t", base_url=server.url) as client:
            identifier = next(iter(server.dataset.identifiers()))
            messages = [m async for m in client.messages.list(identifier)]
            assert len(messages) == len(server.dataset.messages(identifier))
    ```
"""

from ._clock import FakeClock
from ._data import Contact, Dataset, SpecialContacts
from ._faults import Fault, FaultPlan, InjectedFault
from ._options import RateLimitConfig, ServerOptions, ServerStats
from ._server import OPTIONS_KEY, STATS_KEY, FakeAelystServer, create_app, run_server, serve

__all__ = [
    "OPTIONS_KEY",
    "STATS_KEY",
    "Contact",
    "Dataset",
    "FakeAelystServer",
    "FakeClock",
    "Fault",
    "FaultPlan",
    "InjectedFault",
    "RateLimitConfig",
    "ServerOptions",
    "ServerStats",
    "SpecialContacts",
    "create_app",
    "run_server",
    "serve",
]
