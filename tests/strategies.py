"""
Hypothesis strategies of the wire, and a strict comparison of JSON values.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


def typed(value: Any) -> Any:
    """
    A JSON value with every scalar paired with its type: `1`, `1.0` and `True` differ.
    """
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    return (type(value).__name__, value)


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def with_extra(known: frozenset[str], base: st.SearchStrategy[dict[str, Any]]) -> Any:
    """
    Objects of `base` with up to two unknown fields of any JSON value.
    """
    unknown = st.dictionaries(
        st.text(max_size=8).filter(lambda key: key not in known), json_values, max_size=2
    )
    return st.builds(lambda fields, more: {**more, **fields}, base, unknown)


def nullable(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


ids = st.integers() | st.text(max_size=6)
text_bodies = with_extra(
    frozenset({"type", "text", "messageTag"}),
    st.fixed_dictionaries(
        {"type": st.just("text"), "text": st.text(max_size=6)},
        optional={"messageTag": nullable(st.sampled_from(["ACCOUNT_UPDATE", "HUMAN_AGENT"]))},
    ),
)
other_bodies = st.builds(
    lambda kind, fields: {**fields, "type": kind},
    st.text(max_size=6).filter(lambda kind: kind != "text"),
    st.dictionaries(st.text(max_size=6), json_values, max_size=3),
)
statuses = with_extra(
    frozenset({"value", "timestamp", "message"}),
    st.fixed_dictionaries(
        {"value": st.sampled_from(["sent", "read", "played"]), "timestamp": st.integers()},
        optional={"message": nullable(st.text(max_size=6))},
    ),
)
senders = with_extra(
    frozenset({"source", "userId", "teamId"}),
    st.fixed_dictionaries(
        {},
        optional={
            "source": nullable(st.text(max_size=6)),
            "userId": nullable(ids),
            "teamId": nullable(ids),
        },
    ),
)
MESSAGE_KEYS = frozenset(
    {"messageId", "contactId", "channelId", "traffic", "channelMessageId", "message"}
    | {"status", "sender"}
)
messages = with_extra(
    MESSAGE_KEYS,
    st.fixed_dictionaries(
        {
            "messageId": st.integers(),
            "contactId": st.integers(),
            "channelId": st.integers(),
            "traffic": st.sampled_from(["incoming", "outgoing", "internal"]),
        },
        optional={
            "channelMessageId": nullable(ids),
            "message": nullable(text_bodies | other_bodies),
            "status": st.lists(statuses, max_size=3),
            "sender": nullable(senders),
        },
    ),
)
paginations = with_extra(
    frozenset({"next", "previous"}),
    st.fixed_dictionaries(
        {},
        optional={
            "next": st.sampled_from([None, "", "/x?cursorId=5"]) | st.integers(),
            "previous": st.sampled_from([None, "", "/x?cursorId=-5"]) | json_values,
        },
    ),
)
