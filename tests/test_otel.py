"""
OpenTelemetry: one span per page fetch under the caller's span, metrics that mirror
`client.stats`, nothing imported unless asked for, and no token nor identifier in a span or
a log line under any fault of the fake server.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import subprocess
import sys
import typing
from collections.abc import Hashable, Iterator

import attrs
import pytest
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, Sum
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from aelyst_async import (
    AelystClient,
    AelystError,
    NotFoundError,
    RateLimit,
    RetryPolicy,
    Timeout,
)
from aelyst_async.otel import OpenTelemetry, redact_url
from aelyst_async.testing import Dataset, FakeAelystServer, FakeClock, Fault
from aelyst_async.testing._faults import FaultKind

from .observing import email_of, fetch_pages, leaks

TOKEN = "sk-otel-81d7c3aa"
pytestmark = pytest.mark.aelyst_server(token=TOKEN, dataset=Dataset(seed=5, contacts=5))
FAST = RetryPolicy(backoff_base=0.001, backoff_cap=0.01)
ROUTE = "/v1/contact/{identifier}/message/list"


@attrs.frozen
class Recorded:
    """The telemetry of a test, and where its spans and metrics land."""

    telemetry: OpenTelemetry
    tracer_provider: TracerProvider
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def sdk_spans(self) -> list[ReadableSpan]:
        return [s for s in self.finished() if s.name == f"GET {ROUTE}"]

    def counter(self, name: str) -> int:
        """The sum of a counter over all its attribute sets (0 when never incremented)."""
        data = self.metrics.get_metrics_data()
        total = 0
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name and isinstance(metric.data, Sum):
                        total += sum(int(point.value) for point in metric.data.data_points)
        return total


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    telemetry = OpenTelemetry(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield Recorded(telemetry, tracer_provider, spans, reader)
    tracer_provider.shutdown()
    meter_provider.shutdown()


async def test_each_page_fetch_is_one_client_span_under_the_callers_span(
    server: FakeAelystServer, recorded: Recorded
) -> None:
    """Three pages make three CLIENT spans, children of the span the caller had open."""
    tracer = recorded.tracer_provider.get_tracer("the-application")
    async with AelystClient(TOKEN, base_url=server.url, telemetry=recorded.telemetry) as client:
        with tracer.start_as_current_span("export") as parent:
            pages = await fetch_pages(client, email_of(server), limit=5, max_items=15)
    spans = recorded.sdk_spans()
    assert 3 == len(pages) == len(spans)
    assert {SpanKind.CLIENT} == {span.kind for span in spans}
    assert {parent.get_span_context().span_id} == {
        span.parent.span_id for span in spans if span.parent is not None
    }
    assert {parent.get_span_context().trace_id} == {span.context.trace_id for span in spans}


async def test_the_pages_of_list_many_nest_under_the_callers_span(
    server: FakeAelystServer, recorded: Recorded
) -> None:
    """The concurrent fetches of `list_many` are children of the span open around the stream."""
    tracer = recorded.tracer_provider.get_tracer("the-application")
    identifiers = list(server.dataset.identifiers())
    async with AelystClient(TOKEN, base_url=server.url, telemetry=recorded.telemetry) as client:
        with tracer.start_as_current_span("export") as parent:
            async with client.messages.list_many(identifiers, concurrency=3) as stream:
                results = [result async for result in stream]
    spans = recorded.sdk_spans()
    assert len(results) == len(spans) >= len(identifiers)
    assert {parent.get_span_context().span_id} == {
        span.parent.span_id for span in spans if span.parent is not None
    }


async def test_the_span_follows_the_http_client_conventions(
    server: FakeAelystServer, recorded: Recorded
) -> None:
    """Method, server, redacted URL, route template, status, attempts and rate-limit state."""
    async with AelystClient(TOKEN, base_url=server.url, telemetry=recorded.telemetry) as client:
        await fetch_pages(client, "id:1", limit=50, max_items=1)
    [span] = recorded.sdk_spans()
    attributes = dict(span.attributes or {})
    expected = {
        "http.request.method": "GET",
        "server.address": "127.0.0.1",
        "server.port": int(server.url.rsplit(":", 1)[1].split("/")[0]),
        "url.full": f"{server.url}/contact/REDACTED/message/list?limit=1",
        "url.template": ROUTE,
        "http.response.status_code": 200,
        "aelyst.attempts": 1,
        "aelyst.request_id": "req_1",
    }
    assert expected == {name: attributes[name] for name in expected}
    assert "error.type" not in attributes
    assert StatusCode.UNSET == span.status.status_code


async def test_retries_are_events_of_the_one_span(
    server: FakeAelystServer, recorded: Recorded
) -> None:
    """A 503 then a 200: one span, two attempt events, a resend count of one."""
    server.faults.next(Fault.status(503))
    async with AelystClient(
        TOKEN, base_url=server.url, retry=FAST, telemetry=recorded.telemetry
    ) as client:
        await fetch_pages(client, "id:1", max_items=1)
    [span] = recorded.sdk_spans()
    events = [dict(event.attributes or {}) for event in span.events]
    assert [(1, 503), (2, 200)] == [
        (e["aelyst.attempt"], e["http.response.status_code"]) for e in events
    ]
    assert 1 == (span.attributes or {})["http.request.resend_count"]
    assert 200 == (span.attributes or {})["http.response.status_code"]


class SlowLimiter:
    """A limiter that makes each request wait half a second of fake time."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    async def acquire(self, key: Hashable, *, timeout: float | None = None) -> None:
        await self.clock.sleep(0.5)

    def observe(self, key: Hashable, status: int, rate_limit: RateLimit) -> None:
        pass


async def test_limiter_waits_are_recorded(server: FakeAelystServer, recorded: Recorded) -> None:
    """The time an attempt waited for the rate limiter is on its event and on the span."""
    clock = FakeClock(auto_advance=True)
    async with AelystClient(
        TOKEN,
        base_url=server.url,
        clock=clock,
        rate_limiter=SlowLimiter(clock),
        telemetry=recorded.telemetry,
    ) as client:
        await fetch_pages(client, "id:1", max_items=1)
    [span] = recorded.sdk_spans()
    assert 0.5 == (span.attributes or {})["aelyst.rate_limiter.wait"]
    assert 0.5 == (span.events[0].attributes or {})["aelyst.rate_limiter.wait"]


async def test_a_failed_fetch_is_an_error_span_of_its_status(
    server: FakeAelystServer, recorded: Recorded
) -> None:
    """A 404 ends the span with status ERROR and `error.type` 404, no exception message."""
    async with AelystClient(TOKEN, base_url=server.url, telemetry=recorded.telemetry) as client:
        with pytest.raises(NotFoundError):
            await fetch_pages(client, "id:999999")
    [span] = recorded.sdk_spans()
    assert StatusCode.ERROR == span.status.status_code
    assert "404" == (span.attributes or {})["error.type"]
    assert [] == [event for event in span.events if event.name == "exception"]


async def test_the_metrics_mirror_the_client_stats(
    server: FakeAelystServer, recorded: Recorded
) -> None:
    """Requests, retries and 429s counted by the metrics equal `client.stats`."""
    server.faults.next(Fault.status(503))
    server.faults.next(Fault.rate_limited(retry_after=0.01, limit=1000))
    async with AelystClient(
        TOKEN, base_url=server.url, retry=FAST, telemetry=recorded.telemetry
    ) as client:
        await fetch_pages(client, "id:1", limit=5, max_items=10)
        stats = client.stats
    assert (4, 2, 1) == (stats.requests, stats.retries, stats.rate_limited)
    assert stats.requests == recorded.counter("aelyst.client.requests")
    assert stats.retries == recorded.counter("aelyst.client.retries")
    assert stats.rate_limited == recorded.counter("aelyst.client.rate_limited")


FAULTS = [
    pytest.param(Fault.status(500), id="status-500"),
    pytest.param(Fault.status(503), id="status-503"),
    pytest.param(Fault.status(401, {"code": 401, "message": "no"}), id="status-401"),
    pytest.param(Fault.rate_limited(retry_after=0.01, limit=1000), id="rate_limited"),
    pytest.param(Fault.slow(2.0), id="slow"),
    pytest.param(Fault.drop(), id="drop"),
    pytest.param(Fault.truncate(), id="truncate"),
    pytest.param(Fault.not_json(), id="not_json"),
    pytest.param(Fault.cut_json(), id="cut_json"),
    pytest.param(Fault.oversized(), id="oversized"),
    pytest.param(Fault.endless(), id="endless"),
    pytest.param(Fault.gzip_bomb(), id="gzip_bomb"),
    pytest.param(Fault.bad_next("https://elsewhere.example/contact/x/message/list"), id="bad_next"),
]


def test_the_sweep_covers_every_fault_kind() -> None:
    """A fault kind the fake server learns is added to the secrecy sweep below."""
    covered = {param.values[0].kind for param in FAULTS}  # type: ignore[union-attr]
    assert set(typing.get_args(FaultKind)) == covered


@pytest.mark.parametrize("fault", FAULTS)
async def test_no_span_nor_log_line_shows_the_token_or_the_identifier(
    fault: Fault,
    server: FakeAelystServer,
    recorded: Recorded,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Under every fault kind, retried or not, spans, metrics and logs keep both secret."""
    caplog.set_level(logging.DEBUG, logger="aelyst_async")
    identifier = email_of(server)
    server.faults.next(fault, times=2)
    policy = RetryPolicy(max_attempts=2, backoff_base=0.001, backoff_cap=0.01)
    async with AelystClient(
        TOKEN,
        base_url=server.url,
        retry=policy,
        timeout=Timeout(read=0.05),
        max_response_bytes=64 * 1024,
        telemetry=recorded.telemetry,
    ) as client:
        for _ in range(3):  # two faulted attempts, then whatever is left of the fault
            with contextlib.suppress(AelystError):
                await fetch_pages(client, identifier, limit=5)
    spans = recorded.finished()
    assert len(spans) >= 3
    traced = "\n".join(span.to_json() for span in spans)
    metrics = recorded.metrics.get_metrics_data()
    assert metrics is not None
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert [] == leaks(traced, TOKEN, identifier)
    assert [] == leaks(metrics.to_json(), TOKEN, identifier)
    assert [] == leaks(logged, TOKEN, identifier)
    assert logged


async def test_aiohttp_instrumentation_keeps_identifiers_out_with_redact_url(
    server: FakeAelystServer, recorded: Recorded
) -> None:
    """aiohttp's own spans, with `url_filter=redact_url`, nest under ours, without identifier."""
    identifier = email_of(server)
    instrumentor = AioHttpClientInstrumentor()
    instrumentor.instrument(tracer_provider=recorded.tracer_provider, url_filter=redact_url)
    try:
        async with AelystClient(TOKEN, base_url=server.url, telemetry=recorded.telemetry) as client:
            await fetch_pages(client, identifier, max_items=1)
    finally:
        instrumentor.uninstrument()
    [ours] = recorded.sdk_spans()
    theirs = [span for span in recorded.finished() if span is not ours]
    assert 1 == len(theirs)
    assert theirs[0].parent is not None
    assert ours.context.span_id == theirs[0].parent.span_id
    assert [] == leaks("\n".join(s.to_json() for s in theirs), TOKEN, identifier)


def test_nothing_of_opentelemetry_is_imported_unless_asked_for() -> None:
    """A client without `telemetry=` fetches pages without importing OpenTelemetry."""
    code = """
import asyncio, sys
from aelyst_async import AelystClient
from aelyst_async.testing import FakeAelystServer

async def main():
    async with FakeAelystServer(token="t") as server:
        async with AelystClient("t", base_url=server.url) as client:
            [m async for m in client.messages.list("id:1", max_items=3)]

asyncio.run(main())
print(sorted(name for name in sys.modules if name.startswith("opentelemetry")))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "[]" == done.stdout.strip()


def test_redact_url_hides_the_identifier_and_the_cursor() -> None:
    """The contact's path segment and every query value but `limit` become REDACTED."""
    url = "https://u:p@api.aelyst.ai/v1/contact/email:a%40b.c/message/list?limit=5&cursorId=c9#f"
    expected = "https://api.aelyst.ai/v1/contact/REDACTED/message/list?limit=5&cursorId=REDACTED"
    assert expected == redact_url(url)


async def test_a_cancelled_fetch_still_ends_its_span(
    server: FakeAelystServer, recorded: Recorded
) -> None:
    """A fetch cancelled mid-flight ends its span, as an error of type CancelledError."""
    server.faults.next(Fault.slow(2.0))
    async with AelystClient(TOKEN, base_url=server.url, telemetry=recorded.telemetry) as client:
        task = asyncio.create_task(fetch_pages(client, "id:1"))
        await asyncio.sleep(0)  # the fetch starts, and waits for its connection
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    [span] = recorded.sdk_spans()
    assert "CancelledError" == (span.attributes or {})["error.type"]


def test_without_the_extra_the_import_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Importing `aelyst_async.otel` without OpenTelemetry names the extra to install."""
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    monkeypatch.delitem(sys.modules, "aelyst_async.otel")
    monkeypatch.delitem(sys.modules, "aelyst_async._otel")
    with pytest.raises(ImportError, match=r"aelyst-async\[otel\]"):
        importlib.import_module("aelyst_async.otel")
