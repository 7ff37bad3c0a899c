"""
The fake Aelyst server, over real HTTP on 127.0.0.1 with a plain aiohttp client.
"""

from __future__ import annotations

import asyncio
import collections
import email.utils
import logging
import random
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
import attrs
import orjson
import pytest
import yarl
from aiohttp.test_utils import TestServer

from aelyst_async import InvalidArgumentError
from aelyst_async.testing._data import Dataset
from aelyst_async.testing._faults import Fault, FaultPlan, parse_faults
from aelyst_async.testing._options import RateLimitConfig, ServerOptions
from aelyst_async.testing._server import STATS_KEY, FakeAelystServer, create_app, serve

TOKEN = "test-token"
SPECIAL = Dataset().special
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "Retry-After")


class FakeClock:
    """
    A clock that moves only when told to.
    """

    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


@attrs.frozen
class Reply:
    """
    A response, read in full.
    """

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


def list_url(base: str, identifier: str, **query: str) -> yarl.URL:
    """
    The list URL of `identifier`, every reserved character percent-encoded, sent as is.
    """
    url = yarl.URL(f"{base}/contact/{quote(identifier, safe='')}/message/list", encoded=True)
    return url.with_query(query) if query else url


async def get(
    session: aiohttp.ClientSession, url: str | yarl.URL, token: str | None = TOKEN
) -> Reply:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with session.get(url, headers=headers) as response:
        return Reply(response.status, response.headers, await response.read())


async def get_list(
    session: aiohttp.ClientSession, server: FakeAelystServer, identifier: str, **query: str
) -> Reply:
    return await get(session, list_url(server.url, identifier, **query))


def cursor_of(link: str) -> str:
    return yarl.URL(link).query["cursorId"]


async def walk(
    session: aiohttp.ClientSession,
    server: FakeAelystServer,
    identifier: str,
    limit: int,
    *,
    link: str = "next",
    cursor: str | None = None,
) -> list[list[dict[str, Any]]]:
    """
    The pages met following `link` from `cursor` (the first page by default) to its end.
    """
    pages: list[list[dict[str, Any]]] = []
    query = {"limit": str(limit)} | ({} if cursor is None else {"cursorId": cursor})
    while True:
        page = (await get_list(session, server, identifier, **query)).json
        pages.append(page["items"])
        if not page["pagination"][link]:
            return pages
        query["cursorId"] = cursor_of(page["pagination"][link])


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


pytestmark = pytest.mark.aelyst_server(token=TOKEN, dataset=Dataset(seed=0, contacts=20))


# Authentication


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="missing"),
        pytest.param("Bearer wrong-token", id="wrong-token"),
        pytest.param("Bearer ", id="empty-bearer"),
        pytest.param(f"Basic {TOKEN}", id="other-scheme"),
    ],
)
async def test_a_request_without_the_bearer_token_is_unauthorized(
    session: aiohttp.ClientSession, server: FakeAelystServer, authorization: str | None
) -> None:
    """A missing or wrong bearer token gets 401 UN_AUTHORIZED."""
    headers = {} if authorization is None else {"Authorization": authorization}
    async with session.get(list_url(server.url, "id:1"), headers=headers) as response:
        actual = (response.status, await response.json())
    expected = (401, {"code": 401, "message": "UN_AUTHORIZED"})
    assert expected == actual


async def test_token_none_accepts_any_non_empty_bearer_token(
    session: aiohttp.ClientSession,
) -> None:
    """With token=None any non-empty bearer token is accepted, and an empty one is not."""
    async with FakeAelystServer(token=None) as server:
        url = list_url(server.url, "id:1")
        actual = [(await get(session, url, token)).status for token in ("anything", "x", "")]
    expected = [200, 200, 401]
    assert expected == actual


# Validation and lookup


@pytest.mark.parametrize(
    "limit",
    [
        pytest.param("0", id="zero"),
        pytest.param("51", id="above-50"),
        pytest.param("-1", id="negative"),
        pytest.param("abc", id="not-a-number"),
        pytest.param("1.5", id="decimal"),
        pytest.param("", id="empty"),
        pytest.param("٣", id="non-ascii-digit"),
    ],
)
async def test_an_invalid_limit_is_a_validation_error(
    session: aiohttp.ClientSession, server: FakeAelystServer, limit: str
) -> None:
    """A limit that is not an integer from 1 to 50 gets 400 Validation error."""
    reply = await get_list(session, server, "id:1", limit=limit)
    expected = (400, {"code": 400, "message": "Validation error."})
    assert expected == (reply.status, reply.json)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param({}, 10, id="default-10"),
        pytest.param({"limit": "1"}, 1, id="one"),
        pytest.param({"limit": "50"}, 50, id="fifty"),
    ],
)
async def test_limit_sets_the_page_size(
    session: aiohttp.ClientSession, server: FakeAelystServer, query: dict[str, str], expected: int
) -> None:
    """The limit is the page size, 10 when absent."""
    reply = await get_list(session, server, SPECIAL.many_pages, **query)
    assert expected == len(reply.json["items"])


@pytest.mark.parametrize(
    "identifier",
    [
        pytest.param("123", id="no-kind"),
        pytest.param("name:bob", id="unknown-kind"),
        pytest.param("id:", id="empty-id"),
        pytest.param("id:12a", id="id-not-digits"),
        pytest.param("phone:60121233112", id="phone-without-plus"),
        pytest.param("phone:+12345", id="phone-5-digits"),
        pytest.param("phone:+1234567890123456", id="phone-16-digits"),
        pytest.param("email:nobody", id="email-without-at"),
        pytest.param("email:@example.com", id="email-without-local-part"),
        pytest.param("email:a@", id="email-without-domain"),
        pytest.param("email:a\nb@example.com", id="email-with-control-character"),
    ],
)
async def test_a_malformed_identifier_is_a_validation_error(
    session: aiohttp.ClientSession, server: FakeAelystServer, identifier: str
) -> None:
    """An identifier that is not id:, email: or phone: well formed gets 400 Validation error."""
    reply = await get_list(session, server, identifier)
    expected = (400, {"code": 400, "message": "Validation error."})
    assert expected == (reply.status, reply.json)


@pytest.mark.parametrize(
    "identifier",
    [
        pytest.param("id:999999", id="id"),
        pytest.param("id:01", id="id-with-leading-zero"),
        pytest.param("email:nobody@example.com", id="email"),
        pytest.param("phone:+123456", id="phone"),
    ],
)
async def test_a_well_formed_identifier_of_no_contact_is_not_found(
    session: aiohttp.ClientSession, server: FakeAelystServer, identifier: str
) -> None:
    """A valid identifier that names no contact gets 404 Contact not found."""
    reply = await get_list(session, server, identifier)
    expected = (404, {"code": 404, "message": "Contact not found."})
    assert expected == (reply.status, reply.json)


async def test_a_contact_is_found_by_its_id_email_and_phone(
    session: aiohttp.ClientSession, server: FakeAelystServer
) -> None:
    """The id, email and phone identifiers of a contact list the same messages."""
    contact = server.dataset.contact("id:3")
    pages = [
        (await get_list(session, server, name, limit="50")).json["items"]
        for name in contact.identifiers
    ]
    assert [server.dataset.messages("id:3")] * 3 == pages


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("abc", id="not-a-number"),
        pytest.param("1.5", id="decimal"),
        pytest.param("0", id="zero"),
        pytest.param("-0", id="minus-zero"),
        pytest.param("12345", id="no-such-message"),
        pytest.param("9" * 40, id="huge"),
    ],
)
async def test_an_unknown_cursor_is_a_validation_error(
    session: aiohttp.ClientSession, server: FakeAelystServer, cursor: str
) -> None:
    """A cursorId that names no message of the contact gets 400 Validation error."""
    reply = await get_list(session, server, SPECIAL.many_pages, cursorId=cursor)
    expected = (400, {"code": 400, "message": "Validation error."})
    assert expected == (reply.status, reply.json)


async def test_a_cursor_of_another_contact_is_a_validation_error(
    session: aiohttp.ClientSession, server: FakeAelystServer
) -> None:
    """A message id of another contact is not a cursor of this one."""
    other = server.dataset.contact(SPECIAL.one_page)
    reply = await get_list(
        session, server, SPECIAL.many_pages, cursorId=str(server.dataset.message_id(other, 1))
    )
    expected = 400
    assert expected == reply.status


# Pagination


@pytest.mark.parametrize("limit", [pytest.param(n, id=f"limit-{n}") for n in (1, 7, 10, 50)])
@pytest.mark.parametrize(
    "identifier", [pytest.param(SPECIAL.many_pages, id="many-pages"), pytest.param("id:3")]
)
async def test_following_next_links_lists_every_message_in_order(
    session: aiohttp.ClientSession, server: FakeAelystServer, identifier: str, limit: int
) -> None:
    """Following `next` from the first page yields the contact's messages, in order, once each."""
    pages = await walk(session, server, identifier, limit)
    assert server.dataset.messages(identifier) == [message for page in pages for message in page]


async def test_following_previous_links_walks_back_to_the_first_message(
    session: aiohttp.ClientSession, server: FakeAelystServer
) -> None:
    """From the last message, `previous` links (negative cursors) walk back through them all."""
    messages = server.dataset.messages(SPECIAL.many_pages)
    last = str(messages[-1]["messageId"])
    pages = await walk(session, server, SPECIAL.many_pages, 10, link="previous", cursor=last)
    assert messages == [message for page in reversed(pages) for message in page]


async def test_the_previous_link_of_the_second_page_gives_the_first_page(
    session: aiohttp.ClientSession, server: FakeAelystServer
) -> None:
    """The second page's `previous` link lists the first page again."""
    first = (await get_list(session, server, SPECIAL.many_pages)).json
    second = (
        await get_list(
            session, server, SPECIAL.many_pages, cursorId=cursor_of(first["pagination"]["next"])
        )
    ).json
    back = await get_list(
        session, server, SPECIAL.many_pages, cursorId=cursor_of(second["pagination"]["previous"])
    )
    assert first["items"] == back.json["items"]


async def test_cursors_point_at_message_ids(
    session: aiohttp.ClientSession, server: FakeAelystServer
) -> None:
    """`next` is the next page's first message id; `previous` is minus this page's first id."""
    messages = server.dataset.messages(SPECIAL.many_pages)
    second = (
        await get_list(session, server, SPECIAL.many_pages, cursorId=str(messages[10]["messageId"]))
    ).json
    expected = (str(messages[20]["messageId"]), f"-{messages[10]['messageId']}")
    assert expected == tuple(cursor_of(second["pagination"][name]) for name in ("next", "previous"))


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        pytest.param(
            "canonical",
            "{url}/contact/id:900005/message/list?limit=10&cursorId={cursor}",
            id="canonical",
        ),
        pytest.param(
            "relative",
            "/v1/contact/id:900005/message/list?limit=10&cursorId={cursor}",
            id="relative",
        ),
        pytest.param(
            "seed",
            "https://api.aelyst.ai/contact/{{identifier}}/message/list?limit=10&cursorId={cursor}",
            id="seed",
        ),
    ],
)
async def test_link_style_sets_the_form_of_links(
    session: aiohttp.ClientSession, style: str, expected: str
) -> None:
    """`link_style` makes links absolute, relative, or exactly the reference page's form."""
    async with FakeAelystServer(link_style=style) as server:
        messages = server.dataset.messages(SPECIAL.many_pages)
        reply = await get_list(session, server, SPECIAL.many_pages)
        cursor = messages[10]["messageId"]
        assert expected.format(url=server.url, cursor=cursor) == reply.json["pagination"]["next"]


async def test_a_canonical_link_percent_encodes_the_identifier_and_can_be_followed(
    session: aiohttp.ClientSession,
) -> None:
    """A canonical link carries the identifier percent-encoded, and following it as is works."""
    identifier = "email:o/neil+ops@example.com"
    async with FakeAelystServer(dataset=Dataset()) as server:
        reply = await get_list(session, server, identifier, limit="1")
        link = reply.json["pagination"]["next"]
        followed = await get(session, yarl.URL(link, encoded=True))
        expected = (
            f"{server.url}/contact/email:o%2Fneil+ops@example.com/message/list",
            server.dataset.messages(identifier)[1:2],
        )
        assert expected == (link.partition("?")[0], followed.json["items"])


@pytest.mark.parametrize(
    ("last_next", "expected"),
    [
        pytest.param("empty", {"next": "", "previous": ""}, id="empty"),
        pytest.param("null", {"next": None, "previous": None}, id="null"),
        pytest.param("missing", {}, id="missing"),
    ],
)
async def test_last_next_sets_the_missing_links(
    session: aiohttp.ClientSession, last_next: str, expected: dict[str, str | None]
) -> None:
    """On a single page, `next` and `previous` are "", null or absent as `last_next` says."""
    async with FakeAelystServer(last_next=last_next) as server:
        reply = await get_list(session, server, SPECIAL.single)
    assert expected == reply.json["pagination"]


def test_ordinary_messages_keep_to_the_documented_shapes() -> None:
    """Ordinary contacts' messages use only documented values, and sender ids as strings."""
    dataset = Dataset(seed=5, contacts=30)
    messages = [m for name in dataset.identifiers() for m in dataset.messages(name)]
    seen = {
        "types": {m["message"]["type"] for m in messages},
        "traffic": {m["traffic"] for m in messages},
        "statuses": {s["value"] for m in messages for s in m.get("status", [])},
        "tagged": {"messageTag" in m["message"] for m in messages},
        "id_types": {type(m["sender"].get("userId", "")) for m in messages if "sender" in m},
        "incoming_senders": {"sender" in m for m in messages if m["traffic"] == "incoming"},
    }
    expected = {
        "types": {"text"},
        "traffic": {"incoming", "outgoing"},
        "statuses": {"pending", "sent", "delivered", "read", "failed"},
        "tagged": {True, False},
        "id_types": {str},
        "incoming_senders": {False},
    }
    assert expected == seen


# Special contacts


def test_special_contacts_have_their_documented_sizes() -> None:
    """The special contacts hold 0, 1, 10, 50 and 237 messages."""
    dataset = Dataset()
    names = (
        SPECIAL.empty,
        SPECIAL.single,
        SPECIAL.one_page,
        SPECIAL.one_max_page,
        SPECIAL.many_pages,
    )
    expected = [0, 1, 10, 50, 237]
    assert expected == [len(dataset.messages(name)) for name in names]


@pytest.mark.parametrize("contacts", [pytest.param(20, id="small"), pytest.param(1000, id="large")])
def test_the_reference_pages_example_identifiers_have_histories_in_every_dataset(
    contacts: int,
) -> None:
    """The reference page's `id:123`, email and phone examples are three contacts with messages."""
    dataset = Dataset(seed=0, contacts=contacts, messages=(0, 100))
    examples = ("id:123", "email:abdc@gmail.com", "phone:+60121233112")
    histories = [dataset.messages(name) for name in examples]
    contact_ids = {m["contactId"] for history in histories for m in history}
    assert (3, True) == (len(contact_ids), all(len(history) > 10 for history in histories))


def test_id_123_counts_as_ordinary_only_in_a_dataset_that_reaches_it() -> None:
    """Contact 123 is in `identifiers()` of a dataset of 123 contacts or more, and not of 20."""
    listed = ["id:123" in Dataset(contacts=n).identifiers() for n in (20, 123)]
    assert [False, True] == listed


@pytest.mark.parametrize(
    ("identifier", "limit"),
    [
        pytest.param(SPECIAL.empty, "10", id="empty"),
        pytest.param(SPECIAL.one_page, "10", id="one-page-at-10"),
        pytest.param(SPECIAL.one_max_page, "50", id="one-page-at-50"),
    ],
)
async def test_a_contact_that_fits_one_page_has_no_links(
    session: aiohttp.ClientSession, server: FakeAelystServer, identifier: str, limit: str
) -> None:
    """A contact whose messages fit one page gets them all, with empty `next` and `previous`."""
    reply = await get_list(session, server, identifier, limit=limit)
    expected = {
        "items": server.dataset.messages(identifier),
        "pagination": {"next": "", "previous": ""},
    }
    assert expected == reply.json


async def test_the_forward_compat_contact_carries_what_a_newer_api_may_send(
    session: aiohttp.ClientSession, server: FakeAelystServer
) -> None:
    """The forward-compatibility contact sends new types, values and fields of every kind."""
    items = (await get_list(session, server, SPECIAL.forward_compat, limit="50")).json["items"]
    seen = {
        "types": {m["message"]["type"] for m in items},
        "statuses": {s["value"] for m in items for s in m["status"]},
        "traffic": {m["traffic"] for m in items},
        "tags": {m["message"].get("messageTag") for m in items} - {None},
        "channel_message_ids": {type(m["channelMessageId"]).__name__ for m in items},
        "user_ids": {type(m["sender"].get("userId")).__name__ for m in items if "sender" in m},
        "incoming_senders": {"sender" in m for m in items if m["traffic"] == "incoming"},
        "extra_fields": {"threadId", "reactions"} <= {key for m in items for key in m},
    }
    expected = {
        "types": {"text", "image", "location"},
        "statuses": {"sent", "delivered", "played", "read"},
        "traffic": {"outgoing", "incoming", "internal"},
        "tags": {"HUMAN_AGENT"},
        "channel_message_ids": {"str", "int"},
        "user_ids": {"str", "int", "NoneType"},
        "incoming_senders": {False},
        "extra_fields": True,
    }
    assert expected == seen


async def test_the_empty_page_contact_has_an_empty_page_with_a_next_link(
    session: aiohttp.ClientSession, server: FakeAelystServer
) -> None:
    """The empty_page contact's second page is empty with a `next`; the walk still gets all."""
    pages = await walk(session, server, SPECIAL.empty_page, 10)
    expected = ([10, 0, 10], server.dataset.messages(SPECIAL.empty_page))
    assert expected == ([len(page) for page in pages[:3]], [m for page in pages for m in page])


@pytest.mark.parametrize(
    "limit", [pytest.param("10", id="limit-10"), pytest.param("50", id="limit-50")]
)
async def test_the_cursor_loop_contact_sends_back_an_earlier_cursor(
    session: aiohttp.ClientSession, server: FakeAelystServer, limit: str
) -> None:
    """The cursor_loop contact's third page has the second page's cursor as its `next`."""
    cursors: list[str] = []
    query = {"limit": limit}
    for _ in range(3):
        reply = await get_list(session, server, SPECIAL.cursor_loop, **query)
        query["cursorId"] = cursor_of(reply.json["pagination"]["next"])
        cursors.append(query["cursorId"])
    assert cursors[0] == cursors[2]


# Percent-encoded identifiers


def _escape_case(identifier: str, case: Callable[[str], str]) -> str:
    """
    Percent-encode every reserved character of `identifier`, hex digits in `case`.
    """
    parts = quote(identifier, safe="").split("%")
    return "%".join([parts[0], *(case(part[:2]) + part[2:] for part in parts[1:])])


@pytest.mark.parametrize("identifier", [pytest.param(name, id=name) for name in SPECIAL.encoded])
@pytest.mark.parametrize(
    "case", [pytest.param(str.upper, id="upper-hex"), pytest.param(str.lower, id="lower-hex")]
)
async def test_a_percent_encoded_identifier_arrives_intact(
    session: aiohttp.ClientSession,
    server: FakeAelystServer,
    identifier: str,
    case: Callable[[str], str],
) -> None:
    """An identifier with reserved characters, percent-encoded in any case, finds its contact."""
    url = yarl.URL(
        f"{server.url}/contact/{_escape_case(identifier, case)}/message/list", encoded=True
    )
    reply = await get(session, url)
    expected = (200, server.dataset.messages(identifier))
    assert expected == (reply.status, reply.json["items"])


@pytest.mark.parametrize(
    "segment",
    [
        pytest.param("email:%FF@example.com", id="bad-utf8"),
        pytest.param("email:a%0Ab@example.com", id="encoded-newline"),
        pytest.param("email:a%2F", id="slash-no-at"),
    ],
)
async def test_a_bad_percent_encoded_identifier_is_a_validation_error(
    session: aiohttp.ClientSession, server: FakeAelystServer, segment: str
) -> None:
    """An encoded identifier that decodes to bad UTF-8 or an invalid identifier gets 400."""
    reply = await get(
        session, yarl.URL(f"{server.url}/contact/{segment}/message/list", encoded=True)
    )
    expected = 400
    assert expected == reply.status


# Rate limiting


def limited_server(clock: FakeClock, **config: Any) -> FakeAelystServer:
    return FakeAelystServer(token=None, rate_limit=RateLimitConfig(**config), clock=clock)


async def test_rate_limit_headers_count_down_and_a_429_says_when_a_token_is_back(
    session: aiohttp.ClientSession,
) -> None:
    """Past the bucket's capacity a request gets 429 with Retry-After until one token is back."""
    async with limited_server(FakeClock(), requests=2, window=1.0) as server:
        replies = [await get_list(session, server, "id:1") for _ in range(3)]
    actual = [(r.status, *(r.headers.get(name) for name in RATE_HEADERS)) for r in replies]
    expected = [(200, "2", "1", None), (200, "2", "0", None), (429, "2", "0", "0.5")]
    assert expected == actual


async def test_a_request_after_retry_after_is_admitted_and_refused_ones_cost_nothing(
    session: aiohttp.ClientSession,
) -> None:
    """Refused requests use no token, and waiting Retry-After on the clock is enough."""
    clock = FakeClock()
    async with limited_server(clock, requests=2, window=1.0) as server:
        statuses = [(await get_list(session, server, "id:1")).status for _ in range(5)]
        clock.now += 0.5
        statuses.append((await get_list(session, server, "id:1")).status)
        statuses.append((await get_list(session, server, "id:1")).status)
    expected = [200, 200, 429, 429, 429, 200, 429]
    assert expected == statuses


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        pytest.param("decimal", "0.334", id="decimal-rounds-up-to-ms"),
        pytest.param("integer", "1", id="integer-rounds-up"),
        pytest.param(
            "http-date", email.utils.formatdate(1_700_001_001, usegmt=True), id="http-date"
        ),
    ],
)
async def test_retry_after_has_the_configured_format(
    session: aiohttp.ClientSession, style: str, expected: str
) -> None:
    """Retry-After is decimal seconds, integer seconds or an HTTP date, as configured."""
    async with limited_server(
        FakeClock(), requests=3, window=1.0, retry_after_format=style
    ) as server:
        replies = [await get_list(session, server, "id:1") for _ in range(4)]
    assert expected == replies[3].headers["Retry-After"]


async def test_each_token_has_its_own_bucket(session: aiohttp.ClientSession) -> None:
    """One token's exhausted bucket does not limit another token."""
    async with limited_server(FakeClock(), requests=1) as server:
        url = list_url(server.url, "id:1")
        statuses = [(await get(session, url, token)).status for token in ("a", "a", "b")]
    expected = [200, 429, 200]
    assert expected == statuses


async def test_errors_carry_rate_limit_headers_but_a_401_uses_no_token(
    session: aiohttp.ClientSession,
) -> None:
    """A 400 or 404 carries the rate-limit headers; a 401 has none and costs nothing."""
    async with FakeAelystServer(
        rate_limit=RateLimitConfig(requests=5), clock=FakeClock()
    ) as server:
        replies = [
            await get(session, list_url(server.url, "id:1"), token="wrong"),
            await get_list(session, server, "nope"),
            await get_list(session, server, "id:999999"),
        ]
    actual = [(r.status, r.headers.get("X-RateLimit-Remaining")) for r in replies]
    expected = [(401, None), (400, "4"), (404, "3")]
    assert expected == actual


@pytest.mark.parametrize(
    "identifier",
    [
        pytest.param("id:1", id="200"),
        pytest.param("nope", id="400"),
        pytest.param("id:999999", id="404"),
    ],
)
async def test_without_a_rate_limit_no_rate_limit_header_is_sent(
    session: aiohttp.ClientSession, server: FakeAelystServer, identifier: str
) -> None:
    """With rate_limit=None no response carries rate-limit headers."""
    reply = await get_list(session, server, identifier)
    expected: list[str] = []
    assert expected == [name for name in RATE_HEADERS if name in reply.headers]


async def test_rate_limit_headers_can_be_turned_off(session: aiohttp.ClientSession) -> None:
    """With headers=False a 429 still has Retry-After but no X-RateLimit headers."""
    async with limited_server(FakeClock(), requests=1, headers=False) as server:
        replies = [await get_list(session, server, "id:1") for _ in range(2)]
    expected = [[], ["Retry-After"]]
    assert expected == [[n for n in RATE_HEADERS if n in r.headers] for r in replies]


# Faults


@pytest.mark.parametrize(
    ("code", "content_type", "expected"),
    [
        pytest.param(
            500, "application/json", b'{"code":500,"message":"Unexpected error occurred"}', id="500"
        ),
        pytest.param(502, "text/html", b"<html>", id="502-gateway-html"),
        pytest.param(
            503, "application/json", b'{"code":503,"message":"Service Unavailable"}', id="503"
        ),
        pytest.param(
            504, "application/json", b'{"code":504,"message":"Gateway Timeout"}', id="504"
        ),
        pytest.param(
            499, "application/json", b'{"code":499,"message":"HTTP 499"}', id="499-no-phrase"
        ),
    ],
)
async def test_a_status_fault_answers_with_that_status(
    session: aiohttp.ClientSession,
    server: FakeAelystServer,
    code: int,
    content_type: str,
    expected: bytes,
) -> None:
    """A status fault answers with its status and the API's (or a gateway's) error body."""
    server.faults.next(Fault.status(code))
    reply = await get_list(session, server, "id:1")
    assert (code, content_type, expected) == (
        reply.status,
        reply.headers["Content-Type"],
        reply.body[: len(expected)],
    )


async def test_a_rate_limited_fault_answers_429_with_retry_after(
    session: aiohttp.ClientSession, server: FakeAelystServer
) -> None:
    """A rate_limited fault answers 429 with Retry-After and rate-limit headers at zero."""
    server.faults.next(Fault.rate_limited(retry_after=0.05, limit=7))
    reply = await get_list(session, server, "id:1")
    actual = (reply.status, reply.json, [reply.headers.get(name) for name in RATE_HEADERS])
    expected = (429, {"code": 429, "message": "Too Many Requests"}, ["7", "0", "0.05"])
    assert expected == actual


async def test_a_slow_fault_trips_a_shorter_client_timeout(
    session: aiohttp.ClientSession, server: FakeAelystServer
) -> None:
    """A slow fault waits its delay in real time, so a shorter client timeout fires."""
    server.faults.next(Fault.slow(0.2))
    with pytest.raises(asyncio.TimeoutError):
        await session.get(
            list_url(server.url, "id:1"),
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=aiohttp.ClientTimeout(total=0.02),
        )


async def test_slow_requests_overlap_and_then_answer_normally(
    session: aiohttp.ClientSession, server: FakeAelystServer
) -> None:
    """Slow requests are served concurrently, then answered as usual."""
    server.faults.next(Fault.slow(0.05), times=4)
    replies = await asyncio.gather(*(get_list(session, server, "id:1") for _ in range(4)))
    expected = (4, [server.dataset.messages("id:1")[:10]] * 4)
    assert expected == (server.stats.max_in_flight, [r.json["items"] for r in replies])


async def test_a_drop_fault_closes_the_connection_without_a_response(
    session: aiohttp.ClientSession, server: FakeAelystServer
) -> None:
    """A drop fault hangs up; aiohttp retries a GET once itself, so two drops reach the caller."""
    server.faults.next(Fault.drop(), times=2)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await get_list(session, server, "id:1")
    expected = (2, 0)
    assert expected == (server.stats.faults["drop"], sum(server.stats.by_status.values()))


async def test_a_truncate_fault_sends_half_the_announced_body(
    session: aiohttp.ClientSession, server: FakeAelystServer
) -> None:
    """A truncate fault sends the full Content-Length and half the body: a payload error."""
    server.faults.next(Fault.truncate())
    with pytest.raises(aiohttp.ClientPayloadError):
        await get_list(session, server, "id:1")


async def test_a_not_json_fault_answers_200_with_html(
    session: aiohttp.ClientSession, server: FakeAelystServer
) -> None:
    """A not_json fault answers 200 with an HTML page."""
    server.faults.next(Fault.not_json())
    reply = await get_list(session, server, "id:1")
    expected = (200, "text/html", b"<!DOCTYPE html>")
    assert expected == (reply.status, reply.headers["Content-Type"], reply.body[:15])


async def test_a_cut_json_fault_answers_the_first_half_of_the_body(
    session: aiohttp.ClientSession, server: FakeAelystServer
) -> None:
    """A cut_json fault answers 200 with a consistent Content-Length and half the JSON."""
    whole = (await get_list(session, server, "id:1")).body
    server.faults.next(Fault.cut_json())
    reply = await get_list(session, server, "id:1")
    expected = (200, str(len(whole) // 2), whole[: len(whole) // 2])
    assert expected == (reply.status, reply.headers["Content-Length"], reply.body)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(reply.body)


async def test_scripted_faults_hit_the_next_requests_then_stop(
    session: aiohttp.ClientSession, server: FakeAelystServer
) -> None:
    """`next(fault, times=2)` faults the next two requests, and then requests are answered."""
    server.faults.next(Fault.status(503), times=2)
    statuses = [(await get_list(session, server, "id:1")).status for _ in range(3)]
    expected = [503, 503, 200]
    assert expected == statuses


async def test_faults_apply_only_after_authentication(
    session: aiohttp.ClientSession, server: FakeAelystServer
) -> None:
    """A wrong token still gets 401, and the scripted fault waits for an authenticated request."""
    server.faults.next(Fault.status(503))
    url = list_url(server.url, "id:1")
    statuses = [(await get(session, url, token)).status for token in ("wrong", TOKEN, TOKEN)]
    expected = [401, 503, 200]
    assert expected == statuses


FRACTION_FAULTS = [
    Fault.status(500),
    Fault.status(502),
    Fault.rate_limited(retry_after=0.05),
    Fault.truncate(),
    Fault.not_json(),
    Fault.cut_json(),
]


async def run_fraction(
    requests: list[tuple[str, str]], concurrency: int
) -> tuple[list[tuple[str, int, str]], collections.Counter[tuple[str, str, object]]]:
    """
    Send (identifier, limit) `requests` through a fraction plan, `concurrency` at a time.

    `drop` is left out: aiohttp sends a dropped GET again by itself, and those extra requests
    would make the count of requests per URL depend on timing. Links are relative, so that
    bodies do not differ by the servers' ports.
    """
    plan = FaultPlan().fraction(0.3, FRACTION_FAULTS, seed=1)
    outcomes: collections.Counter[tuple[str, str, object]] = collections.Counter()
    gate = asyncio.Semaphore(concurrency)
    async with (
        FakeAelystServer(faults=plan, link_style="relative") as server,
        aiohttp.ClientSession() as session,
    ):

        async def one(identifier: str, limit: str) -> None:
            async with gate:
                try:
                    outcome: object = (
                        await get_list(session, server, identifier, limit=limit)
                    ).body
                except aiohttp.ClientError as error:
                    outcome = type(error).__name__
                outcomes[identifier, limit, outcome] += 1

        await asyncio.gather(*(one(identifier, limit) for identifier, limit in requests))
    return sorted((f.target, f.nth, f.kind) for f in plan.injected), outcomes


async def test_fraction_faults_are_the_same_whatever_the_order_and_concurrency() -> None:
    """A fraction plan faults the same requests of the same URLs, sequential or concurrent."""
    requests = [(f"id:{n}", limit) for n in range(1, 11) for limit in ("5", "10")] * 3
    sequential = await run_fraction(requests, concurrency=1)
    concurrent = await run_fraction(random.Random(7).sample(requests, len(requests)), 16)
    expected = (sequential, True)
    assert expected == (concurrent, len(sequential[0]) > 5)


async def test_no_url_is_fraction_faulted_more_than_three_times_in_a_row(
    session: aiohttp.ClientSession,
) -> None:
    """Even at rate 1, every fourth request for a URL is answered."""
    async with FakeAelystServer(faults=FaultPlan().fraction(1.0, [Fault.status(500)])) as server:
        statuses = [(await get_list(session, server, "id:1")).status for _ in range(8)]
    expected = [500, 500, 500, 200, 500, 500, 500, 200]
    assert expected == statuses


def test_fraction_decisions_depend_only_on_seed_url_and_repetition() -> None:
    """Two plans with one seed decide alike; another seed decides otherwise."""

    def decisions(seed: int) -> list[str | None]:
        plan = FaultPlan().fraction(0.5, FRACTION_FAULTS, seed=seed)
        return [
            getattr(plan.decide(f"/v1/contact/id:{n % 7}/message/list"), "kind", None)
            for n in range(200)
        ]

    expected = (True, False)
    assert expected == (decisions(1) == decisions(1), decisions(1) == decisions(2))


def fault_kinds(plan: FaultPlan) -> list[tuple[str, int | None] | None]:
    """
    The faults a plan decides for 200 requests of a few URLs: its observable behaviour.
    """
    faults = (plan.decide(f"/v1/contact/id:{n % 7}/message/list") for n in range(200))
    return [None if fault is None else (fault.kind, fault.code) for fault in faults]


@pytest.mark.parametrize(
    ("text", "rate", "faults"),
    [
        pytest.param(
            "0.3",
            0.3,
            [Fault.status(500), Fault.status(503), Fault.drop(), Fault.cut_json()],
            id="default-kinds",
        ),
        pytest.param("1:503", 1.0, [Fault.status(503)], id="one-status"),
        pytest.param(
            "0.5: drop ,429,not_json",
            0.5,
            [Fault.drop(), Fault.status(429), Fault.not_json()],
            id="kinds-with-spaces",
        ),
        pytest.param(
            "0.2:rate_limited,truncate,slow",
            0.2,
            [Fault.rate_limited(), Fault.truncate(), Fault.slow(2.0)],
            id="named-kinds",
        ),
    ],
)
def test_a_fault_spec_reads_as_the_plan_it_names(
    text: str, rate: float, faults: list[Fault]
) -> None:
    """`RATE[:KIND,...]` is a fraction plan of that rate over those faults."""
    expected = fault_kinds(FaultPlan().fraction(rate, faults))
    assert expected == fault_kinds(parse_faults(text))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("often", "rate must be a number from 0 to 1, not 'often'", id="rate-text"),
        pytest.param("1.5", "rate must be a number from 0 to 1", id="rate-above-one"),
        pytest.param("0.1:teapot", "unknown fault 'teapot'", id="unknown-kind"),
    ],
)
def test_a_fault_spec_that_cannot_be_read_is_an_invalid_argument(text: str, message: str) -> None:
    """A bad rate or kind is refused with InvalidArgumentError (a ValueError), naming it."""
    with pytest.raises(InvalidArgumentError, match=message):
        parse_faults(text)


# Stats, dataset and entry points


async def test_stats_count_requests_statuses_and_faults(
    session: aiohttp.ClientSession, server: FakeAelystServer
) -> None:
    """Stats count requests, responses by status, faults by kind, and nothing is left in flight."""
    await get_list(session, server, "id:1")
    await get_list(session, server, "nope")
    await get_list(session, server, "id:999999")
    await get(session, list_url(server.url, "id:1"), token="wrong")
    server.faults.next(Fault.status(503))
    await get_list(session, server, "id:1")
    stats = server.stats
    expected = (5, {200: 1, 400: 1, 404: 1, 401: 1, 503: 1}, {"status": 1}, 0, 0)
    actual = (stats.requests, stats.by_status, stats.faults, stats.rate_limited, stats.in_flight)
    assert expected == actual


def test_the_same_seed_gives_the_same_messages() -> None:
    """Datasets of one seed hold the same messages; another seed holds others."""
    first, again, other = (Dataset(seed=seed).messages("id:5") for seed in (1, 1, 2))
    expected = (True, False)
    assert expected == (first == again, first == other)


def test_a_million_messages_are_counted_without_being_made() -> None:
    """A million messages are counted, and their last page found, without making them all."""
    dataset = Dataset(contacts=10_000, messages=100)
    contact = dataset.contact("id:10000")
    window = dataset.page(contact, str(dataset.message_id(contact, 95)), 10)
    expected = (1_000_000, 95, 100, None)
    assert expected == (dataset.total_messages, window.start, window.stop, window.next_cursor)


def test_identifiers_and_total_messages_cover_the_ordinary_contacts() -> None:
    """`identifiers()` lists id:1 to id:N, and `total_messages` is the sum of their messages."""
    dataset = Dataset(seed=3, contacts=4, messages=(0, 30))
    names = list(dataset.identifiers())
    expected = (["id:1", "id:2", "id:3", "id:4"], dataset.total_messages)
    assert expected == (names, sum(len(dataset.messages(name)) for name in names))


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"link_style": "pretty"}, id="link-style"),
        pytest.param({"last_next": "none"}, id="last-next"),
        pytest.param({"token": ""}, id="empty-token"),
        pytest.param({"page_cache_size": -1}, id="cache-size"),
        pytest.param({"tokens": "t"}, id="unknown-option"),
    ],
)
def test_invalid_options_are_refused(options: dict[str, Any]) -> None:
    """An invalid or unknown option raises at construction."""
    with pytest.raises((ValueError, TypeError)):
        ServerOptions(**options)


async def test_server_url_is_the_v1_base_url(server: FakeAelystServer) -> None:
    """`server.url` is http://127.0.0.1:<port>/v1."""
    expected = f"http://127.0.0.1:{server.port}/v1"
    assert expected == server.url


async def test_create_app_runs_under_aiohttp_test_server(session: aiohttp.ClientSession) -> None:
    """The application from `create_app` serves under aiohttp's TestServer too."""
    app = create_app(token="t", link_style="relative")
    async with TestServer(app) as test_server:
        reply = await get(session, list_url(str(test_server.make_url("/v1")), "id:1"), token="t")
    expected = (200, 1)
    assert expected == (reply.status, app[STATS_KEY].requests)


async def test_serve_runs_until_cancelled(session: aiohttp.ClientSession) -> None:
    """`serve` reports the started server, answers requests, and stops when cancelled."""
    ready: asyncio.Queue[FakeAelystServer] = asyncio.Queue()
    task = asyncio.create_task(serve("127.0.0.1", 0, on_ready=ready.put_nowait, token="t"))
    running = await ready.get()
    reply = await get(session, list_url(running.url, "id:1"), token="t")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    expected = 200
    assert expected == reply.status


def test_a_fault_is_served_as_itself_where_warnings_are_errors() -> None:
    """
    In a process that turns warnings into errors (as test suites often do), the first fault
    is the fault, not a 500 of the server's own: it keeps nothing in the request's storage,
    on which aiohttp 3.14 warns.
    """
    code = """
import asyncio
import subprocess
import sys
from aelyst_async.testing import FakeAelystServer, Fault
import aiohttp

async def main():
    async with FakeAelystServer(token="t") as server:
        server.faults.next(Fault.status(503))
        async with aiohttp.ClientSession() as session:
            url = f"{server.url}/contact/id:3/message/list"
            async with session.get(url, headers={"Authorization": "Bearer t"}) as response:
                print(response.status, await response.text())

asyncio.run(main())
"""
    ran = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=True
    )
    assert '503 {"code":503,"message":"Service Unavailable"}' == ran.stdout.strip(), ran.stderr


async def test_the_log_line_of_each_request_names_its_own_fault(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Requests on one kept-alive connection: the line after a faulted one says `fault=-`."""
    caplog.set_level(logging.INFO, logger="aelyst_async.testing")
    async with FakeAelystServer(token=TOKEN, log_requests=True) as server:
        server.faults.next(Fault.status(503))
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as session:
            for _ in range(2):
                async with session.get(f"{server.url}/contact/id:3/message/list") as response:
                    await response.read()
    served = [r.getMessage() for r in caplog.records if r.getMessage().startswith("served GET")]
    assert ["fault=status", "fault=-"] == [line.rpartition(" ")[2] for line in served]
