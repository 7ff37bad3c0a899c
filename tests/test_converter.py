"""
Decoding: the reference page's example, forward compatibility, losslessness, and malformed
bodies.
"""

from __future__ import annotations

import copy
import datetime as dt
import pickle
from collections.abc import Mapping
from typing import Any

import attrs
import cattrs
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aelyst_async import (
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
    to_wire,
)
from aelyst_async._converter import decode_messages, decode_page, dump_json, parse_json
from aelyst_async._hooks import WireSpec, structure_fn, unstructure_fn
from aelyst_async._http import Response
from aelyst_async._models import NO_FIELDS

from .strategies import messages, paginations, typed

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
    raw = body if isinstance(body, bytes) else dump_json(body)
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
            Sender(source="workflow", user_id="u1", extra={"workflowId": 9}),
            id="sender-string-ids-extra-field",
        ),
        pytest.param(
            {"brandNewField": {"x": 1}}, "extra", {"brandNewField": {"x": 1}}, id="unknown-field"
        ),
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


def test_a_text_message_has_its_text_and_any_other_none() -> None:
    """Message.text is the text of a text body, None for another body or none."""
    text, image, empty = decode_messages(
        [
            _message(message={"type": "text", "text": "hi"}),
            _message(message={"type": "image", "url": "u"}),
            _message(),
        ]
    )
    assert ("hi", None, None) == (text.text, image.text, empty.text)


FORWARD: dict[str, Any] = _message(
    threadId="th_42",
    message={"type": "text", "text": "t", "preview": {"title": "T"}},
    status=[{"value": "read", "timestamp": 1, "channel": "whatsapp"}],
    sender={"source": "user", "userId": 7, "teamId": "8", "displayName": "Aisha"},
)


def test_every_level_keeps_the_fields_it_does_not_model_in_extra() -> None:
    """Unknown fields of the message, body, status and sender are in each level's extra."""
    [message] = decode_messages([FORWARD])
    assert message.status[0].extra == {"channel": "whatsapp"}
    assert message.sender is not None
    assert [{"threadId": "th_42"}, {"preview": {"title": "T"}}, {"displayName": "Aisha"}] == [
        message.extra,
        getattr(message.message, "extra", None),
        message.sender.extra,
    ]


def test_the_pagination_and_the_page_keep_their_unknown_fields() -> None:
    """A page's pagination and its top level keep what they do not model."""
    page = _decode({"items": [], "pagination": {"next": "", "total": 3}, "meta": {"v": 2}})
    assert ({"total": 3}, {"meta": {"v": 2}}) == (page.pagination.extra, page.extra)
    assert {"next": "", "total": 3} == to_wire(page.pagination)


def test_extra_is_read_only_and_takes_part_in_equality_and_repr_but_not_hash() -> None:
    """Two messages differing in an unknown field differ; repr shows it; both hash."""
    [plain, forward] = decode_messages([_message(), _message(threadId="th_42")])
    with pytest.raises(TypeError):
        forward.extra["threadId"] = "x"  # type: ignore[index]
    assert plain != forward
    assert hash(plain) == hash(forward)
    assert "extra={'threadId': 'th_42'}" in repr(forward)
    assert attrs.evolve(plain, extra={"threadId": "th_42"}) == forward


def test_how_a_known_field_was_written_does_not_take_part_in_equality() -> None:
    """An id sent as a number equals the same id sent as a string; each writes back as sent."""
    [number, text] = decode_messages(
        [_message(sender={"userId": 7}), _message(sender={"userId": "7"})]
    )
    assert number == text
    assert ({"userId": 7}, {"userId": "7"}) == (to_wire(number)["sender"], to_wire(text)["sender"])


def test_a_changed_model_writes_its_new_values() -> None:
    """to_wire of an evolved model writes the changed field, keeping the rest as sent."""
    [message] = decode_messages([FORWARD])
    assert message.sender is not None
    changed = attrs.evolve(message, sender=attrs.evolve(message.sender, user_id="9"))
    expected = {**FORWARD, "sender": {**FORWARD["sender"], "userId": "9"}}
    assert typed(expected) == typed(to_wire(changed))


def test_a_built_model_writes_the_wire_form_and_a_known_field_wins_over_extra() -> None:
    """A model built by hand writes camelCase, leaves defaults out, and known fields win."""
    status = MessageStatus(value=DeliveryStatus.READ, timestamp=5, extra={"timestamp": 0, "x": 1})
    assert typed({"value": "read", "timestamp": 5, "x": 1}) == typed(to_wire(status))


def test_a_page_writes_back_as_the_body_it_was_decoded_from() -> None:
    """to_wire of a Page is its items, its pagination and its other top-level fields."""
    body = {"items": [FORWARD], "pagination": {"next": ""}, "meta": {"v": 2}}
    assert typed(body) == typed(to_wire(_decode(body)))


@pytest.mark.parametrize("value", [RateLimit(), {"messageId": 1}, None])
def test_to_wire_refuses_what_is_not_a_model_of_the_api_data(value: object) -> None:
    """Anything else is a TypeError naming its type."""
    with pytest.raises(TypeError, match=type(value).__name__):
        to_wire(value)


def test_to_wire_shares_nothing_with_the_model() -> None:
    """Changing what to_wire returned leaves the model as it was."""
    [message] = decode_messages([FORWARD])
    wire = to_wire(message)
    wire["message"]["preview"]["title"] = "changed"
    assert {"title": "T"} == to_wire(message)["message"]["preview"]


@pytest.mark.parametrize(
    "number", [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63) - 1, 10**30, -(10**40)]
)
def test_integers_of_any_size_are_read_and_written_exactly(number: int) -> None:
    """Integers beyond 64 bits, in known or unknown fields, are never rounded to floats."""
    body = dump_json({"items": [_message(messageId=number, big=[number])], "pagination": {}})
    [message] = _decode(body).items
    assert (number, [number]) == (message.message_id, message.extra["big"])
    assert str(number).encode() in dump_json(to_wire(message))


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(
            {"items": [_message(message={"type": "image", "size": 2**70})], "pagination": {}},
            id="in-a-body-of-an-unknown-type",
        ),
        pytest.param(
            {"items": [_message(sender={"source": "api", "quota": [2**64]})], "pagination": {}},
            id="in-an-unknown-field-of-a-sender",
        ),
        pytest.param({"items": [], "pagination": {"next": {"n": -(2**70)}}}, id="in-a-link"),
        pytest.param({"items": [], "pagination": {}, "total": 10**25}, id="beside-the-items"),
        pytest.param(
            {"items": [_message(score=1.5e300, ratio=0.25)], "pagination": {}},
            id="floats-stay-floats",
        ),
    ],
)
def test_numbers_kept_whole_are_exact_wherever_they_are(page: dict[str, Any]) -> None:
    """Kept as sent, in an unknown body, field or link, an integer beyond 64 bits stays exact."""
    assert typed(page) == typed(to_wire(_decode(page)))


def test_decoded_messages_are_frozen_hashable_and_picklable() -> None:
    """A decoded message is a model like any other, and keeps what it keeps through pickle."""
    [message] = decode_messages([copy.deepcopy(FORWARD)])
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        message.message_id = 2  # type: ignore[misc]
    assert message == pickle.loads(pickle.dumps(message)) == copy.deepcopy(message)
    assert typed(FORWARD) == typed(to_wire(pickle.loads(pickle.dumps(message))))
    assert hash(message) == hash(copy.deepcopy(message))
    assert 2 == attrs.evolve(message, message_id=2).message_id


# -- losslessness, as properties ---------------------------------------------------------------


@settings(max_examples=300)
@given(st.lists(messages, max_size=3), paginations)
def test_a_page_round_trips_wire_to_models_to_wire_unchanged(
    items: list[dict[str, Any]], pagination: dict[str, Any]
) -> None:
    """
    Whatever a page holds (unknown fields at every level, nulls, numeric ids, integers of any
    size), to_wire gives back each item and the pagination exactly as sent.
    """
    page = _decode({"items": items, "pagination": pagination})
    assert typed(items) == typed([to_wire(message) for message in page.items])
    assert typed(pagination) == typed(to_wire(page.pagination))
    assert typed({"items": items, "pagination": pagination}) == typed(to_wire(page))


@given(messages)
def test_the_written_json_reads_back_as_the_same_value(item: dict[str, Any]) -> None:
    """dump_json of to_wire, parsed again, is the item as sent."""
    [message] = decode_messages([item])
    assert typed(item) == typed(parse_json(dump_json(to_wire(message))))


def test_a_new_field_needs_only_the_model() -> None:
    """A model's hooks come from its fields: camelCase names, types from the annotations."""

    @attrs.frozen(kw_only=True)
    class Note:
        note_id: int
        thread_id: str | None = None
        extra: Mapping[str, Any] = attrs.field(default=NO_FIELDS, hash=False)

    conv = cattrs.Converter()
    specs = {Note: WireSpec()}
    conv.register_structure_hook_factory(
        lambda t: t is Note, lambda t, c: structure_fn(t, c, specs)
    )
    conv.register_unstructure_hook(Note, unstructure_fn(Note, conv, specs[Note]))
    wire = {"noteId": 1, "threadId": "th_42", "pinned": True}
    note = conv.structure(wire, Note)
    assert Note(note_id=1, thread_id="th_42", extra={"pinned": True}) == note
    assert wire == conv.unstructure(note)


def test_a_model_with_a_new_of_its_own_is_made_through_it() -> None:
    """A generated hook makes a model by calling its class when the class has its own __new__."""
    made: list[int] = []

    @attrs.frozen(kw_only=True)
    class Note:
        note_id: int
        extra: Mapping[str, Any] = attrs.field(default=NO_FIELDS, hash=False)

        def __new__(cls, **fields: Any) -> Note:
            made.append(fields["note_id"])
            return super().__new__(cls)

    conv = cattrs.Converter()
    conv.register_structure_hook_factory(
        lambda t: t is Note, lambda t, c: structure_fn(t, c, {Note: WireSpec()})
    )
    note = conv.structure({"noteId": 1}, Note)
    assert ([1], 1) == (made, note.note_id)


def test_long_digit_runs_in_text_decode_as_any_other_body() -> None:
    """Digits in a string that look like a big integer change nothing but the parser used."""
    item = _message(message={"type": "text", "text": "order 123456789012345678901234"})
    [message] = _decode({"items": [item], "pagination": {}}).items
    assert ("order 123456789012345678901234", typed(item)) == (
        message.text,
        typed(to_wire(message)),
    )


def test_a_body_too_deep_to_read_its_integers_exactly_is_an_error() -> None:
    """A big integer in a body nested deeper than the exact parser goes is refused, not rounded."""
    deep = b"[" * 1020 + b"12345678901234567890123" + b"]" * 1020  # orjson reads 1,023 deep
    body = b'{"items": [], "pagination": {}, "x": ' + deep + b"}"
    orjson.loads(body)
    with pytest.raises(APIResponseDecodeError, match="not JSON"):
        _decode(body)
