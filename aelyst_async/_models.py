"""
The API's data as frozen, slotted, keyword-only attrs classes.

Rules:

1. Models know nothing of JSON: the SDK's converter (`_converter.py`) maps the wire's
   camelCase onto these snake_case names.
2. Forward compatible: a value the SDK does not know (a new traffic, status, tag or message
   type) is kept as it arrived, never rejected. Known enum values decode to the enum member,
   which is also a `str`, so `message.traffic == "incoming"` holds either way.
3. Collections are tuples, so a page is immutable all the way down.
4. The models the converter builds in bulk (`Message`, `MessageStatus`, `Sender`,
   `TextMessage`) have no `__weakref__` slot: that keeps their layout the one the converter's
   fast path builds into (`_converter.py`, rule 3), and their instances smaller.
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Mapping
from typing import Any

import attrs

from ._response import ResponseInfo

__all__ = [
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
]


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


@attrs.frozen(kw_only=True, weakref_slot=False)
class TextMessage:
    """
    A message body of type `text`.
    """

    text: str
    message_tag: MessageTag | str | None = None

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


@attrs.frozen(kw_only=True, weakref_slot=False)
class MessageStatus:
    """
    One delivery status of a message.

    Attributes:
        value: `pending`, `sent`, `delivered`, `read`, `failed`, or a newer value as a `str`.
        timestamp: When, in Unix seconds.
        message: The reason of a failure, when there was one.
    """

    value: DeliveryStatus | str
    timestamp: int
    message: str | None = None

    @property
    def at(self) -> _dt.datetime:
        """
        `timestamp` as an aware UTC `datetime`.
        """
        return _dt.datetime.fromtimestamp(self.timestamp, tz=_dt.timezone.utc)


@attrs.frozen(kw_only=True, weakref_slot=False)
class Sender:
    """
    Who sent an outgoing message.

    Attributes:
        source: `user`, `workflow`, `broadcast`, `ai_agent`, `api`, ... (an open set).
        user_id: The sending user's id, as a string.
        team_id: The sending team's id, as a string.
    """

    source: str | None = None
    user_id: str | None = None
    team_id: str | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
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
    """

    message_id: int
    contact_id: int
    channel_id: int
    traffic: Traffic | str
    channel_message_id: str | int | None = None
    message: TextMessage | UnknownMessage | None = None
    status: tuple[MessageStatus, ...] = ()
    sender: Sender | None = None


@attrs.frozen(kw_only=True)
class Pagination:
    """
    The raw pagination links of a page, as the API sent them (`None` when empty or absent).
    """

    next: str | None = None
    previous: str | None = None


@attrs.frozen(kw_only=True)
class RateLimit:
    """
    The rate-limit state a response reported.

    Attributes:
        limit: `X-RateLimit-Limit`: requests allowed for this endpoint.
        remaining: `X-RateLimit-Remaining`: requests left.
        retry_after: `Retry-After` in seconds (an HTTP date is converted), when sent.
    """

    limit: int | None = None
    remaining: int | None = None
    retry_after: float | None = None


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
        response: The response the page came from: status, headers, request id, attempts and
            timing (`None` for a page not fetched by a client). Not part of equality.
    """

    items: tuple[Message, ...]
    next_cursor: str | None = None
    previous_cursor: str | None = None
    pagination: Pagination = attrs.field(factory=Pagination)
    rate_limit: RateLimit = attrs.field(factory=RateLimit)
    response: ResponseInfo | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def has_next(self) -> bool:
        """
        Whether another page follows.
        """
        return self.next_cursor is not None
