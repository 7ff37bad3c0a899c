"""
Contact identifiers: `id:123`, `email:abdc@gmail.com`, `phone:+60121233112`.

Rules:

1. An identifier is validated before any request: an unknown kind, an empty value, a
   non-numeric id or a malformed phone raises `InvalidArgumentError` naming the value.
2. The identifier travels as exactly one path segment. Every character outside RFC 3986's
   `pchar` set (`/`, `?`, `#`, `%`, space, ...) is percent-encoded; `+`, `@` and `:` are
   sent as themselves, so the server receives exactly the identifier given.
3. Nothing is normalised in a string the user gave: `Identifier.parse("email:A@x.io")`
   renders back to the same string.
"""

from __future__ import annotations

import re
from typing import Literal, get_args
from urllib.parse import quote

import attrs

from ._checks import is_int
from ._exceptions import InvalidArgumentError

__all__ = ["Identifier", "IdentifierKind", "coerce_identifier"]

IdentifierKind = Literal["id", "email", "phone"]
_KINDS: tuple[str, ...] = get_args(IdentifierKind)
_PHONE = re.compile(r"\+[0-9]{6,15}")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# RFC 3986 pchar minus the unreserved set (which quote() never encodes) and minus "%".
_PATH_SAFE = "!$&'()*+,;=:@"
_EXAMPLES = "id:123, email:abdc@gmail.com or phone:+60121233112"


def _check_value(kind: str, value: str, original: str) -> None:
    if not value:
        raise InvalidArgumentError(f"identifier {original!r} has an empty {kind}")
    if _CONTROL.search(value):
        raise InvalidArgumentError(f"identifier {original!r} contains a control character")
    if kind == "id" and not (value.isascii() and value.isdigit()):
        raise InvalidArgumentError(
            f"identifier {original!r}: a contact id is digits only, e.g. id:123"
        )
    if kind == "phone" and not _PHONE.fullmatch(value):
        raise InvalidArgumentError(
            f"identifier {original!r}: a phone is '+' and 6 to 15 digits, e.g. phone:+60121233112"
        )
    if kind == "email":
        local, at, domain = value.rpartition("@")
        if not at or not local or not domain or any(c.isspace() for c in domain):
            raise InvalidArgumentError(
                f"identifier {original!r}: an email needs a local part, '@' and a domain"
            )


@attrs.frozen
class Identifier:
    """
    A contact identifier: a kind (`id`, `email` or `phone`) and a value.

    Anywhere the SDK takes an identifier it takes this type or its string form.

    Example:
        ```python
        Identifier.phone("+60 12-123 3112")  # renders as "phone:+60121233112"
        Identifier.email("abdc@gmail.com")
        Identifier.id(123)
        Identifier.parse("email:abdc@gmail.com")
        ```
    """

    kind: IdentifierKind
    value: str

    def __attrs_post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise InvalidArgumentError(
                f"identifier kind {self.kind!r} is not one of {', '.join(_KINDS)}"
            )
        if not isinstance(self.value, str):
            raise InvalidArgumentError(f"identifier value must be a str, not {self.value!r}")
        _check_value(self.kind, self.value, f"{self.kind}:{self.value}")

    @classmethod
    def id(cls, contact_id: int | str) -> Identifier:
        """
        The identifier of a contact id.
        """
        if not (is_int(contact_id) or isinstance(contact_id, str)):
            raise InvalidArgumentError(
                f"a contact id must be an int or a str of digits, not {contact_id!r}"
            )
        if isinstance(contact_id, int) and contact_id < 0:
            raise InvalidArgumentError(f"a contact id cannot be negative: {contact_id!r}")
        return cls("id", str(contact_id))

    @classmethod
    def email(cls, address: str) -> Identifier:
        """
        The identifier of a contact's email address.
        """
        return cls("email", address)

    @classmethod
    def phone(cls, number: str) -> Identifier:
        """
        The identifier of a contact's phone number in international form.

        Spaces, dashes, dots and parentheses are dropped: `"+60 12-123 3112"` becomes
        `"+60121233112"`.
        """
        if not isinstance(number, str):
            raise InvalidArgumentError(f"a phone number must be a str, not {number!r}")
        return cls("phone", _PHONE_SEPARATORS.sub("", number))

    @classmethod
    def parse(cls, text: str) -> Identifier:
        """
        Parse the string form, `kind:value`.

        Raises:
            InvalidArgumentError: When the text is not a valid identifier; the message names it.
        """
        if not isinstance(text, str):
            raise InvalidArgumentError(
                f"an identifier must be a str or an Identifier, not {text!r}"
            )
        kind, colon, value = text.partition(":")
        if not colon or kind not in _KINDS:
            raise InvalidArgumentError(
                f"identifier {text!r} is not of a known kind; expected {_EXAMPLES}"
            )
        return cls(kind, value)  # type: ignore[arg-type]  # kind checked against _KINDS above

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

    @property
    def path_segment(self) -> str:
        """
        The identifier percent-encoded as one URL path segment.
        """
        return quote(str(self), safe=_PATH_SAFE)


def coerce_identifier(value: Identifier | str) -> Identifier:
    """
    Accept an `Identifier` or its string form.

    Raises:
        InvalidArgumentError: When the value is not a valid identifier.
    """
    if isinstance(value, Identifier):
        return value
    return Identifier.parse(value)
