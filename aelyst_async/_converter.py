"""
The SDK's one cattrs converter: wire JSON (camelCase) to models (snake_case), and back.

Rules:

1. The models and this converter are the one description of the wire: a model's field is the
   wire field of the camelCase name, read as its annotation says, by a hook the converter
   generates from the model (`_hooks.py`, a factory registered on it). `_WIRE` below holds
   only what the annotations cannot say. Models know nothing of JSON; cattrs warns against the
   global converter: this one is private to the SDK.
2. Forward compatible: an enum value the SDK does not know stays a plain `str`; a message body
   of a type other than `text` becomes an `UnknownMessage` that keeps every raw field;
   `channelMessageId` may be a string or an integer; `userId`/`teamId` arrive as strings or
   numbers and become `str`.
3. Lossless: what a model does not know is kept in its `extra`, with how its known fields were
   written where its values do not tell; `to_wire` gives back the JSON value a model was
   decoded from. Integers beyond 64 bits, which orjson would read as floats, are read exactly
   (`parse_json`) and written exactly (`dump_json`).
4. Any body that is not the documented shape raises `APIResponseDecodeError` with the HTTP
   status and a short excerpt of the body; nothing is silently dropped.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from typing import Any

import cattrs
import orjson
from cattrs.preconf.orjson import make_converter

from ._exceptions import APIResponseDecodeError
from ._hooks import (
    RoundedNumber,
    WireSpec,
    kept_whole,
    reshaping,
    rounding_parse,
    strict,
    structure_fn,
    unstructure_fn,
)
from ._http import Response
from ._models import (
    NO_FIELDS,
    Message,
    MessageStatus,
    Page,
    Pagination,
    RateLimit,
    Sender,
    TextMessage,
    UnknownMessage,
    WireFields,
)
from ._response import ResponseInfo
from ._routes import cursor_from_link

__all__ = [
    "converter",
    "decode_messages",
    "decode_page",
    "dump_json",
    "parse_json",
    "to_wire",
]


def _id_text(value: Any) -> Any:
    """
    `userId`/`teamId`: documented as strings, sent as numbers by the reference example.
    """
    if value is None or type(value) is str:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string or an integer id, got {type(value).__name__}")


def _link(value: Any) -> Any:
    """
    A pagination link: a string, or `None` for an empty, null or missing one; any other JSON
    value is kept as its JSON text, for the paginator to report (and noted, for the way back).
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    return dump_json(kept_whole(value)).decode()


_WIRE: dict[type[Any], WireSpec] = {
    TextMessage: WireSpec(tag=("type", "text")),
    MessageStatus: WireSpec(),
    Sender: WireSpec(hooks={"user_id": reshaping(_id_text), "team_id": reshaping(_id_text)}),
    Message: WireSpec(),
    Pagination: WireSpec(hooks={"next": reshaping(_link), "previous": reshaping(_link)}),
}
"""What the models' annotations do not say about the wire (rule 1)."""

_Body = TextMessage | UnknownMessage | None


def _is_wire_model(type_: Any) -> bool:
    return isinstance(type_, type) and type_ in _WIRE


def _build_converter() -> cattrs.Converter:
    conv = make_converter(detailed_validation=False, forbid_extra_keys=False)
    for kind in (int, str):  # cattrs' default would turn null into "None", 1.5 into 1
        check = strict(kind)
        conv.register_structure_hook(kind, lambda value, _, check=check: check(value))
    conv.register_structure_hook_factory(_is_wire_model, lambda cls, c: structure_fn(cls, c, _WIRE))
    conv.register_unstructure_hook_factory(
        _is_wire_model, lambda cls, c: unstructure_fn(cls, c, _WIRE[cls])
    )
    text = conv.get_structure_hook(TextMessage)

    def body(value: Any, _: Any) -> TextMessage | UnknownMessage | None:
        if value is None:
            return None
        if type(value) is not dict and not isinstance(value, Mapping):
            raise TypeError(f"expected a message object, got {type(value).__name__}")
        kind = value.get("type")
        if kind == "text":
            return text(value, TextMessage)  # type: ignore[no-any-return]
        if not isinstance(kind, str):
            raise TypeError("a message body has no string 'type'")
        return UnknownMessage(type=kind, raw=kept_whole(dict(value)))

    # A predicate, not the type: the orjson preconf's union factory would win over the type.
    conv.register_structure_hook_func(lambda type_: type_ == _Body, body)

    def unknown(model: UnknownMessage) -> dict[str, Any]:
        wire = {"type": model.type, **model.raw}
        wire["type"] = model.type  # the attribute wins over a `type` in `raw`
        return wire

    conv.register_unstructure_hook(UnknownMessage, unknown)

    def page(model: Page) -> dict[str, Any]:
        wire = {
            "items": [conv.unstructure(message, Message) for message in model.items],
            "pagination": conv.unstructure(model.pagination, Pagination),
        }
        for key, value in model.extra.items():
            wire.setdefault(key, value)
        return wire

    conv.register_unstructure_hook(Page, page)
    return conv


converter: cattrs.Converter = _build_converter()
_structure_message: Callable[..., Message] = converter.get_structure_hook(Message)
_structure_pagination = converter.get_structure_hook(Pagination)

_DIGITS = bytes(ord("0") if chr(byte).isdigit() else ord(" ") for byte in range(256))
_LONG_NUMBER = b"0" * 19
"""19 digits in a row: the shortest integer that may not fit orjson's 64 bits."""


def parse_json(body: bytes) -> Any:
    """
    A JSON body as Python values, integers of any size exactly.

    orjson parses it (and rejects what is not JSON); a body with 19 digits in a row anywhere
    (text included) is parsed again by the standard library, which keeps an integer beyond
    64 bits an `int` where orjson makes it a `float`.

    Raises:
        ValueError: When the body is not JSON (`orjson.JSONDecodeError` is one), or nests
            too deep to be read exactly.
    """
    data = orjson.loads(body)
    if _may_hold_big_integers(body):
        data = _exact_json(body)
    return data


def _may_hold_big_integers(body: bytes) -> bool:
    return _LONG_NUMBER in body.translate(_DIGITS)


def _exact_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("the body nests too deep to read its numbers exactly") from None


def dump_json(value: Any) -> bytes:
    """
    A JSON value as compact UTF-8 JSON, integers of any size exactly.
    """
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _detached(value: Any) -> Any:
    """
    A copy of a JSON value that shares no dict or list with it (tuples become lists, enum
    members their values).
    """
    pending: list[tuple[Any, Any]] = []

    def fresh(item: Any) -> Any:
        if type(item) is dict or type(item) is list or type(item) is tuple:
            copy: dict[str, Any] | list[Any] = {} if type(item) is dict else []
            pending.append((item, copy))
            return copy
        return item.value if isinstance(item, enum.Enum) else item

    root = fresh(value)
    while pending:
        source, target = pending.pop()
        if type(source) is dict:
            for key, item in source.items():
                target[key] = fresh(item)
        else:
            target.extend([fresh(item) for item in source])
    return root


def to_wire(model: Any) -> Any:
    """
    A model in the API's own JSON form: the same JSON value it was decoded from.

    Every field is there as the API wrote it, the ones this SDK version does not model
    included (`extra`), and the known ones unconverted: an id sent as a number is a number, a
    `null` the API sent is there. Fields of a model you built or changed are written as the
    API writes them, with `extra`'s fields after them (a known field wins over an `extra` one
    of the same name). The result shares nothing with the model: change it freely.

    Args:
        model: A `Message`, `TextMessage`, `UnknownMessage`, `MessageStatus`, `Sender`,
            `Pagination`, or a whole `Page` (its `items`, `pagination` and `extra`).

    Returns:
        Plain `dict`, `list`, `str`, `int`, `float`, `bool` and `None` values.

    Raises:
        TypeError: When `model` is not one of those.

    Example:
        ```python
        import json

        from aelyst_async import to_wire

        async for message in client.messages.list("id:1", max_items=1):
            print(json.dumps(to_wire(message)))
        ```
    """
    if type(model) not in _WIRE and type(model) not in (UnknownMessage, Page):
        raise TypeError(f"to_wire takes a model of the API's data, not {type(model).__name__}")
    return _detached(converter.unstructure(model))


def decode_messages(items: Any) -> tuple[Message, ...]:
    """
    Structure a list of wire messages.

    Raises:
        TypeError, ValueError, KeyError: When an item is not the documented shape.
    """
    if not isinstance(items, list):
        raise TypeError(f"'items' is a {type(items).__name__}, not a list")
    return tuple(map(_structure_message, items))


_PAGE_KEYS = frozenset({"items", "pagination"})

_SHAPE_ERRORS = (TypeError, ValueError, KeyError, AttributeError)


def decode_page(response: Response, rate_limit: RateLimit) -> Page:
    """
    Turn a 2xx list response into a `Page`.

    orjson reads the body, and the page is decoded from that; only when that may have
    rounded an integer beyond 64 bits (a known field that is not the documented shape, in a
    body with 19 digits in a row; a float that large in what is kept whole) is the body
    read again exactly and decoded from that (`_hooks.py`, rule 5). A page so never pays
    for the exact parser, nor for looking for long digit runs, unless it may need them.

    Raises:
        APIResponseDecodeError: When the body is not JSON or not the documented shape.
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
    except ValueError:
        raise fail("the response body is not JSON") from None
    rounding = rounding_parse.set(True)
    try:
        return _page(data, rate_limit, fail, response.info)
    except _SHAPE_ERRORS as exc:
        if not isinstance(exc, RoundedNumber) and not _may_hold_big_integers(response.body):
            raise fail(f"the response body does not match the documented shape ({exc})") from None
    finally:
        rounding_parse.reset(rounding)
    try:
        data = _exact_json(response.body)
    except ValueError:
        raise fail("the response body is not JSON") from None
    try:
        return _page(data, rate_limit, fail, response.info)
    except _SHAPE_ERRORS as exc:
        raise fail(f"the response body does not match the documented shape ({exc})") from None


def _page(
    data: Any,
    rate_limit: RateLimit,
    fail: Callable[[str], APIResponseDecodeError],
    info: ResponseInfo | None,
) -> Page:
    if not isinstance(data, dict) or "items" not in data or "pagination" not in data:
        raise fail("the response body lacks 'items' or 'pagination'")
    items = decode_messages(data["items"])
    pagination: Pagination = _structure_pagination(data["pagination"], Pagination)
    extra = NO_FIELDS
    if len(data) > len(_PAGE_KEYS):
        extra = WireFields(
            kept_whole({key: value for key, value in data.items() if key not in _PAGE_KEYS})
        )
    return Page(
        items=items,
        next_cursor=cursor_from_link(pagination.next),
        previous_cursor=cursor_from_link(pagination.previous),
        pagination=pagination,
        rate_limit=rate_limit,
        extra=extra,
        response=info,
    )
