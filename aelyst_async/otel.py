"""
OpenTelemetry traces and metrics of the SDK's requests: `pip install "aelyst-async[otel]"`.

Nothing of OpenTelemetry is imported until this module is, and a client traces only when
given `telemetry=OpenTelemetry()`: without it, tracing costs nothing.

Example:
    ```python
    from aelyst_async import AelystClient
    from aelyst_async.otel import OpenTelemetry

    async with AelystClient(telemetry=OpenTelemetry()) as client:  # the global providers
        async for message in client.messages.list("id:123"):
            ...
    ```
"""

from ._otel import OpenTelemetry
from ._routes import redact_url

__all__ = ["OpenTelemetry", "redact_url"]
