"""
The SDK's one cattrs converter: wire JSON (camelCase) to models (snake_case).

Rules:

1. This module is the only place that knows the wire's field names; models know nothing of
   JSON (cattrs warns against the global converter: this one is private to the SDK).
2. Forward compatible: unknown fields are ignored; an enum value the SDK does not know stays
   a plain `str`; a message body of a type other than `text` becomes an `UnknownMessage`
   that keeps every raw field; `channelMessageId` may be a string or an integer;
   `userId`/`teamId` arrive as strings or numbers and become `str`.
3. Decoding is on the hot path of every page: hooks are generated once, with
   `detailed_validation` off, and the unions and enums use dict look-ups, not trial and error.
4. Any body that is not the documented shape raises `APIResponseDecodeError` with the HTTP
   status and a short excerpt of the body; nothing is silently dropped.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import cattrs
import orjson
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.preconf.orjson import make_converter

from ._exceptions import APIResponseDecodeError
from ._models import (
    DeliveryStatus,
    Message,
    MessageStatus,
    MessageTag,
    Page,
    Pagination,
    RateLimit,
    Sender,
    TextMessage,
    Traffic,
    UnknownMessage,
)
from ._protocol import Response, cursor_from_link

__all__ = ["converter", "decode_messages", "decode_page"]

E = TypeVar("E", bound=enum.Enum)


def _open_enum(cls: type[E]) -> Callable[[Any, Any], E | str]:
    """
    A hook that maps a known value to its member and keeps any other string as it is.
    """
    members: dict[str, E] = {member.value: member for member in cls}

    def structure(value: Any, _: Any) -> E | str:
        if isinstance(value, str):
            return members.get(value, value)
        raise TypeError(f"expected a string for {cls.__name__}, got {type(value).__name__}")

    return structure


def _optional_open_enum(cls: type[E]) -> Callable[[Any, Any], E | str | None]:
    required = _open_enum(cls)

    def structure(value: Any, type_: Any) -> E | str | None:
        return None if value is None else required(value, type_)

    return structure


def _id_text(value: Any, _: Any) -> str | None:
    """
    `userId`/`teamId`: documented as strings, sent as numbers by the reference example.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string or an integer id, got {type(value).__name__}")


def _str_or_int(value: Any, _: Any) -> str | int | None:
    if value is None or (isinstance(value, (str, int)) and not isinstance(value, bool)):
        return value
    raise TypeError(f"expected a string or an integer, got {type(value).__name__}")


def _strict_int(value: Any, _: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _build_converter() -> cattrs.Converter:
    conv = make_converter(detailed_validation=False, forbid_extra_keys=False)
    conv.register_structure_hook(int, _strict_int)

    text_message = make_dict_structure_fn(
        TextMessage,
        conv,
        message_tag=override(rename="messageTag", struct_hook=_optional_open_enum(MessageTag)),
    )

    def body(value: Any, _: Any) -> TextMessage | UnknownMessage | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise TypeError(f"expected a message object, got {type(value).__name__}")
        kind = value.get("type")
        if kind == "text":
            return text_message(value, TextMessage)
        if not isinstance(kind, str):
            raise TypeError("a message body has no string 'type'")
        return UnknownMessage(type=kind, raw=dict(value))

    conv.register_structure_hook(
        MessageStatus,
        make_dict_structure_fn(
            MessageStatus, conv, value=override(struct_hook=_open_enum(DeliveryStatus))
        ),
    )
    conv.register_structure_hook(
        Sender,
        make_dict_structure_fn(
            Sender,
            conv,
            user_id=override(rename="userId", struct_hook=_id_text),
            team_id=override(rename="teamId", struct_hook=_id_text),
        ),
    )
    conv.register_structure_hook(
        Message,
        make_dict_structure_fn(
            Message,
            conv,
            message_id=override(rename="messageId"),
            channel_message_id=override(rename="channelMessageId", struct_hook=_str_or_int),
            contact_id=override(rename="contactId"),
            channel_id=override(rename="channelId"),
            traffic=override(struct_hook=_open_enum(Traffic)),
            message=override(struct_hook=body),
        ),
    )
    # The way back, for exports: the wire's own camelCase names, enums as their values.
    conv.register_unstructure_hook(UnknownMessage, lambda m: dict(m.raw))
    conv.register_unstructure_hook(
        TextMessage,
        make_dict_unstructure_fn(
            TextMessage,
            conv,
            _cattrs_omit_if_default=True,
            message_tag=override(rename="messageTag"),
        ),
    )
    conv.register_unstructure_hook(
        Sender,
        make_dict_unstructure_fn(
            Sender,
            conv,
            _cattrs_omit_if_default=True,
            user_id=override(rename="userId"),
            team_id=override(rename="teamId"),
        ),
    )
    conv.register_unstructure_hook(
        MessageStatus, make_dict_unstructure_fn(MessageStatus, conv, _cattrs_omit_if_default=True)
    )
    unstructure_message = make_dict_unstructure_fn(
        Message,
        conv,
        _cattrs_omit_if_default=True,
        message_id=override(rename="messageId"),
        channel_message_id=override(rename="channelMessageId"),
        contact_id=override(rename="contactId"),
        channel_id=override(rename="channelId"),
    )

    def message_to_wire(message: Message) -> dict[str, Any]:
        wire = unstructure_message(message)
        if isinstance(message.message, TextMessage):
            wire["message"] = {"type": "text", **wire["message"]}
        return wire

    conv.register_unstructure_hook(Message, message_to_wire)
    return conv


converter: cattrs.Converter = _build_converter()
_structure_messages = converter.get_structure_hook(tuple[Message, ...])


def decode_messages(items: Any) -> tuple[Message, ...]:
    """
    Structure a list of wire messages.

    Raises:
        TypeError, ValueError, KeyError: When an item is not the documented shape.
    """
    if not isinstance(items, list):
        raise TypeError(f"'items' is a {type(items).__name__}, not a list")
    return _structure_messages(items, tuple[Message, ...])  # type: ignore[no-any-return]


def _link(pagination: Mapping[str, Any], key: str) -> str | None:
    value = pagination.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TypeError(f"pagination.{key} is a {type(value).__name__}, not a string")
    return value


def decode_page(response: Response, rate_limit: RateLimit) -> Page:
    """
    Turn a 2xx list response into a `Page`.

    Raises:
        APIResponseDecodeError: When the body is not JSON or not the documented shape.
        PaginationError: When a non-empty `next` link carries no cursor.
    """

    def fail(reason: str) -> APIResponseDecodeError:
        return APIResponseDecodeError(
            reason, status=response.status, body=response.body, url=response.url
        )

    try:
        data = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        raise fail("the response body is not JSON") from None
    if not isinstance(data, dict) or "items" not in data or "pagination" not in data:
        raise fail("the response body lacks 'items' or 'pagination'")
    pagination = data["pagination"]
    try:
        if not isinstance(pagination, dict):
            raise TypeError(f"'pagination' is a {type(pagination).__name__}, not an object")
        items = decode_messages(data["items"])
        links = Pagination(next=_link(pagination, "next"), previous=_link(pagination, "previous"))
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise fail(f"the response body does not match the documented shape ({exc})") from None
    return Page(
        items=items,
        next_cursor=cursor_from_link(links.next, required=True),
        previous_cursor=cursor_from_link(links.previous),
        pagination=links,
        rate_limit=rate_limit,
    )
