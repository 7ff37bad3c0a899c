"""
Identifiers: validated before any request, sent as exactly one path segment.
"""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aelyst_async import Identifier, InvalidArgumentError
from aelyst_async._identifiers import coerce_identifier


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("id:123", id="id"),
        pytest.param("email:abdc@gmail.com", id="email"),
        pytest.param("phone:+60121233112", id="phone-with-plus"),
        pytest.param("email:o/neil+ops@example.com", id="email-with-slash-and-plus"),
        pytest.param("email:first last@example.com", id="email-with-space"),
        pytest.param("email:100%?#@example.com", id="email-with-percent-query-hash"),
    ],
)
def test_valid_identifiers_render_back_to_the_same_string(text: str) -> None:
    """A valid identifier renders back to exactly the string given."""
    assert text == str(coerce_identifier(text))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("123", id="no-kind"),
        pytest.param("name:bob", id="unknown-kind"),
        pytest.param("id:", id="empty-id"),
        pytest.param("id:12a", id="id-not-digits"),
        pytest.param("phone:60121233112", id="phone-without-plus"),
        pytest.param("phone:+6012", id="phone-too-short"),
        pytest.param("email:nobody", id="email-without-at"),
        pytest.param("email:@example.com", id="email-without-local-part"),
        pytest.param("email:a@", id="email-without-domain"),
        pytest.param("id:1\n", id="control-character"),
    ],
)
def test_invalid_identifiers_raise_a_value_error_naming_them(text: str) -> None:
    """An invalid identifier raises ValueError, and the message names it."""
    with pytest.raises(ValueError, match="identifier") as info:
        coerce_identifier(text)
    assert repr(text) in str(info.value)
    assert isinstance(info.value, InvalidArgumentError)


def test_a_non_string_identifier_is_rejected() -> None:
    """An identifier that is neither a str nor an Identifier raises ValueError naming it."""
    with pytest.raises(ValueError, match="123"):
        coerce_identifier(123)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        pytest.param(Identifier.id(123), "id:123", id="id-from-int"),
        pytest.param(Identifier.id("42"), "id:42", id="id-from-str"),
        pytest.param(Identifier.email("abdc@gmail.com"), "email:abdc@gmail.com", id="email"),
        pytest.param(
            Identifier.phone("+60 12-123 3112"), "phone:+60121233112", id="phone-formatted"
        ),
    ],
)
def test_value_type_constructors_render_the_wire_string(made: Identifier, expected: str) -> None:
    """The Identifier constructors render to the API's `kind:value` form."""
    assert expected == str(made)


@pytest.mark.parametrize(
    ("text", "segment"),
    [
        pytest.param("phone:+60121233112", "phone:+60121233112", id="plus-kept"),
        pytest.param("email:a@b.io", "email:a@b.io", id="at-kept"),
        pytest.param("email:a/b@c.io", "email:a%2Fb@c.io", id="slash-encoded"),
        pytest.param("email:a b@c.io", "email:a%20b@c.io", id="space-encoded"),
        pytest.param("email:a%?#@c.io", "email:a%25%3F%23@c.io", id="percent-query-hash-encoded"),
    ],
)
def test_identifiers_are_encoded_as_one_path_segment(text: str, segment: str) -> None:
    """`/ ? # %` and space are percent-encoded; `+ @ :` travel as themselves."""
    assert segment == Identifier.parse(text).path_segment


@given(st.text(min_size=1), st.text(min_size=1))
def test_every_email_segment_decodes_back_to_the_identifier(local: str, domain: str) -> None:
    """Whatever the address, its path segment holds no '/', '?', '#' or space and decodes back."""
    try:
        identifier = Identifier.email(f"{local}@{domain}")
    except InvalidArgumentError:
        return
    segment = identifier.path_segment
    assert not set("/?# ") & set(segment)
    assert str(identifier) == unquote(segment)
