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
   On top of them, a list of messages has one hand-written fast path for the common case:
   exact `dict`s whose values have exactly the documented types, decoded in one loop that
   builds the frozen models through plain "builder" classes of the same slots (`_builder`).
   Anything else (a missing key, a number where a string goes, a subclass) is handed to the
   generated hook, so the fast path changes the speed and nothing else
   (`tests/test_converter.py` checks both agree on arbitrary input).
4. Any body that is not the documented shape raises `APIResponseDecodeError` with the HTTP
   status and a short excerpt of the body; nothing is silently dropped.
5. A page body has a faster path still, before any of the above: msgspec decodes it into
   private structs of the wire's documented shapes (`_Wire*`), checking every type in C, and
   one loop copies them into the models' builders (`_wire_page_decoder`). The structs accept
   only what rules 2 to 4 decode the same way; any other body (not JSON, another shape, a
   body of another type) goes the way of rules 3 and 4, so this too changes the speed and
   nothing else (`tests/test_converter.py` compares both ways on arbitrary bodies).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

import attrs
import cattrs
import msgspec
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


class _OpenEnum(dict[str, Any]):
    """
    An open enum's members by value: `members[value]` is the member, or `value` itself when
    this SDK does not know it (one subscript, cheaper than `dict.get(value, value)`).
    """

    def __init__(self, cls: type[enum.Enum]) -> None:
        super().__init__((member.value, member) for member in cls)

    def __missing__(self, key: str) -> str:
        return key


def _open_enum(cls: type[E]) -> Callable[[Any, Any], E | str]:
    """
    A hook that maps a known value to its member and keeps any other string as it is.
    """
    members = _OpenEnum(cls)

    def structure(value: Any, _: Any) -> E | str:
        if isinstance(value, str):
            return members[value]  # type: ignore[no-any-return]
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


def _strict_str(value: Any, _: Any) -> str:
    if isinstance(value, str):
        return value
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _strict_int(value: Any, _: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _build_converter(*, fast: bool = True) -> cattrs.Converter:
    """
    Build the converter; `fast=False` leaves out rule 3's fast paths (the reference they are
    tested and benchmarked against).
    """
    conv = make_converter(detailed_validation=False, forbid_extra_keys=False)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(str, _strict_str)  # cattrs' default would turn null into "None"

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
    if fast:
        _install_fast_paths(conv, body, text_message)
    return conv


def _builder(cls: type[Any]) -> type[Any] | None:
    """
    A plain class of the same slots as the frozen attrs class `cls`, or `None` if there is none.

    A builder instance is filled by plain attribute assignment (the fastest way CPython
    stores into a slot) and then becomes a `cls` by assigning its `__class__`, which CPython
    allows between classes of the same layout. This is what `cls(...)` does, in about half
    the time: the frozen `__init__` must go through `object.__setattr__` for every field.
    `None` (so no fast path) for a class whose `__init__` does more than store its fields
    (a validator, a converter, a pre- or post-init hook, a hash cache), or whose layout this
    interpreter does not accept as the same; the models keep `weakref_slot=False` for that.
    """
    fields = attrs.fields(cls)
    plain = (
        "__slots__" in cls.__dict__
        and not hasattr(cls, "_attrs_cached_hash")
        and not hasattr(cls, "__attrs_pre_init__")
        and not hasattr(cls, "__attrs_post_init__")
        and all(f.init and f.validator is None and f.converter is None for f in fields)
    )
    if not plain:
        return None
    builder = type(f"_{cls.__name__}Builder", (), {"__slots__": tuple(f.name for f in fields)})
    probe: Any = object.__new__(builder)
    try:
        probe.__class__ = cls
    except TypeError:
        return None
    return builder


def _wire_keys(*names: str) -> tuple[str, ...]:
    """
    `names` as the very string objects `orjson.loads` makes the keys of an object from.

    orjson keeps the key strings it made in a cache and hands the same objects out again, so
    a dict look-up with one of these finds its key by identity instead of comparing
    characters. Only the speed depends on it: with any other string of the same characters
    the look-up finds the same value.
    """
    decoded = orjson.loads(orjson.dumps([{name: None} for name in names]))
    return tuple(next(iter(wire)) for wire in decoded)


def _bulk_builders() -> tuple[type[Any], type[Any], type[Any], type[Any]] | None:
    """
    The `_builder`s of the models built in bulk (`Message`, `MessageStatus`, `Sender`,
    `TextMessage`), or `None` if any of them has none.
    """
    message, status = _builder(Message), _builder(MessageStatus)
    sender, text = _builder(Sender), _builder(TextMessage)
    if message and status and sender and text:
        return message, status, sender, text
    return None


def _install_fast_paths(
    conv: cattrs.Converter,
    body: Callable[[Any, Any], TextMessage | UnknownMessage | None],
    text_message: Callable[[Any, Any], TextMessage],
) -> None:
    """
    Register rule 3's fast paths over the generated hooks, which stay the fallback.

    One loop decodes a whole list of messages with no call per field or per model: required
    keys are read by subscript (with orjson's own key strings, `_wire_keys`), the others with
    `dict.get`; types are checked exactly (`type(x) is ...`, never `isinstance`), with the
    builtins bound to locals, the cheapest names to load; enums are one subscript of an
    `_OpenEnum`; models are built through `_builder` classes.
    Whatever fails a check is handed to the generated hook, message by message (or status by
    status), which returns or raises what it always did.

    Installs nothing when a model has no `_builder`.
    """
    builders = _bulk_builders()
    if builders is None:
        return
    message_builder, status_builder, sender_builder, text_builder = builders
    slow_message = conv.get_structure_hook(Message)
    slow_status = conv.get_structure_hook(MessageStatus)
    slow_sender = conv.get_structure_hook(Sender)
    traffics, deliveries = _OpenEnum(Traffic), _OpenEnum(DeliveryStatus)
    tags = _OpenEnum(MessageTag)
    k_message_id, k_contact_id, k_channel_id, k_traffic = _wire_keys(
        "messageId", "contactId", "channelId", "traffic"
    )
    k_channel_message_id, k_status, k_message, k_sender = _wire_keys(
        "channelMessageId", "status", "message", "sender"
    )
    k_type, k_text, k_message_tag = _wire_keys("type", "text", "messageTag")
    k_value, k_timestamp, k_reason = _wire_keys("value", "timestamp", "message")
    k_source, k_user_id, k_team_id = _wire_keys("source", "userId", "teamId")

    def other_body(o: Any) -> TextMessage | UnknownMessage | None:
        """A body the loop does not build: a text body not of the documented types, or another."""
        if type(o) is dict and o.get("type") == "text":
            return text_message(o, TextMessage)
        return body(o, None)

    def messages(items: Any, _: Any = None) -> tuple[Message, ...]:
        type_, int_, str_, dict_, list_ = type, int, str, dict, list  # see the docstring
        decoded: list[Message] = []
        append = decoded.append
        for o in items:
            if type_(o) is not dict_:
                append(slow_message(o, Message))
                continue
            try:
                message_id, contact_id = o[k_message_id], o[k_contact_id]
                channel_id, traffic = o[k_channel_id], o[k_traffic]
            except KeyError:
                append(slow_message(o, Message))
                continue
            channel_message_id, status_list = o.get(k_channel_message_id), o.get(k_status, ())
            if (
                type_(message_id) is not int_
                or type_(contact_id) is not int_
                or type_(channel_id) is not int_
                or type_(traffic) is not str_
                or not (
                    channel_message_id is None
                    or type_(channel_message_id) is str_
                    or type_(channel_message_id) is int_
                )
                or not (type_(status_list) is list_ or status_list == ())
            ):
                append(slow_message(o, Message))
                continue
            # The rest in the generated hook's order, so an error is the one it would raise.
            wire_body = o.get(k_message)
            try:
                if (
                    type_(wire_body) is dict_
                    and wire_body[k_type] == "text"
                    and type_(text := wire_body[k_text]) is str_
                    and ((tag := wire_body.get(k_message_tag)) is None or type_(tag) is str_)
                ):
                    message_body = text_builder()
                    message_body.text = text
                    message_body.message_tag = None if tag is None else tags[tag]
                    message_body.__class__ = TextMessage
                else:
                    message_body = None
            except KeyError:
                message_body = None
            if message_body is None and wire_body is not None:
                message_body = other_body(wire_body)
            statuses = []
            for entry in status_list:
                if type_(entry) is dict_:
                    try:
                        value, timestamp = entry[k_value], entry[k_timestamp]
                    except KeyError:
                        statuses.append(slow_status(entry, MessageStatus))
                        continue
                    reason = entry.get(k_reason)
                    if (
                        type_(value) is str_
                        and type_(timestamp) is int_
                        and (reason is None or type_(reason) is str_)
                    ):
                        status = status_builder()
                        status.value = deliveries[value]
                        status.timestamp = timestamp
                        status.message = reason
                        status.__class__ = MessageStatus
                        statuses.append(status)
                        continue
                statuses.append(slow_status(entry, MessageStatus))
            sender = o.get(k_sender)
            if type_(sender) is dict_:
                source, user_id, team_id = (
                    sender.get(k_source),
                    sender.get(k_user_id),
                    sender.get(k_team_id),
                )
                if (
                    (source is None or type_(source) is str_)
                    and (user_id is None or type_(user_id) is str_)
                    and (team_id is None or type_(team_id) is str_)
                ):
                    sender = sender_builder()
                    sender.source = source
                    sender.user_id = user_id
                    sender.team_id = team_id
                    sender.__class__ = Sender
                else:
                    sender = slow_sender(sender, Sender)
            elif sender is not None:
                sender = slow_sender(sender, Sender)
            message = message_builder()
            message.message_id = message_id
            message.contact_id = contact_id
            message.channel_id = channel_id
            message.traffic = traffics[traffic]
            message.channel_message_id = channel_message_id
            message.message = message_body
            message.status = tuple(statuses)
            message.sender = sender
            message.__class__ = Message
            append(message)
        return tuple(decoded)

    def message(o: Any, _: Any = None) -> Message:
        return messages((o,))[0]

    conv.register_structure_hook(Message, message)
    conv.register_structure_hook_func(lambda type_: type_ == tuple[Message, ...], messages)


_OrjsonInt = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""
A 64-bit integer, which orjson reads as an `int` too: it reads integers beyond 64 bits as
floats, which the hooks refuse (those from 2**63 to 2**64 - 1 take the other path).
"""


class _WireText(msgspec.Struct, rename="camel", gc=False):
    type: str
    text: str
    message_tag: str | None = None


class _WireStatus(msgspec.Struct, gc=False):
    value: str
    timestamp: _OrjsonInt
    message: str | None = None


class _WireSender(msgspec.Struct, rename="camel", gc=False):
    source: str | None = None
    user_id: str | _OrjsonInt | None = None
    team_id: str | _OrjsonInt | None = None


class _WireMessage(msgspec.Struct, rename="camel", gc=False):
    message_id: _OrjsonInt
    contact_id: _OrjsonInt
    channel_id: _OrjsonInt
    traffic: str
    channel_message_id: str | _OrjsonInt | None = None
    message: _WireText | None = None
    status: list[_WireStatus] = msgspec.field(default_factory=list)
    sender: _WireSender | None = None


class _WirePagination(msgspec.Struct, gc=False):
    next: str | None = None
    previous: str | None = None


class _WirePage(msgspec.Struct, gc=False):
    items: list[_WireMessage]
    pagination: _WirePagination


_PageParts = tuple[tuple[Message, ...], str | None, str | None]
"""A page's messages, and its `next` and `previous` links (`None` when empty or absent)."""


def _wire_page_decoder() -> Callable[[bytes], _PageParts | None] | None:
    """
    Rule 5: the body of a page straight to models, through msgspec structs of the wire's
    documented shapes (`_Wire*`), or `None` (no fast path) when a model has no `_builder`.

    msgspec parses and checks every type in C, so the loop only copies fields into the models'
    builders. Its structs accept only what the generated hooks decode the same way: exact JSON
    types, integers in orjson's range, text bodies. Any other body (not JSON, another shape,
    a body of another type, which an `UnknownMessage` keeps whole) makes the decoder return
    `None`, and `decode_page` decodes it through orjson and the converter, which return or
    raise what they always did (`tests/test_converter.py` compares both on arbitrary bodies).
    """
    builders = _bulk_builders()
    if builders is None:
        return None
    message_builder, status_builder, sender_builder, text_builder = builders
    traffics, deliveries = _OpenEnum(Traffic), _OpenEnum(DeliveryStatus)
    tags = _OpenEnum(MessageTag)
    decoder = msgspec.json.Decoder(_WirePage)

    def decode(body: bytes) -> _PageParts | None:
        try:
            page = decoder.decode(body)
        except (msgspec.MsgspecError, ValueError, RecursionError):
            return None
        decoded: list[Message] = []
        append, int_ = decoded.append, int
        for wire in page.items:
            wire_body = wire.message
            if wire_body is None:
                message_body = None
            elif wire_body.type == "text":
                message_body = text_builder()
                message_body.text = wire_body.text
                tag = wire_body.message_tag
                message_body.message_tag = None if tag is None else tags[tag]
                message_body.__class__ = TextMessage
            else:
                return None
            statuses = []
            for entry in wire.status:
                status = status_builder()
                status.value = deliveries[entry.value]
                status.timestamp = entry.timestamp
                status.message = entry.message
                status.__class__ = MessageStatus
                statuses.append(status)
            wire_sender = wire.sender
            if wire_sender is None:
                sender = None
            else:
                user_id, team_id = wire_sender.user_id, wire_sender.team_id
                sender = sender_builder()
                sender.source = wire_sender.source
                sender.user_id = str(user_id) if type(user_id) is int_ else user_id
                sender.team_id = str(team_id) if type(team_id) is int_ else team_id
                sender.__class__ = Sender
            message = message_builder()
            message.message_id = wire.message_id
            message.contact_id = wire.contact_id
            message.channel_id = wire.channel_id
            message.traffic = traffics[wire.traffic]
            message.channel_message_id = wire.channel_message_id
            message.message = message_body
            message.status = tuple(statuses)
            message.sender = sender
            message.__class__ = Message
            append(message)
        links = page.pagination
        return tuple(decoded), links.next or None, links.previous or None

    return decode


converter: cattrs.Converter = _build_converter()
_structure_messages = converter.get_structure_hook(tuple[Message, ...])
_decode_wire_page = _wire_page_decoder()


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
    if not isinstance(value, str):  # kept as its JSON text: the paginator reports it
        return orjson.dumps(value).decode()
    return value


def _decode_json_page(response: Response) -> _PageParts:
    """
    A page's messages and its `next` and `previous` links, through orjson and the converter:
    any body, whatever its shape.
    """

    def fail(reason: str) -> APIResponseDecodeError:
        return APIResponseDecodeError(
            reason,
            status=response.status,
            body=response.body,
            url=response.url,
            response=response.info,
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
        return items, _link(pagination, "next"), _link(pagination, "previous")
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise fail(f"the response body does not match the documented shape ({exc})") from None


def decode_page(response: Response, rate_limit: RateLimit) -> Page:
    """
    Turn a 2xx list response into a `Page`: through the wire structs (rule 5) when the body
    has only the documented shapes, else through orjson and the converter.

    Raises:
        APIResponseDecodeError: When the body is not JSON or not the documented shape.
    """
    decoded = None if _decode_wire_page is None else _decode_wire_page(response.body)
    items, next_link, previous_link = decoded or _decode_json_page(response)
    return Page(
        items=items,
        next_cursor=cursor_from_link(next_link),
        previous_cursor=cursor_from_link(previous_link),
        pagination=Pagination(next=next_link, previous=previous_link),
        rate_limit=rate_limit,
        response=response.info,
    )
