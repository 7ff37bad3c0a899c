"""
The API's data as frozen, slotted, keyword-only attrs classes.

Rules:

1. Models know nothing of JSON: the SDK's converter (`_converter.py`) maps the wire's
   camelCase onto these snake_case names.
2. Forward compatible: a value the SDK does not know (a new traffic, status, tag or message
   type) is kept as it arrived, never rejected. Known enum values decode to the enum member,
   which is also a `str`, so `message.traffic == "incoming"` holds either way.
3. Collections are tuples, so a page is immutable all the way down.
4. Lossless: every model of a wire object (`Message`, `TextMessage`, `MessageStatus`, `Sender`,
   `Pagination`, and `Page` for the body's top level) has an `extra` mapping of the fields
   this SDK version does not model, by their wire names and with their JSON values.
   `extra` takes part in equality (two messages that differ in an unknown field are not
   equal) and in `repr`, but not in `hash` (its values may be lists and dicts).
   A decoded `extra` also carries, privately, how known fields were written where the model's
   value does not tell (an id sent as a number, a `null` or `[]` sent for an absent value):
   the converter writes them back that way (`aelyst_async.to_wire`); that part of it takes no
   part in equality.
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Iterator, Mapping
from typing import Any, final

import attrs

from ._response import ResponseInfo

__all__ = [
    "NO_FIELDS",
    "DeliveryStatus",
    "Message",
    "MessageStatus",
    "MessageTag",
    "Page",
    "Pagination",
    "RateLimit",
    "Sender",
    "TextMessage",
    "Traffic",
    "UnknownMessage",
    "WireFields",
]


@final
class WireFields(Mapping[str, Any]):
    """
    A read-only mapping of wire fields: the `extra` of a model.

    Compares equal to any mapping of the same items; pickles and copies like the model.
    """

    __slots__ = ("_fields", "_sent")

    def __init__(
        self,
        fields: Mapping[str, Any] | None = None,
        sent: Mapping[str, tuple[Any, Any]] | None = None,
    ) -> None:
        self._fields: Mapping[str, Any] = {} if fields is None else fields
        self._sent = sent
        """The converter's note of known fields: wire name to (wire value, model value)."""

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __contains__(self, key: object) -> bool:
        return key in self._fields

    def __eq__(self, other: object) -> bool:
        if isinstance(other, WireFields):
            return self._fields == other._fields
        if isinstance(other, Mapping):
            return dict(self._fields) == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # a mapping of JSON values is not hashable

    def __repr__(self) -> str:
        return repr(dict(self._fields))

    def __reduce__(self) -> tuple[Any, ...]:
        return (WireFields, (dict(self._fields), self._sent))


NO_FIELDS = WireFields()
"""The `extra` of a model that has none (shared: it cannot change)."""


class Traffic(str, enum.Enum):
    """
    Whether a message was received or sent.
    """

    OUTGOING = "outgoing"
    INCOMING = "incoming"

    def __str__(self) -> str:
        return self.value


class DeliveryStatus(str, enum.Enum):
    """
    A delivery status of a message.
    """

    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


class MessageTag(str, enum.Enum):
    """
    The Messenger/Instagram tag of a message sent outside the 24-hour window.
    """

    ACCOUNT_UPDATE = "ACCOUNT_UPDATE"
    POST_PURCHASE_UPDATE = "POST_PURCHASE_UPDATE"
    CONFIRMED_EVENT_UPDATE = "CONFIRMED_EVENT_UPDATE"

    def __str__(self) -> str:
        return self.value


@attrs.frozen(kw_only=True)
class TextMessage:
    """
    A message body of type `text`.

    Attributes:
        text: The text.
        message_tag: The tag of a message sent outside the 24-hour window, if any.
        extra: The body's fields this SDK version does not model, by their wire names
            (read-only; compared by `==` and shown by `repr`, left out of `hash`).
    """

    text: str
    message_tag: MessageTag | str | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_FIELDS, hash=False)

    @property
    def type(self) -> str:
        """
        Always `"text"`.
        """
        return "text"


@attrs.frozen(kw_only=True)
class UnknownMessage:
    """
    A message body of a type this SDK version does not model; nothing of it is lost.

    Attributes:
        type: The body's `type`, as the API sent it.
        raw: Every field of the body, as the API sent it (camelCase keys).
    """

    type: str
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    @property
    def extra(self) -> Mapping[str, Any]:
        """
        Every field of the body but `type` (all of them are unknown to this SDK version).
        """
        return {key: value for key, value in self.raw.items() if key != "type"}


@attrs.frozen(kw_only=True)
class MessageStatus:
    """
    One delivery status of a message.

    Attributes:
        value: `pending`, `sent`, `delivered`, `read`, `failed`, or a newer value as a `str`.
        timestamp: When, in Unix seconds.
        message: The reason of a failure, when there was one.
        extra: The status's fields this SDK version does not model, by their wire names
            (read-only; compared by `==` and shown by `repr`, left out of `hash`).
    """

    value: DeliveryStatus | str
    timestamp: int
    message: str | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_FIELDS, hash=False)

    @property
    def at(self) -> _dt.datetime:
        """
        `timestamp` as an aware UTC `datetime`.
        """
        return _dt.datetime.fromtimestamp(self.timestamp, tz=_dt.timezone.utc)


@attrs.frozen(kw_only=True)
class Sender:
    """
    Who sent an outgoing message.

    Attributes:
        source: `user`, `workflow`, `broadcast`, `ai_agent`, `api`, ... (an open set).
        user_id: The sending user's id, as a string.
        team_id: The sending team's id, as a string.
        extra: The sender's fields this SDK version does not model, by their wire names
            (read-only; compared by `==` and shown by `repr`, left out of `hash`).
    """

    source: str | None = None
    user_id: str | None = None
    team_id: str | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_FIELDS, hash=False)


@attrs.frozen(kw_only=True)
class Message:
    """
    One message of a contact's history.

    Attributes:
        message_id: Unique id of the message.
        channel_message_id: The channel's own id for it (a string or an integer, as sent).
        contact_id: The contact the message belongs to.
        channel_id: The channel it went through.
        traffic: `incoming` or `outgoing` (or a newer value as a `str`).
        message: The body: a `TextMessage`, or an `UnknownMessage` for other types.
        status: The delivery statuses, oldest first as the API lists them.
        sender: Who sent it; `None` for incoming messages.
        extra: The message's fields this SDK version does not model, by their wire names
            (read-only; compared by `==` and shown by `repr`, left out of `hash`).
    """

    message_id: int
    contact_id: int
    channel_id: int
    traffic: Traffic | str
    channel_message_id: str | int | None = None
    message: TextMessage | UnknownMessage | None = None
    status: tuple[MessageStatus, ...] = ()
    sender: Sender | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_FIELDS, hash=False)

    @property
    def text(self) -> str | None:
        """
        The text of a text message; `None` for a body of another type or no body.
        """
        body = self.message
        return body.text if isinstance(body, TextMessage) else None


@attrs.frozen(kw_only=True)
class Pagination:
    """
    The raw pagination links of a page, as the API sent them (`None` when empty or absent).

    Attributes:
        next: The link to the next page.
        previous: The link to the previous page.
        extra: The pagination's fields this SDK version does not model, by their wire names
            (read-only; compared by `==` and shown by `repr`, left out of `hash`).
    """

    next: str | None = None
    previous: str | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_FIELDS, hash=False)


@attrs.frozen(kw_only=True)
class RateLimit:
    """
    The rate-limit state a response reported.

    Attributes:
        limit: `X-RateLimit-Limit`: requests allowed for this endpoint.
        remaining: `X-RateLimit-Remaining`: requests left.
        retry_after: `Retry-After` in seconds (an HTTP date is converted), when sent.
        reset: `X-RateLimit-Reset` as seconds until the quota window resets (a Unix
            timestamp is converted), when sent.
    """

    limit: int | None = None
    remaining: int | None = None
    retry_after: float | None = None
    reset: float | None = None


@attrs.frozen(kw_only=True)
class Page:
    """
    One page of a contact's messages.

    Attributes:
        items: The messages of this page.
        next_cursor: The cursor of the next page, or `None` on the last page.
        previous_cursor: The cursor of the previous page, or `None`.
        pagination: The raw links the cursors were read from.
        rate_limit: The rate-limit state the response reported.
        extra: The body's top-level fields besides `items` and `pagination`.
        response: The response the page came from: status, headers, request id, attempts and
            timing (`None` for a page not fetched by a client). Not part of equality.
    """

    items: tuple[Message, ...]
    next_cursor: str | None = None
    previous_cursor: str | None = None
    pagination: Pagination = attrs.field(factory=Pagination)
    rate_limit: RateLimit = attrs.field(factory=RateLimit)
    extra: Mapping[str, Any] = attrs.field(default=NO_FIELDS, hash=False)
    response: ResponseInfo | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def has_next(self) -> bool:
        """
        Whether another page follows.
        """
        return self.next_cursor is not None
