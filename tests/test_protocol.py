"""
The pure protocol core: URLs, cursors, rate-limit headers and status mapping, without sockets.
"""

from __future__ import annotations

import email.utils

import pytest
import yarl
from hypothesis import given
from hypothesis import strategies as st

from aelyst_async import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    Identifier,
    InternalServerError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimit,
    RateLimitError,
)
from aelyst_async._http import Response
from aelyst_async._protocol import (
    error_for_response,
    parse_rate_limit,
    parse_reset,
    parse_retry_after,
)
from aelyst_async._routes import (
    check_base_url,
    check_limit,
    cursor_from_link,
    limit_from_link,
    list_messages_url,
    next_link_is_broken,
)

NOW = 1_700_000_000.0
BASE = check_base_url("https://api.aelyst.ai/v1")


def test_the_list_url_is_built_on_the_base_url() -> None:
    """The list URL is the base URL, the encoded identifier, limit and cursorId."""
    url = list_messages_url(BASE, Identifier.parse("email:a/b@c.io"), limit=10, cursor="42")
    assert (
        "https://api.aelyst.ai/v1/contact/email:a%2Fb@c.io/message/list?limit=10&cursorId=42"
        == str(url)
    )


def test_the_list_url_omits_absent_parameters() -> None:
    """No limit and no cursor: no query string."""
    url = list_messages_url(BASE, Identifier.id(7), limit=None, cursor=None)
    assert "https://api.aelyst.ai/v1/contact/id:7/message/list" == str(url)


@pytest.mark.parametrize(
    "base",
    [
        pytest.param("ftp://api.aelyst.ai", id="not-http"),
        pytest.param("api.aelyst.ai/v1", id="relative"),
        pytest.param("https://api.aelyst.ai/v1?x=1", id="query"),
        pytest.param("https://user:pw@api.aelyst.ai/v1", id="credentials"),
    ],
)
def test_a_bad_base_url_is_rejected_naming_it(base: str) -> None:
    """A base URL that is not plain absolute http(s) raises at once."""
    with pytest.raises(InvalidArgumentError, match="base_url"):
        check_base_url(base)


def test_a_trailing_slash_of_the_base_url_is_dropped() -> None:
    """`.../v1/` and `.../v1` build the same URLs."""
    assert yarl.URL("https://api.aelyst.ai/v1") == check_base_url("https://api.aelyst.ai/v1/")


@pytest.mark.parametrize("limit", [0, 51, -1, 1.5, "10", True])
def test_a_limit_outside_1_to_50_is_rejected_naming_it(limit: object) -> None:
    """limit must be an int from 1 to 50; the error names the value."""
    with pytest.raises(ValueError, match=repr(limit).replace(".", r"\.")):
        check_limit(limit)


@pytest.mark.parametrize(
    ("link", "cursor", "limit"),
    [
        pytest.param(
            "https://api.aelyst.ai/contact/{identifier}/message/list?limit=10&cursorId=10",
            "10",
            10,
            id="seed-example",
        ),
        pytest.param(
            "/v1/contact/id:1/message/list?cursorId=-10", "-10", None, id="relative-negative"
        ),
        pytest.param(
            "http://h/x?cursorId=a%2Bb&limit=99", "a+b", None, id="encoded-cursor-bad-limit"
        ),
        pytest.param("?limit=5&cursorId=abc#frag", "abc", 5, id="query-only"),
        pytest.param("", None, None, id="empty"),
        pytest.param(None, None, None, id="null"),
    ],
)
def test_cursor_and_limit_are_read_from_links(
    link: str | None, cursor: str | None, limit: int | None
) -> None:
    """Only the query of a link is read: cursorId and limit."""
    assert (cursor, limit) == (cursor_from_link(link), limit_from_link(link))


@pytest.mark.parametrize(
    "link",
    [
        pytest.param("https://api.aelyst.ai/v1/contact/id:1/message/list?limit=10", id="no-cursor"),
        pytest.param("/v1/contact/id:1/message/list?cursorId=", id="empty-cursor"),
        pytest.param("garbage", id="not-a-url"),
        pytest.param("5", id="a-number"),
        pytest.param("?cursorId=" + "c" * 9000, id="too-long"),
    ],
)
def test_a_next_link_without_a_usable_cursor_is_broken(link: str) -> None:
    """A non-empty next link without a usable cursorId reads as no cursor, and as broken."""
    cursor = cursor_from_link(link)
    assert (None, True) == (cursor, next_link_is_broken(link, cursor))


@pytest.mark.parametrize("link", [None, ""])
def test_an_empty_next_link_is_the_last_page_not_a_broken_one(link: str | None) -> None:
    """No next link is the end, not an error."""
    assert not next_link_is_broken(link, cursor_from_link(link))


@given(st.text())
def test_link_parsing_never_raises_on_arbitrary_text(link: str) -> None:
    """Any text a server writes as a previous link reads as a cursor or None, never an exception."""
    cursor = cursor_from_link(link)
    assert cursor is None or isinstance(cursor, str)
    limit = limit_from_link(link)
    assert limit is None or 1 <= limit <= 50


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param("1", 1.0, id="integer"),
        pytest.param("0.25", 0.25, id="decimal"),
        pytest.param(email.utils.formatdate(NOW + 30, usegmt=True), 30.0, id="http-date"),
        pytest.param(email.utils.formatdate(NOW - 30, usegmt=True), 0.0, id="http-date-past"),
        pytest.param("soon", None, id="garbage"),
        pytest.param("-3", None, id="negative"),
        pytest.param("nan", None, id="nan"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_retry_after_is_read_as_seconds(value: str | None, seconds: float | None) -> None:
    """Retry-After in seconds (integer or decimal) or as an HTTP date gives seconds from now."""
    assert seconds == parse_retry_after(value, now=NOW)


@given(st.text())
def test_retry_after_parsing_never_raises(value: str) -> None:
    """An unreadable Retry-After is None, never an exception."""
    result = parse_retry_after(value, now=NOW)
    assert result is None or result >= 0


def test_rate_limit_headers_are_parsed() -> None:
    """The three headers become a RateLimit."""
    headers = {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "5", "Retry-After": "1"}
    assert RateLimit(limit=10, remaining=5, retry_after=1.0) == parse_rate_limit(headers, now=NOW)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param("30", 30.0, id="seconds-until-reset"),
        pytest.param("0.5", 0.5, id="decimal-seconds"),
        pytest.param(str(int(NOW) + 45), 45.0, id="epoch-timestamp"),
        pytest.param(str(int(NOW) * 1000 + 2500), 2.5, id="epoch-milliseconds"),
        pytest.param(str(int(NOW) - 10), 0.0, id="epoch-in-the-past"),
        pytest.param("86400", 86400.0, id="a-day"),
        pytest.param("86401", None, id="over-a-day-is-ignored"),
        pytest.param(str(int(NOW) + 90_000), None, id="timestamp-over-a-day-away"),
        pytest.param("-3", None, id="negative"),
        pytest.param("soon", None, id="unreadable"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_reset_is_read_as_seconds_until_the_window_resets(
    value: str | None, seconds: float | None
) -> None:
    """X-RateLimit-Reset as seconds, or as a Unix timestamp (1e9 and above), gives seconds."""
    assert seconds == parse_reset(value, now=NOW)


@given(st.text())
def test_reset_parsing_never_raises(value: str) -> None:
    """An unreadable X-RateLimit-Reset is None, never an exception."""
    result = parse_reset(value, now=NOW)
    assert result is None or 0 <= result <= 86_400


def test_the_reset_header_is_parsed_with_the_others() -> None:
    """X-RateLimit-Reset joins the RateLimit the other headers make."""
    headers = {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "7", "X-RateLimit-Reset": "42"}
    assert RateLimit(limit=60, remaining=7, reset=42.0) == parse_rate_limit(headers, now=NOW)


def test_an_http_date_retry_after_is_measured_against_the_responses_own_date() -> None:
    """A server whose clock runs three hours ahead gets the 5 seconds it meant, not 3 hours."""
    ahead = NOW + 3 * 3600
    headers = {
        "Date": email.utils.formatdate(ahead, usegmt=True),
        "Retry-After": email.utils.formatdate(ahead + 5, usegmt=True),
    }
    assert 5.0 == parse_rate_limit(headers, now=NOW).retry_after


def test_without_a_date_header_an_http_date_is_measured_against_the_wall_clock() -> None:
    """No Date: the client's own wall clock is the reference."""
    headers = {"Retry-After": email.utils.formatdate(NOW + 7, usegmt=True)}
    assert 7.0 == parse_rate_limit(headers, now=NOW).retry_after


def test_an_unreadable_date_header_falls_back_to_the_wall_clock() -> None:
    """A Date that cannot be read is ignored."""
    headers = {"Date": "yesterday", "Retry-After": email.utils.formatdate(NOW + 7, usegmt=True)}
    assert 7.0 == parse_rate_limit(headers, now=NOW).retry_after


def test_an_error_message_is_bounded_whatever_the_server_writes() -> None:
    """A 60 KB message: str(error) stays within 1 KiB; api_message and body keep 4 KiB."""
    huge = "x" * 60_000
    body = b'{"code": 500, "message": "%s"}' % huge.encode()
    error = error_for_response(_response(500, body), RateLimit())
    assert error is not None
    assert len(str(error)) <= 1024
    assert error.api_message is not None
    assert 1024 < len(error.api_message) <= 4096
    assert len(error.body) <= 4096


def test_a_404_names_the_contact() -> None:
    """NotFoundError says which contact was not found."""
    url = "https://h/v1/contact/email:a%2Fb@c.io/message/list?limit=10"
    response = Response(
        status=404, headers={}, body=b'{"code":404,"message":"Contact not found."}', url=url
    )
    error = error_for_response(response, RateLimit())
    assert isinstance(error, NotFoundError)
    assert "HTTP 404: Contact not found. (contact 'email:a/b@c.io')" == str(error)


def test_a_404_on_a_base_url_without_a_version_says_so() -> None:
    """A base URL lacking /v1: the 404 says which base URL was meant."""
    url = "http://127.0.0.1:8080/contact/id:1/message/list"
    error = error_for_response(Response(status=404, headers={}, body=b"", url=url), RateLimit())
    assert error is not None
    assert "has no API version prefix: did you mean 'http://127.0.0.1:8080/v1'?" in str(error)


def _response(status: int, body: bytes) -> Response:
    return Response(status=status, headers={"Retry-After": "2"}, body=body, url="https://h/v1/x")


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        pytest.param(400, BadRequestError, id="400"),
        pytest.param(401, AuthenticationError, id="401"),
        pytest.param(403, PermissionDeniedError, id="403"),
        pytest.param(404, NotFoundError, id="404"),
        pytest.param(429, RateLimitError, id="429"),
        pytest.param(500, InternalServerError, id="500"),
        pytest.param(503, InternalServerError, id="503"),
        pytest.param(418, APIStatusError, id="418"),
        pytest.param(302, APIStatusError, id="redirect"),
    ],
)
def test_statuses_map_to_typed_errors(status: int, cls: type[APIStatusError]) -> None:
    """Each documented status becomes its error class, carrying status, code and message."""
    error = error_for_response(
        _response(status, b'{"code": %d, "message": "Nope"}' % status), RateLimit()
    )
    assert cls is type(error)
    assert error is not None
    assert (status, status, "Nope") == (error.status, error.code, error.api_message)


def test_a_429_carries_retry_after() -> None:
    """RateLimitError carries retry_after and when to retry."""
    error = error_for_response(_response(429, b"{}"), RateLimit(retry_after=2.0))
    assert isinstance(error, RateLimitError)
    assert 2.0 == error.retry_after
    assert error.retry_at is not None


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        pytest.param(b"<html>502 Bad Gateway</html>", None, None, id="not-json"),
        pytest.param(
            b'{"code": "E42", "message": {"detail": "x"}}', "E42", '{"detail":"x"}', id="odd-types"
        ),
        pytest.param(b"[1, 2]", None, None, id="not-an-object"),
        pytest.param(b'{"code": true}', None, None, id="boolean-code"),
    ],
)
def test_error_bodies_are_parsed_defensively(
    body: bytes, code: object, message: str | None
) -> None:
    """Odd error bodies still give a typed error with the excerpt of the body."""
    error = error_for_response(_response(502, body), RateLimit())
    assert error is not None
    assert (code, message, body.decode()) == (error.code, error.api_message, error.body)


def test_a_success_is_not_an_error() -> None:
    """2xx classifies as no error."""
    assert error_for_response(_response(200, b"{}"), RateLimit()) is None
