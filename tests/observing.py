"""
Helpers of the observability tests: finding a secret in what the SDK logged or traced.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aelyst_async import AelystClient, Identifier, Page
from aelyst_async.testing import FakeAelystServer


def identifier_forms(identifier: str) -> set[str]:
    """
    The ways an `email:` or `phone:` identifier could show: whole, its value, its value
    percent-encoded, its path segment, an email's local part, a phone's digits.
    """
    parsed = Identifier.parse(identifier)
    _, _, value = identifier.partition(":")
    forms = {identifier, value, quote(value, safe=""), parsed.path_segment}
    local, at, _ = value.partition("@")
    if at:
        forms.add(local)
    if value.startswith("+"):
        forms.add(value[1:])
    return forms


def leaks(text: str, token: str, *identifiers: str) -> list[str]:
    """
    What `text` shows that it must not: the token, or a form of one of the identifiers.
    """
    found = [f"the token {token!r}"] if token in text else []
    for identifier in identifiers:
        found += sorted(form for form in identifier_forms(identifier) if form in text)
    return found


def email_of(server: FakeAelystServer) -> str:
    """
    The email identifier of a contact of the server: the kind that must never show.
    """
    return server.dataset.contact("id:2").email


async def fetch_pages(client: AelystClient, identifier: str, **options: Any) -> list[Page]:
    """
    Every page of a contact's listing.
    """
    return [page async for page in client.messages.list(identifier, **options).pages()]
