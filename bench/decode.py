"""
1. Decode: a 50-message page body turned into objects, by the SDK and by its rivals.

Every decoder gets the same bytes: a page of the fake server's ordinary messages (text bodies,
one to four statuses, senders on outgoing messages, `channelMessageId` as strings and
integers) with its pagination links. The SDK's `decode_page` also reads the cursors.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import time
from collections.abc import Callable

import attrs
import orjson

from aelyst_async import RateLimit
from aelyst_async import _converter as converter_module
from aelyst_async._http import Response
from aelyst_async.testing import Dataset

from ._harness import PAGE_SIZE, Goal, Scale, Section, median, ratio, rounds

__all__ = [
    "DecodeResult",
    "Decoder",
    "decoders",
    "page_body",
    "run",
    "seconds_per_page",
]

FLOOR = "orjson.loads to dicts (floor)"
MSGSPEC = "msgspec, as faithful but unknown fields (scale only)"
MSGSPEC_LOSSY = "msgspec, lossy (scale only)"
PYDANTIC = "pydantic v2 validate_json"
SDK = "aelyst decode_page"


def page_body(base_url: str = "http://127.0.0.1:8080/v1") -> bytes:
    """
    The body of the third 50-message page of contact `id:1`, as the fake server sends it.
    """
    dataset = Dataset(seed=1, contacts=1, messages=500)
    contact = dataset.contact("id:1")
    window = dataset.page(contact, str(dataset.message_id(contact, 2 * PAGE_SIZE)), PAGE_SIZE)
    link = f"{base_url}/contact/id:1/message/list?limit={PAGE_SIZE}&cursorId="
    return orjson.dumps(
        {
            "items": dataset.messages_of(contact, window.start, window.stop),
            "pagination": {
                "next": f"{link}{window.next_cursor}",
                "previous": f"{link}{window.previous_cursor}",
            },
        }
    )


def _sdk(body: bytes) -> object:
    return converter_module.decode_page(Response(status=200, headers={}, body=body), RateLimit())


@attrs.frozen
class Decoder:
    """
    How a variant decodes a page body, and what must be active around its runs.
    """

    decode: Callable[[bytes], object]
    around: Callable[[], contextlib.AbstractContextManager[object]] = contextlib.nullcontext


def decoders() -> dict[str, Decoder]:
    """
    Every decoder whose library is installed, the floor first.
    """
    found = {FLOOR: Decoder(orjson.loads)}
    if importlib.util.find_spec("msgspec") and importlib.util.find_spec("pydantic"):
        from ._rivals import msgspec_decoder, msgspec_lossy_decoder, pydantic_adapter

        found[MSGSPEC] = Decoder(msgspec_decoder.decode)
        found[MSGSPEC_LOSSY] = Decoder(msgspec_lossy_decoder.decode)
        found[PYDANTIC] = Decoder(pydantic_adapter.validate_json)
    found[SDK] = Decoder(_sdk)
    return found


def seconds_per_page(decoder: Decoder, body: bytes, batch: int) -> Callable[[], float]:
    """
    A measurement: seconds one page decode takes, averaged over `batch` decodes.
    """
    decode = decoder.decode

    def run() -> float:
        with decoder.around():
            gc.collect()
            start = time.perf_counter()
            for _ in range(batch):
                decode(body)
            return (time.perf_counter() - start) / batch

    return run


@attrs.frozen(kw_only=True)
class DecodeResult:
    """
    Seconds per page decode of each decoder, one figure per run.
    """

    messages: int
    seconds: dict[str, list[float]]

    def rate(self, name: str) -> float:
        """
        Messages per second, median of the runs.
        """
        return self.messages / median(self.seconds[name])

    def cost(self, name: str, against: str) -> float:
        """
        How many times `against`'s time `name` takes (median of per-run ratios).
        """
        return ratio(self.seconds[name], self.seconds[against])

    def section(self) -> Section:
        names = list(self.seconds)
        rivals = [r for r in (MSGSPEC, PYDANTIC) if r in self.seconds]
        rows = tuple(
            (
                name,
                f"{self.rate(name):,.0f}",
                f"{median(self.seconds[name]) * 1e6:,.0f}",
                *(f"{self.cost(name, rival):.2f}x" for rival in rivals),
            )
            for name in names
        )
        goals: tuple[Goal, ...] = ()
        if rivals:
            vs_msgspec, vs_pydantic = self.cost(SDK, MSGSPEC), self.cost(SDK, PYDANTIC)
            goals = (
                Goal(
                    text="at most 6x the msgspec cost",
                    met=vs_msgspec <= 6,
                    measured=f"{vs_msgspec:.2f}x",
                ),
                Goal(
                    text="no slower than pydantic",
                    met=vs_pydantic <= 1,
                    measured=f"{vs_pydantic:.2f}x",
                ),
            )
        return Section(
            title="1. Decode",
            intro=(
                f"One page body of {self.messages} messages decoded into objects, "
                "messages per second and cost relative to each rival (time ratio, lower is faster)."
            ),
            header=("decoder", "messages/s", "µs per page", *(f"cost vs {r}" for r in rivals)),
            rows=rows,
            goals=goals,
            notes=(
                "The pydantic models are as faithful as the SDK's: open enums, `str | int` ids, "
                "sender ids to `str`, bodies of unknown types kept whole, unknown fields kept at "
                'every level (`extra="allow"`); the msgspec structs are too, but for the '
                "unknown fields, which msgspec cannot keep (`bench/_rivals.py`; "
                "`tests/test_bench_smoke.py` checks all three agree).",
                "The lossy msgspec row (enums left as strings, text bodies only) shows what "
                "faithfulness costs msgspec; the goal is measured against the faithful one.",
            ),
        )


def run(scale: Scale) -> DecodeResult:
    """
    Time every decoder on the same page body, `scale.runs` interleaved runs.
    """
    body = page_body()
    variants = {
        name: seconds_per_page(decode, body, scale.decode_batch)
        for name, decode in decoders().items()
    }
    for warm_up in variants.values():
        warm_up()
    return DecodeResult(messages=PAGE_SIZE, seconds=rounds(variants, scale.runs))
