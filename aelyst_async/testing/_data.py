"""
The fake server's ground truth: deterministic contacts and messages, generated on demand.

Rules:

1. Nothing is materialised up front: a message is a pure function of (seed, contact id,
   index), so a dataset of a million messages costs nothing until a page of it is read.
2. The same seed gives the same messages in every process: hashing is splitmix64 on plain
   integers, never Python's salted `hash()`.
3. The message ids of a contact ascend with gaps: `id(i) = start + 7 * i + jitter(i)` with
   `0 <= jitter < 5`. So `(id - start) // 7` gives the index back and a cursor is checked in
   O(1), and `id(i) - 1` is never a message id (the `empty_page` quirk uses it as the cursor
   of a deleted message).
4. Ordinary contacts are `id:1` … `id:N`. Special contacts (edge cases and quirks, see
   `SpecialContacts`) have ids from 900001 and the same identifiers in every dataset; they
   count neither in `identifiers()` nor in `total_messages`.
5. Cursors: `"<id>"` is the page starting at message `<id>`; `"-<id>"` is the page of the
   `limit` messages just before message `<id>` (walking backwards). A page's `next` is the
   id of the message after it; its `previous` is minus the id of its own first message.
6. The example identifiers of the API's reference page name contacts in every dataset, so
   that examples run as written: `id:123` is contact 123 (ordinary, and counted, when the
   dataset has 123 contacts or more), and `email:abdc@gmail.com` and `phone:+60121233112`
   are contacts of their own, with ids from 900101, ordinary histories and fixed counts.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import attrs

from .._checks import check_int, is_int
from .._exceptions import InvalidArgumentError

__all__ = [
    "MAX_CONTACTS",
    "MAX_MESSAGES",
    "Contact",
    "Dataset",
    "PageWindow",
    "Quirk",
    "SpecialContacts",
    "is_valid_identifier",
    "message_range",
]

Quirk = Literal["empty_page", "cursor_loop"]

_MASK = (1 << 64) - 1
_ID_BASE = 1_000_000_000
_ID_SPAN = 10_000_000  # message ids of one contact: 7 per message, so at most ~1.4M messages
MAX_MESSAGES = 1_000_000
_FIRST_SPECIAL_ID = 900_001
MAX_CONTACTS = _FIRST_SPECIAL_ID - 1
"""The most ordinary contacts a dataset holds: their ids stay below the special contacts'."""
_COUNT, _START = -1, -2  # hash streams of a contact, apart from its messages' (index >= 0)

_ID = re.compile(r"id:[0-9]+")
_PHONE = re.compile(r"phone:\+[0-9]{6,15}")
_ORDINARY = (  # the identifiers of ordinary contacts, capturing the contact id
    re.compile(r"id:([1-9][0-9]{0,5})"),
    re.compile(r"phone:\+6019([0-9]{8})"),
    re.compile(r"email:[a-z]+\.[a-z]+([1-9][0-9]{0,5})@[a-z.]+"),
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CURSOR = re.compile(r"-?[1-9][0-9]{0,17}")

_FIRST_NAMES = ("aisha", "ben", "chen", "dara", "elif", "farid", "grace", "hiro", "ines", "jun")
_LAST_NAMES = ("tan", "okafor", "lim", "silva", "novak", "rahman", "moreau", "ito", "weber")
_DOMAINS = ("gmail.com", "example.com", "shop.example.my", "mail.example.org")
_CHANNELS = (101, 102, 103, 104)
_INCOMING_TEXTS = (
    "Hi! Is my order on its way?",
    "Can I change the delivery address?",
    "Thanks, that's perfect 🙏",
    "The link doesn't open for me…",
    "¿Tienen envío a Penang?",
    "Ok 👍",
)
_OUTGOING_TEXTS = (
    "Your order has shipped — it should arrive by Friday.",
    "Reminder: your appointment is tomorrow at 10:00.",
    "Payment received: RM 120.00. Thank you!",
    "Here's your tracking link: https://track.example.com/AB12",
    "Great, see you then 👋",
    "We're sorry for the delay; a voucher is on its way.",
)
_TAGS = ("ACCOUNT_UPDATE", "POST_PURCHASE_UPDATE", "CONFIRMED_EVENT_UPDATE")
_FAILURES = (
    "Message failed to send because more than 24 hours have passed since the customer last"
    " replied to this number.",
    "Recipient phone number is not a WhatsApp account.",
    "Message undeliverable.",
)
_PROGRESS = ("pending", "sent", "delivered", "read")


def _mix(*parts: int) -> int:
    """
    A 64-bit hash of integers (splitmix64 over the parts).
    """
    z = 0
    for part in parts:
        z = (z + (part & _MASK) + 0x9E3779B97F4A7C15) & _MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        z ^= z >> 31
    return z


def is_valid_identifier(identifier: str) -> bool:
    """
    Whether a string is a contact identifier as the API accepts it.

    Args:
        identifier: `id:<digits>`, `phone:+<6 to 15 digits>`, or `email:<local>@<domain>`
            (lenient: no control characters; split at the last `@`, both sides non-empty).

    Returns:
        Whether it is one.
    """
    if identifier.startswith("email:"):
        local, _, domain = identifier[6:].rpartition("@")
        return bool(local and domain) and not _CONTROL.search(identifier)
    return bool(_ID.fullmatch(identifier) or _PHONE.fullmatch(identifier))


@attrs.frozen(kw_only=True)
class Contact:
    """
    One contact of a dataset.

    Attributes:
        id: The contact's id (`contactId` of its messages).
        identifier: Its primary identifier, `id:<id>`.
        email: Its `email:` identifier.
        phone: Its `phone:` identifier.
        message_count: How many messages it has.
        quirk: The pagination quirk of a special contact, if any.
        fixed: Explicit messages (without `messageId`) instead of generated ones.
    """

    id: int
    identifier: str
    email: str
    phone: str
    message_count: int
    quirk: Quirk | None = None
    fixed: tuple[Mapping[str, Any], ...] = attrs.field(default=(), repr=False)

    @property
    def identifiers(self) -> tuple[str, str, str]:
        """
        Every identifier it is found by: id, email and phone.
        """
        return (self.identifier, self.email, self.phone)


def _contact(
    contact_id: int, email: str, message_count: int, phone: str | None = None, **more: Any
) -> Contact:
    return Contact(
        id=contact_id,
        identifier=f"id:{contact_id}",
        email=email,
        phone=phone or f"phone:+6019{contact_id:08d}",
        message_count=message_count,
        **more,
    )


@attrs.frozen(kw_only=True)
class SpecialContacts:
    """
    The identifiers of the contacts every dataset holds for edge cases.

    Attributes:
        empty: No messages.
        single: Exactly one message.
        one_page: Exactly 10 messages: one full page at the default limit.
        one_max_page: Exactly 50 messages: one full page at the largest limit.
        many_pages: 237 messages: many pages at any limit.
        forward_compat: Messages with what a newer API may send: a body of type `image`
            and one of type `location`, a status `played`, a traffic `internal`, a tag
            `HUMAN_AGENT`, unknown fields at every level, `channelMessageId` as a string and
            as an integer, sender ids as numbers and as strings, a sender `ai_agent` with its
            own id field, an incoming message without sender.
        encoded: Email identifiers that need percent-encoding in a path (`/`, space, `%`, `#`,
            `?`, `+`, `&`, `=`, a second `@`, a literal `%41` and `%2F`, non-ASCII); 3
            messages each.
        empty_page: 120 messages. The first page's `next` points at a deleted message: that
            page has no items, and its `next` goes on to the rest.
        cursor_loop: 150 messages. The third page (the one starting at twice the limit) has the
            second page's cursor as its `next`: a client that follows links loops.
    """

    empty: str
    single: str
    one_page: str
    one_max_page: str
    many_pages: str
    forward_compat: str
    encoded: tuple[str, ...]
    empty_page: str
    cursor_loop: str


def _forward_compat_messages(contact_id: int) -> tuple[Mapping[str, Any], ...]:
    at = 1_700_000_000
    user = {"source": "user", "userId": "123456789", "teamId": "987654321"}
    base: dict[str, Any] = {
        "channelMessageId": "wamid.HBgLNjAxMjEyMzMxMTIVAgARGBI",
        "contactId": contact_id,
        "channelId": 101,
        "traffic": "outgoing",
        "message": {"type": "text", "text": "Hello from the future"},
        "status": [{"value": "sent", "timestamp": at}],
        "sender": user,
    }
    incoming = {key: value for key, value in base.items() if key != "sender"}
    return (
        {
            **base,
            "message": {
                "type": "image",
                "url": "https://cdn.example.com/c.jpg",
                "caption": "New in 🐈",
            },
        },
        {
            **base,
            "status": [
                {"value": "delivered", "timestamp": at},
                {"value": "played", "timestamp": at + 9},
            ],
        },
        {**base, "traffic": "internal", "message": {"type": "text", "text": "Note: VIP customer"}},
        {
            **base,
            "message": {"type": "text", "text": "An agent will reply", "messageTag": "HUMAN_AGENT"},
        },
        {
            **base,
            "threadId": "th_42",
            "reactions": [{"emoji": "👍", "by": "contact"}],
            "message": {
                "type": "text",
                "text": "See https://example.com",
                "preview": {"title": "Example"},
            },
            "status": [{"value": "read", "timestamp": at, "channel": "whatsapp"}],
            "sender": {**user, "displayName": "Aisha"},
        },
        {
            **base,
            "channelMessageId": 123,
            "sender": {"source": "user", "userId": 123456789, "teamId": 123456789},
        },
        {**base, "sender": {"source": "ai_agent", "aiAgentId": 77}},
        {
            **incoming,
            "traffic": "incoming",
            "message": {"type": "location", "latitude": 3.139, "longitude": 101.6869},
            "status": [{"value": "delivered", "timestamp": at}],
        },
    )


def _specials() -> tuple[SpecialContacts, Mapping[str, Contact]]:
    encoded = (
        "email:o/neil+ops@example.com",
        "email:first last@example.com",
        "email:100%?#@example.com",
        "email:percent%41@example.com",
        "email:a%2Fb@example.com",
        "email:q?x=1&y=2#frag@example.com",
        'email:"at@home"@example.com',
        "email:ünïcødé@exämple.com",
    )
    future = _forward_compat_messages(900_006)
    contacts = [
        _contact(900_001, "email:empty@special.example", 0),
        _contact(900_002, "email:single@special.example", 1),
        _contact(900_003, "email:one-page@special.example", 10),
        _contact(900_004, "email:one-max-page@special.example", 50),
        _contact(900_005, "email:many-pages@special.example", 237),
        _contact(900_006, "email:forward-compat@special.example", len(future), fixed=future),
        _contact(900_007, "email:empty-page@special.example", 120, quirk="empty_page"),
        _contact(900_008, "email:cursor-loop@special.example", 150, quirk="cursor_loop"),
    ]
    contacts += [_contact(900_009 + k, email, 3) for k, email in enumerate(encoded)]
    names = [c.identifier for c in contacts[:8]]
    special = SpecialContacts(
        empty=names[0],
        single=names[1],
        one_page=names[2],
        one_max_page=names[3],
        many_pages=names[4],
        forward_compat=names[5],
        empty_page=names[6],
        cursor_loop=names[7],
        encoded=encoded,
    )
    return special, {name: c for c in contacts for name in c.identifiers}


_SPECIAL, _SPECIAL_BY_IDENTIFIER = _specials()

# Rule 6: the reference page's examples, `id:123`, `email:abdc@gmail.com`, `phone:+60121233112`.
_DOCUMENTED_ID = 123
_DOCUMENTED_BY_IDENTIFIER = {
    name: contact
    for contact in (
        _contact(900_101, "email:abdc@gmail.com", 64),
        _contact(900_102, "email:phone-example@special.example", 23, phone="phone:+60121233112"),
    )
    for name in contact.identifiers
}


@attrs.frozen(kw_only=True)
class PageWindow:
    """
    Which messages of a contact one request returns, and the cursors of its links.

    Attributes:
        start: Index of the first message of the page.
        stop: Index one past the last message (equal to `start` for an empty page).
        next_cursor: The `cursorId` of the next page, or `None` on the last page.
        previous_cursor: The `cursorId` of the previous page, or `None` on the first page.
    """

    start: int
    stop: int
    next_cursor: str | None
    previous_cursor: str | None


def message_range(value: int | tuple[int, int]) -> tuple[int, int]:
    """
    Validate `Dataset(messages=...)`: a count, or a `(min, max)` pair, within `MAX_MESSAGES`.

    Returns:
        The `(min, max)` pair.

    Raises:
        InvalidArgumentError: Naming the value.
    """
    given: object = value
    low, high = given if isinstance(given, tuple) and len(given) == 2 else (given, given)
    if not (is_int(low) and is_int(high)) or not (0 <= low <= high <= MAX_MESSAGES):
        raise InvalidArgumentError(
            f"messages must be an int or a (min, max) pair within 0..{MAX_MESSAGES}, not {value!r}"
        )
    return low, high


def _check_seed(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    check_int("seed", value)


def _check_contacts(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    check_int("contacts", value, low=0, high=MAX_CONTACTS)


@attrs.frozen(kw_only=True)
class Dataset:
    """
    Deterministic contacts and messages, generated on demand (see the module's rules).

    Args:
        seed: The same seed gives the same messages.
        contacts: How many ordinary contacts (`id:1` … `id:<contacts>`).
        messages: Messages per ordinary contact: a number, or a `(min, max)` range each
            contact draws from (kept as the `messages_per_contact` pair, since `messages()`
            lists a contact's messages).

    Example:
        ```python
        dataset = Dataset(seed=0, contacts=1_000, messages=(0, 1_000))
        dataset.total_messages          # ~500k, nothing generated yet
        dataset.messages("id:7")        # the wire dicts, in page order
        dataset.special.forward_compat  # "id:900006"
        ```
    """

    seed: int = attrs.field(default=0, validator=_check_seed)
    contacts: int = attrs.field(default=20, validator=_check_contacts)
    messages_per_contact: tuple[int, int] = attrs.field(
        default=(0, 40), converter=message_range, alias="messages"
    )

    @property
    def special(self) -> SpecialContacts:
        """
        The identifiers of the special contacts.
        """
        return _SPECIAL

    def identifiers(self) -> Iterator[str]:
        """
        The primary identifiers of the ordinary contacts, `id:1` first.

        Returns:
            An iterator of `id:<n>` strings.
        """
        return (f"id:{n}" for n in range(1, self.contacts + 1))

    @functools.cached_property
    def total_messages(self) -> int:
        """
        How many messages the ordinary contacts have in all (computed once, without messages).
        """
        low, high = self.messages_per_contact
        if low == high:
            return low * self.contacts
        return sum(self._count(n) for n in range(1, self.contacts + 1))

    def _count(self, contact_id: int) -> int:
        low, high = self.messages_per_contact
        return low + _mix(self.seed, contact_id, _COUNT) % (high - low + 1)

    def _ordinary(self, contact_id: int) -> Contact:
        h = _mix(self.seed, contact_id)
        first, last = _FIRST_NAMES[h % len(_FIRST_NAMES)], _LAST_NAMES[(h >> 8) % len(_LAST_NAMES)]
        email = f"email:{first}.{last}{contact_id}@{_DOMAINS[(h >> 16) % len(_DOMAINS)]}"
        return _contact(contact_id, email, self._count(contact_id))

    def find(self, identifier: str) -> Contact | None:
        """
        The contact an identifier names, by exact match of its id, email or phone identifier.

        Args:
            identifier: The identifier.

        Returns:
            The contact, or `None` when there is none.
        """
        special = _SPECIAL_BY_IDENTIFIER.get(identifier) or _DOCUMENTED_BY_IDENTIFIER.get(
            identifier
        )
        if special is not None:
            return special
        for pattern in _ORDINARY:
            match = pattern.fullmatch(identifier)
            if match is not None:
                contact_id = int(match[1])
                if 1 <= contact_id <= self.contacts or contact_id == _DOCUMENTED_ID:
                    contact = self._ordinary(contact_id)
                    return contact if identifier in contact.identifiers else None
        return None

    def contact(self, identifier: str) -> Contact:
        """
        The contact an identifier names.

        Args:
            identifier: Its id, email or phone identifier.

        Returns:
            The contact.

        Raises:
            KeyError: When no contact has that identifier.
        """
        contact = self.find(identifier)
        if contact is None:
            raise KeyError(identifier)
        return contact

    def messages_of(
        self, contact: Contact, start: int = 0, stop: int | None = None
    ) -> list[dict[str, Any]]:
        """
        Wire dicts of a range of a contact's messages.

        Args:
            contact: The contact.
            start: Index of the first message.
            stop: Index one past the last; all the rest by default.

        Returns:
            The messages, camelCase as the API sends them.
        """
        stop = contact.message_count if stop is None else stop
        return [self._message(contact, index) for index in range(start, stop)]

    def messages(self, identifier: str) -> list[dict[str, Any]]:
        """
        All messages of a contact, in page order (ascending `messageId`).

        Args:
            identifier: Its id, email or phone identifier.

        Returns:
            The messages, camelCase as the API sends them.

        Raises:
            KeyError: When no contact has that identifier.
        """
        return self.messages_of(self.contact(identifier))

    def _start(self, contact: Contact) -> int:
        return _ID_BASE + contact.id * _ID_SPAN

    def message_id(self, contact: Contact, index: int) -> int:
        """
        The `messageId` of a contact's message.

        Args:
            contact: The contact.
            index: The message's index, from 0.

        Returns:
            Its id.
        """
        return self._start(contact) + 7 * index + _mix(self.seed, contact.id, index) % 5

    def index_of(self, contact: Contact, message_id: int) -> int | None:
        """
        The index of a contact's message by id.

        Args:
            contact: The contact.
            message_id: A message id.

        Returns:
            The index, or `None` when the contact has no message of that id.
        """
        index = (message_id - self._start(contact)) // 7
        if 0 <= index < contact.message_count and self.message_id(contact, index) == message_id:
            return index
        return None

    def page(self, contact: Contact, cursor: str | None, limit: int) -> PageWindow:
        """
        The window of a contact's messages that one request returns.

        Args:
            contact: The contact.
            cursor: The request's `cursorId`, or `None` for the first page.
            limit: The page size.

        Returns:
            The window.

        Raises:
            ValueError: When the cursor names no message of the contact.
        """
        count = contact.message_count
        value = 0
        if cursor is None:
            start, stop = 0, min(count, limit)
        else:
            value = int(cursor) if _CURSOR.fullmatch(cursor) else 0
            index = self.index_of(contact, abs(value))
            if index is None:
                return self._deleted_message_page(contact, value, cursor)
            start, stop = (
                (max(0, index - limit), index) if value < 0 else (index, min(count, index + limit))
            )
        next_cursor = str(self.message_id(contact, stop)) if stop < count else None
        previous = f"-{self.message_id(contact, start)}" if start > 0 else None
        if next_cursor is not None and contact.quirk == "empty_page" and cursor is None:
            next_cursor = str(int(next_cursor) - 1)
        if contact.quirk == "cursor_loop" and value > 0 and start == 2 * limit:
            next_cursor = str(self.message_id(contact, limit))
        return PageWindow(start=start, stop=stop, next_cursor=next_cursor, previous_cursor=previous)

    def _deleted_message_page(self, contact: Contact, value: int, cursor: str) -> PageWindow:
        """
        The empty page at the cursor of a deleted message (`empty_page` quirk only).
        """
        after = None
        if contact.quirk == "empty_page" and value > 0:
            after = self.index_of(contact, value + 1)
        if not after:  # None, or 0: no message is deleted before the first one
            raise ValueError(f"unknown cursor {cursor!r}")
        following = str(value + 1)
        return PageWindow(
            start=after, stop=after, next_cursor=following, previous_cursor=f"-{following}"
        )

    def _message(self, contact: Contact, index: int) -> dict[str, Any]:
        r = _mix(self.seed, contact.id, index)
        message_id = self._start(contact) + 7 * index + r % 5
        if contact.fixed:
            return {"messageId": message_id, **copy.deepcopy(contact.fixed[index])}
        return _generated(contact, index, message_id, r, self._contact_start(contact))

    def _contact_start(self, contact: Contact) -> int:
        return 1_650_000_000 + _mix(self.seed, contact.id, _START) % 50_000_000


def _generated(contact: Contact, index: int, message_id: int, r: int, since: int) -> dict[str, Any]:
    """
    One ordinary message: realistic, and only of the documented shapes and types (sender ids
    as strings, as the schema says), so it survives a round trip through the SDK's models
    unchanged. The page example's numeric ids live in the forward-compat contact.
    """
    sent_at = since + index * 3_600 + (r >> 3) % 1_800
    incoming = (r >> 11) % 8 < 3
    texts = _INCOMING_TEXTS if incoming else _OUTGOING_TEXTS
    body: dict[str, Any] = {"type": "text", "text": texts[(r >> 14) % len(texts)]}
    wire: dict[str, Any] = {
        "messageId": message_id,
        "channelMessageId": f"wamid.{(r >> 20) % 16**10:010x}"
        if (r >> 19) & 1
        else (r >> 24) % 10**9,
        "contactId": contact.id,
        "channelId": _CHANNELS[contact.id % len(_CHANNELS)],
        "traffic": "incoming" if incoming else "outgoing",
        "message": body,
    }
    if incoming:
        if (r >> 60) & 1:
            wire["status"] = [{"value": "delivered", "timestamp": sent_at}]
        return wire
    if (r >> 56) % 8 == 0:
        body["messageTag"] = _TAGS[(r >> 40) % len(_TAGS)]
    delays = (0, 1, 4, 60 + (r >> 44) % 600)
    if (r >> 34) % 16 == 0:
        wire["status"] = [
            {"value": "pending", "timestamp": sent_at},
            {
                "value": "failed",
                "timestamp": sent_at + 2,
                "message": _FAILURES[(r >> 38) % len(_FAILURES)],
            },
        ]
    else:
        depth = 1 + (r >> 30) % 4
        wire["status"] = [
            {"value": v, "timestamp": sent_at + d}
            for v, d in zip(_PROGRESS[:depth], delays[:depth], strict=True)
        ]
    source = (r >> 50) % 8
    if source < 6:
        user_id, team_id = 100_000_000 + (r >> 53) % 7, 5_000 + contact.id % 3
        wire["sender"] = {"source": "user", "userId": str(user_id), "teamId": str(team_id)}
    else:
        wire["sender"] = {"source": "workflow" if source == 6 else "broadcast"}
    return wire
