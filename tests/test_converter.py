"""
Decoding: the reference page's example, forward compatibility, and malformed bodies.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import pickle
from collections.abc import Callable
from typing import Any
from unittest import mock

import attrs
import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aelyst_async import (
    AelystError,
    APIResponseDecodeError,
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
from aelyst_async import _converter as converter_module
from aelyst_async._converter import (
    _build_converter,
    _builder,
    _wire_keys,
    converter,
    decode_messages,
    decode_page,
)
from aelyst_async._protocol import Response

SEED_EXAMPLE: dict[str, Any] = {
    "items": [
        {
            "messageId": 1262965213,
            "channelMessageId": 123,
            "contactId": 123,
            "channelId": 123,
            "traffic": "outgoing",
            "message": {"type": "text", "text": "Message text", "messageTag": "ACCOUNT_UPDATE"},
            "status": [{"value": "pending", "timestamp": 1662965213, "message": "Failed reason"}],
            "sender": {"source": "user", "userId": 123456789, "teamId": 123456789},
        }
    ],
    "pagination": {
        "next": "https://api.aelyst.ai/contact/{identifier}/message/list?limit=10&cursorId=10",
        "previous": "https://api.aelyst.ai/contact/{identifier}/message/list?limit=10&cursorId=-10",
    },
}


def _decode(body: object, status: int = 200) -> Page:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return decode_page(Response(status=status, headers={}, body=raw, url="u"), RateLimit(limit=10))


def test_the_reference_example_decodes() -> None:
    """The reference page's example becomes the documented models."""
    expected = Page(
        items=(
            Message(
                message_id=1262965213,
                channel_message_id=123,
                contact_id=123,
                channel_id=123,
                traffic=Traffic.OUTGOING,
                message=TextMessage(text="Message text", message_tag=MessageTag.ACCOUNT_UPDATE),
                status=(
                    MessageStatus(
                        value=DeliveryStatus.PENDING, timestamp=1662965213, message="Failed reason"
                    ),
                ),
                sender=Sender(source="user", user_id="123456789", team_id="123456789"),
            ),
        ),
        next_cursor="10",
        previous_cursor="-10",
        pagination=Pagination(
            next=SEED_EXAMPLE["pagination"]["next"], previous=SEED_EXAMPLE["pagination"]["previous"]
        ),
        rate_limit=RateLimit(limit=10),
    )
    assert expected == _decode(SEED_EXAMPLE)


def _message(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"messageId": 1, "contactId": 2, "channelId": 3, "traffic": "incoming"}
    base.update(changes)
    return base


def test_a_message_of_an_unknown_type_keeps_its_type_and_raw_fields() -> None:
    """A body of a type other than text decodes to UnknownMessage with every raw field."""
    body = {"type": "image", "url": "https://cdn/x.png", "caption": "hi"}
    [message] = decode_messages([_message(message=body)])
    assert UnknownMessage(type="image", raw=body) == message.message
    assert isinstance(message.message, UnknownMessage)
    assert body == message.message.raw


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        pytest.param({"traffic": "internal"}, "traffic", "internal", id="new-traffic"),
        pytest.param(
            {"status": [{"value": "played", "timestamp": 1}]},
            "status",
            (MessageStatus(value="played", timestamp=1),),
            id="new-status",
        ),
        pytest.param(
            {"message": {"type": "text", "text": "t", "messageTag": "HUMAN_AGENT"}},
            "message",
            TextMessage(text="t", message_tag="HUMAN_AGENT"),
            id="new-tag",
        ),
        pytest.param(
            {"channelMessageId": "wamid.HBg"},
            "channel_message_id",
            "wamid.HBg",
            id="channel-message-id-string",
        ),
        pytest.param(
            {"channelMessageId": 77}, "channel_message_id", 77, id="channel-message-id-int"
        ),
        pytest.param(
            {"sender": {"source": "workflow", "userId": "u1", "workflowId": 9}},
            "sender",
            Sender(source="workflow", user_id="u1"),
            id="sender-string-ids-extra-field",
        ),
        pytest.param({"brandNewField": {"x": 1}}, "message", None, id="unknown-field-ignored"),
    ],
)
def test_forward_compatible_values_are_kept(
    changes: dict[str, Any], field: str, expected: object
) -> None:
    """Values the SDK does not know are kept as they arrived, never rejected."""
    [message] = decode_messages([_message(**changes)])
    assert expected == getattr(message, field)


def test_known_enum_values_are_members_and_strings() -> None:
    """A known traffic is the enum member and compares equal to its string."""
    [message] = decode_messages([_message(traffic="incoming")])
    assert "incoming" == message.traffic
    assert message.traffic is Traffic.INCOMING


def test_status_timestamps_are_available_as_aware_datetimes() -> None:
    """MessageStatus.at is the timestamp as an aware UTC datetime."""
    status = MessageStatus(value="sent", timestamp=1662965213)
    assert dt.datetime(2022, 9, 12, 6, 46, 53, tzinfo=dt.timezone.utc) == status.at


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(b"<html>Bad gateway</html>", "not JSON", id="not-json"),
        pytest.param(b'{"items": [], "pagination": {"ne', "not JSON", id="cut-json"),
        pytest.param({"pagination": {}}, "lacks", id="no-items"),
        pytest.param({"items": []}, "lacks", id="no-pagination"),
        pytest.param([1, 2], "lacks", id="not-an-object"),
        pytest.param({"items": {}, "pagination": {}}, "shape", id="items-not-a-list"),
        pytest.param(
            {"items": [{"messageId": 1}], "pagination": {}}, "shape", id="message-missing-fields"
        ),
        pytest.param(
            {"items": [_message(messageId="x")], "pagination": {}}, "shape", id="message-id-not-int"
        ),
        pytest.param(
            {"items": [_message(message={"type": "text", "text": None})], "pagination": {}},
            "shape",
            id="text-null",
        ),
        pytest.param(
            {"items": [_message(message={"type": "text", "text": 5})], "pagination": {}},
            "shape",
            id="text-a-number",
        ),
        pytest.param(
            {"items": [_message(sender={"source": 5})], "pagination": {}},
            "shape",
            id="sender-source-a-number",
        ),
        pytest.param(
            {
                "items": [_message(status=[{"value": "failed", "timestamp": 1, "message": []}])],
                "pagination": {},
            },
            "shape",
            id="status-reason-a-list",
        ),
        pytest.param(
            {"items": [_message(message={"text": "no type"})], "pagination": {}},
            "shape",
            id="body-without-type",
        ),
    ],
)
def test_malformed_bodies_raise_a_typed_error_with_status_and_excerpt(
    body: object, reason: str
) -> None:
    """A body not of the documented shape raises APIResponseDecodeError with status and excerpt."""
    with pytest.raises(APIResponseDecodeError, match=reason) as info:
        _decode(body, status=200)
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    assert (200, raw.decode()[:200]) == (info.value.status, info.value.body)


@pytest.mark.parametrize(
    ("pagination", "next_cursor"),
    [
        pytest.param({"next": "", "previous": ""}, None, id="empty-string"),
        pytest.param({"next": None, "previous": None}, None, id="null"),
        pytest.param({}, None, id="missing"),
        pytest.param({"next": "/v1/x?cursorId=5"}, "5", id="relative"),
    ],
)
def test_the_last_page_is_the_one_whose_next_is_empty_null_or_missing(
    pagination: dict[str, Any], next_cursor: str | None
) -> None:
    """An empty, null or missing next means no next page."""
    assert next_cursor == _decode({"items": [], "pagination": pagination}).next_cursor


wire_messages = st.fixed_dictionaries(
    {
        "messageId": st.integers(min_value=1, max_value=2**53),
        "contactId": st.integers(min_value=1),
        "channelId": st.integers(min_value=1),
        "traffic": st.sampled_from(["incoming", "outgoing", "internal"]),
    },
    optional={
        "channelMessageId": st.one_of(st.text(), st.integers()),
        "message": st.one_of(
            st.fixed_dictionaries(
                {"type": st.just("text"), "text": st.text()},
                optional={"messageTag": st.sampled_from(["ACCOUNT_UPDATE", "HUMAN_AGENT"])},
            ),
            st.fixed_dictionaries({"type": st.sampled_from(["image", "file"]), "url": st.text()}),
        ),
        "status": st.lists(
            st.fixed_dictionaries(
                {
                    "value": st.sampled_from(["sent", "read", "played"]),
                    "timestamp": st.integers(min_value=0, max_value=2**40),
                },
                optional={"message": st.text()},
            ),
            min_size=1,
        ),
        "sender": st.fixed_dictionaries(
            {}, optional={"source": st.text(), "userId": st.text(), "teamId": st.text()}
        ),
    },
)


@given(wire_messages)
def test_wire_messages_round_trip_through_the_converter(wire: dict[str, Any]) -> None:
    """Decoding then encoding a message gives back the wire dict (the export relies on it)."""
    [message] = decode_messages([wire])
    assert wire == converter.unstructure(message)


# -- the fast paths (module rule 3) ----------------------------------------------------------

REFERENCE = _build_converter(fast=False)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=5,
)
odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=4),
    st.lists(json_values, max_size=2),
    st.dictionaries(st.text(max_size=4), json_values, max_size=2),
)


DOCUMENTED_MESSAGE: dict[str, Any] = {
    "messageId": 1,
    "contactId": 2,
    "channelId": 3,
    "traffic": "outgoing",
    "channelMessageId": "wamid.1",
    "message": {"type": "text", "text": "hi", "messageTag": "ACCOUNT_UPDATE"},
    "status": [{"value": "failed", "timestamp": 5, "message": "why"}],
    "sender": {"source": "user", "userId": "7", "teamId": "8"},
}


@st.composite
def near_documented_messages(draw: st.DrawFn) -> Any:
    """
    A documented message with up to three keys, at any depth, removed or set to any value.
    """
    wire: dict[str, Any] = draw(wire_messages)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        body, sender, statuses = wire.get("message"), wire.get("sender"), wire.get("status")
        objects: list[tuple[dict[str, Any], tuple[str, ...]]] = [(wire, tuple(DOCUMENTED_MESSAGE))]
        if isinstance(body, dict):
            objects.append((body, ("type", "text", "messageTag")))
        if isinstance(sender, dict):
            objects.append((sender, ("source", "userId", "teamId")))
        if isinstance(statuses, list):
            objects += [
                (s, ("value", "timestamp", "message")) for s in statuses if isinstance(s, dict)
            ]
        target, keys = draw(st.sampled_from(objects))
        key = draw(st.sampled_from(keys))
        if draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = draw(odd_values)
    return wire


def _outcome(decode: Callable[[], object]) -> tuple[object, ...]:
    try:
        value = decode()
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        return ("raised", type(exc), str(exc))
    return ("returned", value, repr(value))  # the repr tells an enum member from a plain str


MISSING = object()
ODD_VALUES: tuple[object, ...] = (MISSING, None, True, 0, 1.5, "x", [], {}, [{}])
DOCUMENTED_PATHS = [
    *((key,) for key in DOCUMENTED_MESSAGE),
    *(("message", key) for key in DOCUMENTED_MESSAGE["message"]),
    *(("sender", key) for key in DOCUMENTED_MESSAGE["sender"]),
    *(("status", 0, key) for key in DOCUMENTED_MESSAGE["status"][0]),
]


def _with(path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    wire = copy.deepcopy(DOCUMENTED_MESSAGE)
    *parents, key = path
    target: Any = wire
    for step in parents:
        target = target[step]
    if value is MISSING:
        del target[key]
    else:
        target[key] = value
    return wire


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param(
            _with(path, value),
            id=f"{'.'.join(map(str, path))}={'missing' if value is MISSING else repr(value)}",
        )
        for path in DOCUMENTED_PATHS
        for value in ODD_VALUES
    ],
)
def test_one_odd_value_anywhere_decodes_exactly_as_the_generated_hooks(
    wire: dict[str, Any],
) -> None:
    """One key missing or of another type: the fast paths agree with the generated hooks."""
    expected = _outcome(lambda: REFERENCE.structure([wire], tuple[Message, ...]))
    assert expected == _outcome(lambda: decode_messages([wire]))


@settings(max_examples=300)
@given(st.lists(near_documented_messages() | json_values, max_size=3))
def test_the_fast_paths_decode_exactly_as_the_generated_hooks(items: list[Any]) -> None:
    """Whatever the items, the fast paths return or raise what the generated hooks do."""
    expected = _outcome(lambda: REFERENCE.structure(items, tuple[Message, ...]))
    assert expected == _outcome(lambda: decode_messages(items))


@settings(max_examples=300)
@given(st.lists(near_documented_messages() | json_values, max_size=3))
def test_the_fast_paths_decode_what_orjson_parsed_exactly_as_the_generated_hooks(
    items: list[Any],
) -> None:
    """The same through orjson, whose key strings the fast paths look up by identity."""
    try:
        parsed = orjson.loads(orjson.dumps(items))
    except orjson.JSONEncodeError:  # an integer beyond 64 bits
        parsed = []
    expected = _outcome(lambda: REFERENCE.structure(parsed, tuple[Message, ...]))
    assert expected == _outcome(lambda: decode_messages(parsed))


def test_the_wire_keys_are_the_strings_orjson_makes_keys_from() -> None:
    """
    The fast paths' keys are equal to their names, and the very objects orjson's keys are: if
    an orjson release stops reusing its key strings, this says why decoding got slower.
    """
    keys = _wire_keys("messageId", "status", "message")
    [parsed] = orjson.loads(b'[{"messageId": 1, "status": [], "message": null}]')
    assert ("messageId", "status", "message") == keys
    assert [True, True, True] == [key is wire for key, wire in zip(keys, parsed, strict=True)]


def _page_outcome(body: bytes, *, reference: bool = False) -> tuple[object, ...]:
    """
    What `decode_page` makes of `body`; with `reference`, as it was before its fast paths:
    orjson and the generated hooks only.
    """
    response = Response(status=200, headers={}, body=body, url="u")
    with contextlib.ExitStack() as stack:
        if reference:
            hook = REFERENCE.get_structure_hook(tuple[Message, ...])
            stack.enter_context(mock.patch.object(converter_module, "_decode_wire_page", None))
            stack.enter_context(mock.patch.object(converter_module, "_structure_messages", hook))
        try:
            page = decode_page(response, RateLimit())
        except AelystError as exc:
            return ("raised", type(exc), str(exc))
    return ("returned", page, repr(page))


links = st.none() | st.just("") | st.sampled_from(["/x?cursorId=5", "/x?limit=2"]) | json_values


@settings(max_examples=300)
@given(
    st.lists(near_documented_messages() | json_values, max_size=3),
    st.dictionaries(st.sampled_from(["next", "previous", "other"]), links, max_size=3),
)
def test_a_page_decodes_exactly_as_through_orjson_and_the_generated_hooks(
    items: list[Any], pagination: dict[str, Any]
) -> None:
    """The wire structs (rule 5) return or raise what orjson and the generated hooks do."""
    try:
        body = orjson.dumps({"items": items, "pagination": pagination})
    except orjson.JSONEncodeError:  # an integer beyond 64 bits: see the next test
        body = b'{"items": [], "pagination": {}}'
    assert _page_outcome(body, reference=True) == _page_outcome(body)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            b'{"items": [{"messageId": %d, "contactId": 1, "channelId": 1, "traffic": "x"}],'
            b' "pagination": {}}' % number,
            id=f"messageId={number}",
        )
        for number in (2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30)
    ]
    + [
        pytest.param(b'{"items": [], "pagination": {"next": "\\ud800"}}', id="lone-surrogate"),
        pytest.param(b'{"items": [], "pagination": {"next": "\xff"}}', id="invalid-utf-8"),
        pytest.param(b'{"items": [], "pagination": {}} x', id="trailing-garbage"),
        pytest.param(b'\xef\xbb\xbf{"items": [], "pagination": {}}', id="byte-order-mark"),
        pytest.param(b'{"items": [], "items": 1, "pagination": {}}', id="duplicate-key"),
        pytest.param(b'{"items": 1, "items": [], "pagination": {}}', id="duplicate-key-last"),
        pytest.param(b'{"items": [], "pagination": {"next": null, "next": 5}}', id="dup-link"),
        pytest.param(
            b'{"items": [], "pagination": {}, "x": %s}' % (b"[" * 2000 + b"]" * 2000),
            id="deep-unknown-field",
        ),
        pytest.param(b"", id="empty"),
        pytest.param(b"null", id="null"),
    ],
)
def test_an_odd_body_decodes_exactly_as_through_orjson_and_the_generated_hooks(
    body: bytes,
) -> None:
    """Integers at orjson's limits, bytes that are not JSON, duplicate keys, deep nesting."""
    assert _page_outcome(body, reference=True) == _page_outcome(body)


def _int64_only(value: object) -> bool:
    if isinstance(value, dict):
        return all(_int64_only(item) for item in value.values())
    if isinstance(value, list):
        return all(_int64_only(item) for item in value)
    return not isinstance(value, int) or -(2**63) <= value < 2**63


@given(st.lists(wire_messages, min_size=1, max_size=5))
def test_documented_pages_take_the_wire_structs(items: list[dict[str, Any]]) -> None:
    """
    A page of documented messages with text bodies and 64-bit integers never needs the other
    path.
    """
    assume(_int64_only(items))
    for item in items:
        if isinstance(item.get("message"), dict) and item["message"].get("type") != "text":
            item["message"] = {"type": "text", "text": "t"}
    body = orjson.dumps({"items": items, "pagination": {"next": "/x?cursorId=9"}})
    decoded = converter_module._decode_wire_page
    assert decoded is not None
    assert decoded(body) is not None
    assert _page_outcome(body, reference=True) == _page_outcome(body)


@given(wire_messages)
def test_the_fast_paths_take_documented_messages(wire: dict[str, Any]) -> None:
    """A documented message decodes through the fast paths to what the generated hooks give."""
    expected = _outcome(lambda: REFERENCE.structure(wire, Message))
    assert expected == _outcome(lambda: converter.structure(wire, Message))


@pytest.mark.parametrize("model", [Message, MessageStatus, Sender, TextMessage])
def test_every_model_the_fast_path_builds_has_a_builder(model: type[Any]) -> None:
    """A model change that would quietly turn the fast path off fails here instead."""
    builder = _builder(model)
    assert builder is not None
    built = object.__new__(builder)
    for field in attrs.fields(model):
        setattr(built, field.name, field.name)
    built.__class__ = model
    assert built == model(**{field.alias: field.name for field in attrs.fields(model)})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.__setattr__(attrs.fields(model)[0].name, "changed")


def test_a_model_with_a_validator_or_a_weakref_slot_has_no_builder() -> None:
    """The fast path is only taken where building through slots is what __init__ does."""

    @attrs.frozen(kw_only=True, weakref_slot=False)
    class Checked:
        value: int = attrs.field(validator=attrs.validators.gt(0))

    @attrs.frozen(kw_only=True, weakref_slot=False)
    class Hooked:
        value: int

        def __attrs_post_init__(self) -> None:
            pass

    @attrs.frozen(kw_only=True)
    class WeaklyReferenced:
        value: int

    assert _builder(Checked) is None
    assert _builder(Hooked) is None
    assert _builder(WeaklyReferenced) is None  # a builder has no __weakref__ slot


def test_decoded_messages_are_frozen_and_hashable() -> None:
    """What the fast path builds is a model like any other: frozen, hashable, picklable."""
    (message,) = decode_messages([copy.deepcopy(DOCUMENTED_MESSAGE)])
    assert type(message) is Message
    assert type(message.message) is TextMessage
    assert type(message.status[0]) is MessageStatus
    assert type(message.sender) is Sender
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        message.message_id = 2  # type: ignore[misc]
    assert hash(message) == hash(REFERENCE.structure(DOCUMENTED_MESSAGE, Message))
    assert message == pickle.loads(pickle.dumps(message)) == copy.deepcopy(message)
    assert 2 == attrs.evolve(message, message_id=2).message_id
