"""
The rivals of the SDK's converter: the same wire schema as pydantic v2 models and msgspec structs.

Rules:

1. Equally faithful, so the comparison is fair: the same fields, open enums (a known value
   becomes the member, any other string stays a `str`), `channelMessageId` as `str | int`,
   sender ids as numbers or strings becoming `str`, and a body of any type other than `text`
   kept whole with its `type`. The pydantic models keep unknown fields at every level
   (`extra="allow"`), as the SDK's `extra` does; msgspec structs cannot keep them, so the
   msgspec rows decode less than the SDK and are there for scale.
   `tests/test_bench_smoke.py` checks all three decoders agree on the fake server's
   forward-compatibility contact.
2. Each rival is written the fastest way its library offers for that schema: pydantic with a
   callable discriminator and left-to-right unions, msgspec with plain `str` fields mapped to
   the enums in `__post_init__` (msgspec unions may not hold two str-like types).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
import pydantic

from aelyst_async import DeliveryStatus, MessageTag, Traffic

__all__ = [
    "MsPage",
    "PdPage",
    "comparable",
    "msgspec_decoder",
    "msgspec_lossy_decoder",
    "pydantic_adapter",
]

# -- pydantic -------------------------------------------------------------------------------


class _PdModel(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, populate_by_name=True, extra="allow")


class PdTextMessage(_PdModel):
    type: Literal["text"]
    text: str
    message_tag: Annotated[
        MessageTag | str | None, pydantic.Field(alias="messageTag", union_mode="left_to_right")
    ] = None


class PdUnknownMessage(_PdModel):
    """
    Any other body: its `type`, every other field kept as an extra.
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="allow")
    type: str


def _body_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return "text" if kind == "text" else "other"


PdBody = Annotated[
    Annotated[PdTextMessage, pydantic.Tag("text")]
    | Annotated[PdUnknownMessage, pydantic.Tag("other")],
    pydantic.Discriminator(_body_kind),
]


class PdMessageStatus(_PdModel):
    value: Annotated[DeliveryStatus | str, pydantic.Field(union_mode="left_to_right")]
    timestamp: pydantic.StrictInt
    message: str | None = None


class PdSender(_PdModel):
    model_config = pydantic.ConfigDict(frozen=True, coerce_numbers_to_str=True, extra="allow")
    source: str | None = None
    user_id: str | None = pydantic.Field(default=None, alias="userId")
    team_id: str | None = pydantic.Field(default=None, alias="teamId")


class PdMessage(_PdModel):
    message_id: pydantic.StrictInt = pydantic.Field(alias="messageId")
    contact_id: pydantic.StrictInt = pydantic.Field(alias="contactId")
    channel_id: pydantic.StrictInt = pydantic.Field(alias="channelId")
    traffic: Annotated[Traffic | str, pydantic.Field(union_mode="left_to_right")]
    channel_message_id: pydantic.StrictStr | pydantic.StrictInt | None = pydantic.Field(
        default=None, alias="channelMessageId"
    )
    message: PdBody | None = None
    status: tuple[PdMessageStatus, ...] = ()
    sender: PdSender | None = None


class PdPagination(_PdModel):
    next: str | None = None
    previous: str | None = None


class PdPage(_PdModel):
    items: tuple[PdMessage, ...]
    pagination: PdPagination


pydantic_adapter: pydantic.TypeAdapter[PdPage] = pydantic.TypeAdapter(PdPage)

# -- msgspec --------------------------------------------------------------------------------

_TRAFFIC = {member.value: member for member in Traffic}
_DELIVERY = {member.value: member for member in DeliveryStatus}
_TAGS = {member.value: member for member in MessageTag}


class MsTextMessage(msgspec.Struct, kw_only=True):
    text: str
    message_tag: str | None = None

    @property
    def type(self) -> str:
        return "text"


class MsUnknownMessage(msgspec.Struct, kw_only=True):
    type: str
    raw: dict[str, Any]


class MsMessageStatus(msgspec.Struct, kw_only=True):
    value: str
    timestamp: int
    message: str | None = None


class MsSender(msgspec.Struct, kw_only=True, rename="camel"):
    source: str | None = None
    user_id: str | int | None = None
    team_id: str | int | None = None


class MsMessage(msgspec.Struct, kw_only=True, rename="camel"):
    """
    One message; `__post_init__` does in one call per message what msgspec cannot express:
    open enums, numeric sender ids to `str`, and the body's fallback type.
    """

    message_id: int
    contact_id: int
    channel_id: int
    traffic: str
    channel_message_id: str | int | None = None
    # Decoded as a dict and replaced by a struct: msgspec's tagged unions have no fallback.
    message: dict[str, Any] | None = None
    status: tuple[MsMessageStatus, ...] = ()
    sender: MsSender | None = None

    def __post_init__(self) -> None:
        self.traffic = _TRAFFIC.get(self.traffic, self.traffic)
        for status in self.status:
            status.value = _DELIVERY.get(status.value, status.value)
        sender = self.sender
        if sender is not None:
            if type(sender.user_id) is int:
                sender.user_id = str(sender.user_id)
            if type(sender.team_id) is int:
                sender.team_id = str(sender.team_id)
        body = self.message
        if body is not None:
            self.message = _ms_body(body)  # type: ignore[assignment]


def _ms_body(body: dict[str, Any]) -> MsTextMessage | MsUnknownMessage:
    kind = body.get("type")
    if kind != "text":
        if not isinstance(kind, str):
            raise msgspec.ValidationError("a message body has no string 'type'")
        return MsUnknownMessage(type=kind, raw=body)
    text, tag = body.get("text"), body.get("messageTag")
    if not isinstance(text, str) or not (tag is None or isinstance(tag, str)):
        raise msgspec.ValidationError("a text body needs a string 'text' and 'messageTag'")
    return MsTextMessage(text=text, message_tag=None if tag is None else _TAGS.get(tag, tag))


class MsPagination(msgspec.Struct):
    next: str | None = None
    previous: str | None = None


class MsPage(msgspec.Struct):
    items: tuple[MsMessage, ...]
    pagination: MsPagination


msgspec_decoder: msgspec.json.Decoder[MsPage] = msgspec.json.Decoder(MsPage)


# -- fairness -------------------------------------------------------------------------------


def comparable(message: Any) -> tuple[Any, ...]:
    """
    What any of the three decoders made of one message, as plain values, to check they agree.
    """
    body = message.message
    if body is None:
        body_view: tuple[Any, ...] | None = None
    elif body.type == "text" and not isinstance(body, (PdUnknownMessage, MsUnknownMessage)):
        body_view = ("text", body.text, _enum_view(body.message_tag))
    else:
        raw = getattr(body, "raw", None)
        if raw is None:  # pydantic keeps the other fields as extras
            raw = {"type": body.type, **(body.model_extra or {})}
        body_view = (body.type, dict(raw))
    sender = message.sender
    return (
        message.message_id,
        message.contact_id,
        message.channel_id,
        _enum_view(message.traffic),
        message.channel_message_id,
        body_view,
        tuple((_enum_view(s.value), s.timestamp, s.message) for s in message.status),
        None if sender is None else (sender.source, sender.user_id, sender.team_id),
    )


def _enum_view(value: Any) -> tuple[str, Any]:
    """
    An open-enum value: its type (member or plain string) and its text.
    """
    return (type(value).__name__, str(value) if value is not None else None)


# -- msgspec, lossy: for scale only ---------------------------------------------------------


class _LossyText(msgspec.Struct, tag_field="type", tag="text"):
    text: str
    messageTag: str | None = None  # the wire's name


class _LossyStatus(msgspec.Struct):
    value: str
    timestamp: int
    message: str | None = None


class _LossySender(msgspec.Struct):
    source: str | None = None
    userId: str | int | None = None
    teamId: str | int | None = None


class _LossyMessage(msgspec.Struct, rename="camel"):
    message_id: int
    contact_id: int
    channel_id: int
    traffic: str
    channel_message_id: str | int | None = None
    message: _LossyText | None = None
    status: tuple[_LossyStatus, ...] = ()
    sender: _LossySender | None = None


class _LossyPage(msgspec.Struct):
    items: tuple[_LossyMessage, ...]
    pagination: MsPagination


msgspec_lossy_decoder: msgspec.json.Decoder[_LossyPage] = msgspec.json.Decoder(_LossyPage)
"""msgspec at its fastest and not faithful: enums stay `str`, sender ids stay numbers, and a
body of any type but `text` is an error. Reported beside the faithful one, never as the goal."""
