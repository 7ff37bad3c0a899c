"""
Faults the fake server injects: failed statuses, rate limits, slow, dropped and broken answers.

Rules:

1. A `FaultPlan` decides; the server applies. `FaultPlan.decide` is a plain function of the
   plan's state and the request's target (path and query, as sent), so it is tested without
   a socket.
2. Scripted faults (`next`) hit the next requests in arrival order, before anything else.
3. Fraction faults (`fraction`) are deterministic under concurrency: whether the n-th request
   for a target is faulted, and with which fault, depends only on (seed, target, n), never on
   how requests of different targets interleave.
4. No target is fraction-faulted more than `MAX_CONSECUTIVE_FAULTS` times in a row: the next
   request for it is answered, so a client that retries always gets through.
5. The server applies a fault only to an authenticated request that the rate limiter let
   through: a wrong token still gets its 401, and a faulted request has used a token.
"""

from __future__ import annotations

import collections
import hashlib
import http
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, get_args

import attrs
import orjson

from .._checks import check_choice, check_int, check_number, check_seconds
from .._exceptions import InvalidArgumentError

__all__ = [
    "MAX_CONSECUTIVE_FAULTS",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "InjectedFault",
    "describe_faults",
    "parse_faults",
    "status_phrase",
]

FaultKind = Literal[
    "status",
    "rate_limited",
    "slow",
    "drop",
    "truncate",
    "not_json",
    "cut_json",
    "oversized",
    "endless",
    "gzip_bomb",
    "bad_next",
]

MAX_CONSECUTIVE_FAULTS = 3

_GATEWAY_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
_MAINTENANCE_PAGE = (
    b"<!DOCTYPE html><html><head><title>Down for maintenance</title></head>"
    b"<body><h1>We'll be right back.</h1></body></html>"
)
_API_MESSAGES: Mapping[int, str] = {500: "Unexpected error occurred"}


def _check_kind(kind: object) -> None:
    check_choice("Fault.kind", kind, get_args(FaultKind))


def _check_fault(name: str, value: object) -> Fault:
    if not isinstance(value, Fault):
        raise InvalidArgumentError(f"{name} must be a Fault (see its class methods), not {value!r}")
    return value


def status_phrase(code: int) -> str:
    """
    The reason phrase of an HTTP status, `HTTP 499` for one the standard library does not name.
    """
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return f"HTTP {code}"


@attrs.frozen(kw_only=True)
class Fault:
    """
    One way of answering a request badly. Build one with the class methods.

    Attributes:
        kind: What the server does (see the class methods).
        code: The HTTP status of a `status` fault.
        body: The body of a `status` fault.
        content_type: The content type of that body.
        retry_after: The `Retry-After` of a `rate_limited` fault, in seconds.
        limit: The `X-RateLimit-Limit` of a `rate_limited` fault when the server has no
            rate limiter of its own (otherwise the limiter's is sent).
        delay: The real seconds a `slow` fault waits before answering.
        date_skew: Seconds the server's clock is ahead (negative: behind) in the `Date`
            and HTTP-date `Retry-After` headers of a `rate_limited` fault, or `None` to
            send seconds and no skew.
        size: The bytes an `oversized` body announces and sends, or a `gzip_bomb` inflates to.
        link: The `pagination.next` a `bad_next` fault sends (any JSON value).
        keep_items: Whether a `bad_next` fault keeps the page's items (else it is empty).
    """

    kind: FaultKind = attrs.field(validator=lambda _, __, kind: _check_kind(kind))
    code: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    retry_after: float = 0.0
    limit: int = 10
    delay: float = 0.0
    date_skew: float | None = None
    size: int = 0
    link: object = None
    keep_items: bool = True

    @classmethod
    def status(
        cls,
        code: int,
        body: bytes | str | Mapping[str, Any] | None = None,
        *,
        content_type: str | None = None,
    ) -> Fault:
        """
        Answer with an error status instead of the page.

        Args:
            code: An HTTP status from 400 to 599.
            body: The body: bytes or text as is, a mapping as JSON. By default the API's
                `{"code": ..., "message": ...}`, except 502, which answers with a gateway's
                HTML page.
            content_type: The body's content type; by default JSON, or HTML for the 502 page.

        Returns:
            The fault.
        """
        check_int("Fault.status code", code, low=400, high=599)
        html = body is None and code == 502
        if body is None:
            message = _API_MESSAGES.get(code, status_phrase(code))
            body = _GATEWAY_PAGE if html else {"code": code, "message": message}
        raw = (
            body
            if isinstance(body, bytes)
            else body.encode()
            if isinstance(body, str)
            else orjson.dumps(body)
        )
        return cls(
            kind="status",
            code=code,
            body=raw,
            content_type=content_type or ("text/html" if html else "application/json"),
        )

    @classmethod
    def rate_limited(
        cls,
        retry_after: float = 1.0,
        *,
        limit: int = 10,
        status: int = 429,
        date_skew: float | None = None,
    ) -> Fault:
        """
        Answer 429 `{"code":429,"message":"Too Many Requests"}` with `Retry-After` and
        rate-limit headers (`X-RateLimit-Remaining: 0`).

        Args:
            retry_after: Seconds the client is told to wait.
            limit: `X-RateLimit-Limit` when the server has no rate limiter of its own.
            status: 429, or another error status (a 503 with `Retry-After`).
            date_skew: Send `Retry-After` as an HTTP date, on a server clock this many
                seconds ahead (negative: behind) of the fake server's clock, with a `Date`
                header on the same skewed clock, as a server whose clock is off would.

        Returns:
            The fault.
        """
        check_int("Fault.rate_limited status", status, low=400, high=599)
        if date_skew is not None:
            date_skew = check_number("date_skew", date_skew, low=-math.inf)
        return cls(
            kind="rate_limited",
            code=status,
            retry_after=check_seconds("Fault.retry_after", retry_after, positive=False),
            limit=check_int("Fault.rate_limited limit", limit, low=1),
            date_skew=date_skew,
        )

    @classmethod
    def oversized(cls, size: int = 2 * 1024**3) -> Fault:
        """
        Answer 200 with a body of `size` bytes, announced in `Content-Length` and streamed
        (it is never held in memory) until the client hangs up.

        Returns:
            The fault.
        """
        return cls(kind="oversized", size=_check_size(size))

    @classmethod
    def endless(cls) -> Fault:
        """
        Answer 200 with a chunked JSON body that never ends: the start of a page, then
        messages for as long as the client reads.

        Returns:
            The fault.
        """
        return cls(kind="endless")

    @classmethod
    def gzip_bomb(cls, size: int = 2 * 1024**3) -> Fault:
        """
        Answer 200 with `Content-Encoding: gzip` and a small body that inflates to `size`
        bytes (compressed as it is sent, until the client hangs up).

        Returns:
            The fault.
        """
        return cls(kind="gzip_bomb", size=_check_size(size))

    @classmethod
    def bad_next(cls, link: object, *, keep_items: bool = True) -> Fault:
        """
        Answer with the page, its `pagination.next` replaced by `link`: a link without a
        cursor, an empty cursor, a number, a cursor already served...

        Args:
            link: The JSON value to send as `pagination.next`.
            keep_items: Keep the page's items; when false, send an empty page instead
                (whatever the request's cursor).

        Returns:
            The fault.
        """
        return cls(kind="bad_next", link=link, keep_items=keep_items)

    @classmethod
    def slow(cls, delay: float) -> Fault:
        """
        Wait `delay` real seconds (not the server's clock: this is for client timeouts), then
        answer normally.

        Returns:
            The fault.
        """
        return cls(kind="slow", delay=check_seconds("Fault.delay", delay, positive=False))

    @classmethod
    def drop(cls) -> Fault:
        """
        Close the connection without sending any response.

        Returns:
            The fault.
        """
        return cls(kind="drop")

    @classmethod
    def truncate(cls) -> Fault:
        """
        Send the status and headers with the full `Content-Length`, then half the body, then
        close the connection: the client sees a payload error.

        Returns:
            The fault.
        """
        return cls(kind="truncate")

    @classmethod
    def not_json(cls) -> Fault:
        """
        Answer 200 with an HTML page, as a proxy or maintenance page would.

        Returns:
            The fault.
        """
        return cls(kind="not_json", body=_MAINTENANCE_PAGE, content_type="text/html")

    @classmethod
    def cut_json(cls) -> Fault:
        """
        Answer with the right status and a consistent `Content-Length`, but only the first half
        of the JSON body.

        Returns:
            The fault.
        """
        return cls(kind="cut_json")


def _check_size(size: object) -> int:
    return check_int("size", size, low=1)


@attrs.frozen(kw_only=True)
class InjectedFault:
    """
    A record of one fault the plan decided.

    Attributes:
        target: The request's path and query, as sent.
        nth: How many requests for that target the plan saw before it (0 for the first),
            counted from when the plan first held a fault.
        kind: The fault's kind.
        scripted: Whether it came from `next` rather than `fraction`.
    """

    target: str
    nth: int
    kind: FaultKind
    scripted: bool


def _unit(seed: int, target: str, nth: int) -> tuple[float, int]:
    """
    A uniform number in [0, 1) and a free integer, both a pure function of the arguments.
    """
    digest = hashlib.blake2b(f"{seed}\x00{nth}\x00{target}".encode(), digest_size=16).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64, int.from_bytes(digest[8:], "big")


class FaultPlan:
    """
    Which requests the fake server answers badly. Scriptable while the server runs.

    Example:
        ```python
        plan = FaultPlan().next(Fault.status(503), times=2)
        plan.fraction(0.2, [Fault.status(500), Fault.drop()], seed=1)
        async with FakeAelystServer(faults=plan) as server:
            clock = FakeClock(auto_advance=True)  # the client's backoffs take no real time
            async with AelystClient("test-token", base_url=server.url, clock=clock) as client:
                messages = [m async for m in client.messages.list("id:3")]
        assert server.stats.faults["status"] >= 2
        ```
    """

    def __init__(self) -> None:
        self._scripted: collections.deque[Fault] = collections.deque()
        self._rate = 0.0
        self._choices: tuple[Fault, ...] = ()
        self._seed = 0
        self._seen: dict[str, list[int]] = {}  # target -> [requests seen, fraction faults in a row]
        self.injected: list[InjectedFault] = []

    def next(self, fault: Fault, *, times: int = 1) -> FaultPlan:
        """
        Answer the next `times` requests with `fault` (after the faults already scripted).

        Args:
            fault: The fault.
            times: How many requests it hits.

        Returns:
            The plan, to chain calls.
        """
        check_int("times", times, low=0)
        self._scripted.extend([_check_fault("fault", fault)] * times)
        return self

    def fraction(self, rate: float, faults: Sequence[Fault], *, seed: int = 0) -> FaultPlan:
        """
        Answer about `rate` of all requests with one of `faults`, replacing any earlier fraction.

        Args:
            rate: The share of requests to fault, from 0 to 1.
            faults: The faults to choose from, equally likely.
            seed: Another seed gives another, equally deterministic, choice of requests.

        Returns:
            The plan, to chain calls.
        """
        check_number("rate", rate, low=0, high=1)
        if isinstance(faults, (str, bytes, Fault)):
            raise InvalidArgumentError(f"faults must be a sequence of Fault, not {faults!r}")
        choices = tuple(_check_fault("faults[]", fault) for fault in faults)
        if rate and not choices:
            raise InvalidArgumentError("fraction needs at least one fault to choose from")
        checked_seed = check_int("seed", seed)
        self._rate, self._choices, self._seed = float(rate), choices, checked_seed
        return self

    def clear(self) -> None:
        """
        Forget every scripted and fraction fault, and what requests were seen.
        """
        self._scripted.clear()
        self.fraction(0, ())
        self._seen.clear()

    @property
    def pending(self) -> int:
        """
        Scripted faults not yet used.
        """
        return len(self._scripted)

    def decide(self, target: str) -> Fault | None:
        """
        Decide the fault for one request, and record it in `injected`.

        Args:
            target: The request's path and query, exactly as sent.

        Returns:
            The fault to apply, or `None` to answer normally.
        """
        if not self._rate and not self._scripted:
            return None
        fault: Fault | None = None
        state = self._seen.setdefault(target, [0, 0])
        nth = state[0]
        state[0] += 1
        if self._rate:
            unit, pick = _unit(self._seed, target, nth)
            if unit < self._rate and state[1] < MAX_CONSECUTIVE_FAULTS:
                state[1] += 1
                fault = self._choices[pick % len(self._choices)]
            else:
                state[1] = 0
        scripted = bool(self._scripted)
        if scripted:
            fault = self._scripted.popleft()
        if fault is not None:
            self.injected.append(
                InjectedFault(target=target, nth=nth, kind=fault.kind, scripted=scripted)
            )
        return fault

    def __repr__(self) -> str:
        return f"FaultPlan(pending={self.pending}, rate={self._rate}, seed={self._seed})"


_FAULT_MAKERS: Mapping[str, Callable[[], Fault]] = {
    "rate_limited": Fault.rate_limited,
    "drop": Fault.drop,
    "truncate": Fault.truncate,
    "not_json": Fault.not_json,
    "cut_json": Fault.cut_json,
    "slow": lambda: Fault.slow(2.0),
}
_DEFAULT_FAULT_KINDS = "500,503,drop,cut_json"


def _read_faults(text: str) -> tuple[float, list[str]]:
    """
    The rate and the kinds of `--faults RATE[:KIND,...]`, the default kinds when none is given.

    Raises:
        InvalidArgumentError: When the rate is not a number.
    """
    rate_text, _, kinds_text = text.partition(":")
    try:
        rate = float(rate_text)
    except ValueError:
        raise InvalidArgumentError(
            f"rate must be a number from 0 to 1, not {rate_text.strip()!r}"
        ) from None
    return rate, [kind.strip() for kind in (kinds_text or _DEFAULT_FAULT_KINDS).split(",")]


def parse_faults(text: str) -> FaultPlan:
    """
    A fault plan from the text of `aelyst mock-server --faults RATE[:KIND,...]`: fault about
    RATE of the requests, with faults chosen among KINDs: HTTP statuses (`500`, `503`),
    `rate_limited`, `drop`, `truncate`, `not_json`, `cut_json`, `slow` (default:
    `500,503,drop,cut_json`).

    Raises:
        InvalidArgumentError: When the text cannot be read, naming what is wrong.
    """
    rate, kinds = _read_faults(text)
    faults: list[Fault] = []
    for name in kinds:
        if name.isdigit():
            faults.append(Fault.status(int(name)))
        elif name in _FAULT_MAKERS:
            faults.append(_FAULT_MAKERS[name]())
        else:
            raise InvalidArgumentError(
                f"unknown fault {name!r}; use a status, {', '.join(_FAULT_MAKERS)}"
            )
    return FaultPlan().fraction(rate, faults)


def describe_faults(text: str | None) -> str:
    """
    The faults of `--faults` in words, for `aelyst mock-server`'s banner: `none`, or
    `about 5% of requests, one of 503, drop`.

    Raises:
        InvalidArgumentError: When the text cannot be read.
    """
    if not text:
        return "none"
    rate, kinds = _read_faults(text)
    return f"about {rate * 100:g}% of requests, one of {', '.join(kinds)}"
