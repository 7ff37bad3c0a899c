"""
`OpenTelemetry`: the SDK's page fetches as OpenTelemetry spans and metrics (the `otel` extra).

Rules:

1. One span per page fetch, of kind CLIENT, named `GET /v1/contact/{identifier}/message/list`,
   current while its attempts run (so the spans of an HTTP instrumentation nest under it), a
   child of the caller's current span. Its attributes follow OpenTelemetry's HTTP client
   conventions (`http.request.method`, `server.address`, `server.port`, `url.full`,
   `url.template`, `http.response.status_code`, `http.request.resend_count`, `error.type`),
   and the SDK's own under `aelyst.`: attempts, limiter wait, rate-limit state, request id.
2. Each attempt is an event `aelyst.attempt`: its number, status or fault, duration and the
   time it waited for the rate limiter.
3. No span, event or metric holds a concrete identifier, a cursor or the token: `url.full` is
   the request's URL through `redact_url`, the contact shows only as its short hash, and
   exceptions are recorded by type alone (their messages carry the URL).
4. The metrics mirror `client.stats`: `aelyst.client.requests`, `aelyst.client.retries`,
   `aelyst.client.rate_limited`, and the `http.client.request.duration` of each attempt.
"""

from __future__ import annotations

import contextvars
from types import TracebackType
from typing import Final

try:
    from opentelemetry import context, metrics, trace
    from opentelemetry.util.types import AttributeValue
except ImportError as exc:
    raise ImportError(
        'aelyst_async.otel needs OpenTelemetry: pip install "aelyst-async[otel]"'
    ) from exc

from . import __version__
from ._exceptions import APIStatusError
from ._instrument import Attempt, CallDescription

__all__ = ["OpenTelemetry"]

_SCOPE: Final = "aelyst_async"


class OpenTelemetry:
    """
    Traces and metrics through OpenTelemetry: pass one as `AelystClient(telemetry=...)`.

    Args:
        tracer_provider: Where spans go; by default the global tracer provider.
        meter_provider: Where metrics go; by default the global meter provider.

    Example:
        ```python
        from opentelemetry.sdk.trace import TracerProvider

        telemetry = OpenTelemetry(tracer_provider=TracerProvider())
        async with AelystClient(telemetry=telemetry) as client:
            pages = [page async for page in client.messages.list("id:1").pages()]
        ```
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self._tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider)
        meter = metrics.get_meter(_SCOPE, __version__, meter_provider)
        self._requests = meter.create_counter(
            "aelyst.client.requests", unit="{request}", description="HTTP requests sent"
        )
        self._retries = meter.create_counter(
            "aelyst.client.retries", unit="{request}", description="Requests that were retries"
        )
        self._rate_limited = meter.create_counter(
            "aelyst.client.rate_limited", unit="{response}", description="429 answers received"
        )
        self._duration = meter.create_histogram(
            "http.client.request.duration", unit="s", description="Duration of HTTP requests"
        )

    def __repr__(self) -> str:
        return "OpenTelemetry()"

    def trace_call(self, call: CallDescription) -> _CallSpan:
        """
        The span of one page fetch (module rule 1).
        """
        return _CallSpan(self, call)


class _CallSpan:
    """
    The span of one page fetch, current between `__enter__` and `__exit__`.
    """

    def __init__(self, telemetry: OpenTelemetry, call: CallDescription) -> None:
        self._telemetry = telemetry
        base = call.base_url
        self._common: dict[str, AttributeValue] = {
            "http.request.method": call.method,
            "server.address": base.host or "",
            "server.port": base.port or (443 if base.scheme == "https" else 80),
            "url.template": call.route,
        }
        self._span = telemetry._tracer.start_span(
            f"{call.method} {call.route}",
            kind=trace.SpanKind.CLIENT,
            attributes={**self._common, "url.full": call.url, "aelyst.contact.hash": call.contact},
        )
        self._token: contextvars.Token[context.Context] | None = None
        self._attempts = 0
        self._limiter_wait = 0.0

    def __enter__(self) -> _CallSpan:
        self._token = context.attach(trace.set_span_in_context(self._span))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        span = self._span
        span.set_attribute("aelyst.attempts", self._attempts)
        span.set_attribute("aelyst.rate_limiter.wait", self._limiter_wait)
        if exc is not None:
            error_type = (
                str(exc.status) if isinstance(exc, APIStatusError) else type(exc).__qualname__
            )
            span.set_attribute("error.type", error_type)
            span.set_status(trace.Status(trace.StatusCode.ERROR, error_type))
        if self._token is not None:
            context.detach(self._token)
        span.end()

    def attempted(self, attempt: Attempt) -> None:
        """
        Record one attempt: a span event, the span's latest status and rate-limit state, and
        the metrics.
        """
        telemetry, span = self._telemetry, self._span
        self._attempts = attempt.number
        self._limiter_wait += attempt.limiter_wait
        event: dict[str, AttributeValue] = {
            "aelyst.attempt": attempt.number,
            "aelyst.duration": attempt.duration,
            "aelyst.rate_limiter.wait": attempt.limiter_wait,
        }
        measured = dict(self._common)
        if attempt.status is None:
            event["error.type"] = measured["error.type"] = attempt.fault or "connection error"
        else:
            event["http.response.status_code"] = attempt.status
            measured["http.response.status_code"] = attempt.status
            span.set_attribute("http.response.status_code", attempt.status)
            if attempt.status >= 400:
                measured["error.type"] = str(attempt.status)
        if attempt.number > 1:
            span.set_attribute("http.request.resend_count", attempt.number - 1)
        rate_limit = attempt.rate_limit
        for name, value in (
            ("aelyst.rate_limit.limit", rate_limit.limit),
            ("aelyst.rate_limit.remaining", rate_limit.remaining),
            ("aelyst.rate_limit.retry_after", rate_limit.retry_after),
            ("aelyst.request_id", attempt.request_id),
        ):
            if value is not None:
                span.set_attribute(name, value)
                event[name] = value
        span.add_event("aelyst.attempt", event)

        counted = {key: self._common[key] for key in ("server.address", "url.template")}
        telemetry._requests.add(1, counted)
        if attempt.number > 1:
            telemetry._retries.add(1, counted)
        if attempt.status == 429:
            telemetry._rate_limited.add(1, counted)
        telemetry._duration.record(attempt.duration, measured)
