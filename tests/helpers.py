"""
Helpers shared by the tests: ground truth comparison, result collection, and tasks on a fake
clock.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Awaitable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx

from aelyst_async import (
    AelystClient,
    APIConnectionError,
    APITimeoutError,
    FailureResult,
    Message,
    MessageStream,
    PageResult,
    Response,
    Timeout,
    to_wire,
)
from aelyst_async.testing import Dataset, FakeAelystServer, FakeClock, ServerOptions

T = TypeVar("T")


def wire(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """
    Messages back in the API's own JSON form, to compare with the server's ground truth.
    """
    return [to_wire(m) for m in messages]


def ground_truth(dataset: Dataset, identifiers: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """
    What the server holds for each contact.
    """
    return {identifier: dataset.messages(identifier) for identifier in identifiers}


async def drain(
    stream: MessageStream,
) -> tuple[dict[str, list[dict[str, Any]]], list[FailureResult]]:
    """
    Every message a stream yields, by contact, and its failures.
    """
    got: dict[str, list[dict[str, Any]]] = defaultdict(list)
    failures: list[FailureResult] = []
    async with stream:
        async for result in stream:
            if isinstance(result, PageResult):
                got[result.identifier].extend(wire(result.page.items))
            else:
                failures.append(result)
    return dict(got), failures


async def list_all(client: AelystClient, identifier: str, **options: Any) -> list[dict[str, Any]]:
    """
    One contact's messages, in wire form.
    """
    return wire([m async for m in client.messages.list(identifier, **options)])


class Tasks:
    """
    Starts tasks for a test and cancels whatever is left when it ends.
    """

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.started: list[asyncio.Task[object]] = []

    async def start(self, awaitable: Awaitable[T]) -> asyncio.Task[T]:
        """
        Start a task and let it run until it blocks.
        """

        async def run() -> T:
            return await awaitable

        task = asyncio.create_task(run())
        self.started.append(task)
        await self.clock.advance(0)
        return task

    async def cancel_all(self) -> None:
        """
        Cancel the tasks still running, and wait until they are.
        """
        for task in self.started:
            task.cancel()
        await asyncio.gather(*self.started, return_exceptions=True)


class ServerThread:
    """
    A fake server on its own event loop in a thread, so that the code under test can run its
    own `asyncio.run()`, once or more, in the test's thread.
    """

    def __init__(self, options: ServerOptions) -> None:
        self._options = options
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)
        self.server: FakeAelystServer | None = None

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with FakeAelystServer(self._options) as server:
            self.server = server
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> FakeAelystServer:
        self._thread.start()
        if not self._ready.wait(timeout=10) or self.server is None:
            raise RuntimeError("the fake server did not start")
        return self.server

    def __exit__(self, *exc_info: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


class HttpxTransport:
    """
    A transport of a user's own, on httpx: the model of `AelystClient(transport=...)`.
    """

    def __init__(self) -> None:
        self.client = httpx.AsyncClient(follow_redirects=False)
        self.sent: list[tuple[str, str]] = []

    async def get(
        self, url: str, headers: Mapping[str, str], *, timeout: Timeout, remaining: float | None
    ) -> Response:
        self.sent.append((url, headers["Authorization"]))
        limits = httpx.Timeout(remaining, connect=timeout.connect, read=timeout.read)
        try:
            answer = await self.client.get(url, headers=dict(headers), timeout=limits)
        except httpx.TimeoutException:
            raise APITimeoutError(f"timed out: GET {url}", url=url) from None
        except httpx.TransportError as error:
            raise APIConnectionError(f"{error}: GET {url}", url=url) from None
        return Response(
            status=answer.status_code, headers=answer.headers, body=answer.content, url=url
        )

    async def aclose(self) -> None:
        await self.client.aclose()


def sdk_tasks(before: set[asyncio.Task[object]]) -> list[asyncio.Task[object]]:
    """
    Tasks started since `before` that run SDK code and are not done (the test tools, such as
    the fake server's keep-alive handlers and the fake clock, are not the SDK).
    """
    running = (t for t in asyncio.all_tasks() - before if not t.done())
    return [t for t in running if _is_sdk_code(t.get_coro().cr_code.co_filename)]  # type: ignore[union-attr]


def _is_sdk_code(filename: str) -> bool:
    parts = Path(filename).parts
    return "aelyst_async" in parts and "testing" not in parts
