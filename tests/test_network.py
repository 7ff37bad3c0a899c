"""
Network settings over real sockets: a forward proxy on 127.0.0.1 that records what it saw,
the proxy environment variables, TLS, default headers and the User-Agent.
"""

from __future__ import annotations

import ssl
import traceback
from collections.abc import AsyncIterator

import aiohttp
import pytest
import trustme
import yarl
from aiohttp.test_utils import TestServer

from aelyst_async import (
    AelystClient,
    APIConnectionError,
    APIStatusError,
    InvalidArgumentError,
    RetryPolicy,
)
from aelyst_async._network import _bypassed, sdk_user_agent
from aelyst_async.testing import Dataset, FakeAelystServer, ServerOptions, create_app

from .forward_proxy import ForwardProxy
from .helpers import list_all

TOKEN = "sk-network-0a9b8c7d"
pytestmark = pytest.mark.aelyst_server(token=TOKEN, dataset=Dataset(seed=9, contacts=5))


@pytest.fixture
async def proxy() -> AsyncIterator[ForwardProxy]:
    async with ForwardProxy() as forward:
        yield forward


def api_host(server: FakeAelystServer) -> str:
    return server.url.split("://", 1)[1].split("/", 1)[0]


async def test_requests_go_through_the_proxy_given(
    server: FakeAelystServer, proxy: ForwardProxy
) -> None:
    """With `proxy=`, every request goes through it, to the API, and the listing is whole."""
    identifier = server.dataset.contact("id:2").email
    async with AelystClient(TOKEN, base_url=server.url, proxy=proxy.url) as client:
        messages = await list_all(client, identifier, limit=3)
    assert server.dataset.messages(identifier) == messages
    assert server.stats.requests == len(proxy.seen) > 1
    assert {api_host(server)} == {seen.host for seen in proxy.seen}
    assert {f"Bearer {TOKEN}"} == {seen.headers["authorization"] for seen in proxy.seen}


async def test_the_proxy_environment_variable_is_honoured(
    server: FakeAelystServer, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`HTTP_PROXY` sends an http:// API's requests through the proxy, as requests does."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    async with AelystClient(TOKEN, base_url=server.url) as client:
        await list_all(client, "id:1")
    assert server.stats.requests == len(proxy.seen) > 0


async def test_a_proxy_variable_without_scheme_means_http(
    server: FakeAelystServer, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`HTTP_PROXY=127.0.0.1:3128` is read as `http://127.0.0.1:3128`."""
    monkeypatch.setenv("http_proxy", proxy.url.removeprefix("http://"))
    async with AelystClient(TOKEN, base_url=server.url) as client:
        await list_all(client, "id:1")
    assert len(proxy.seen) > 0


@pytest.mark.parametrize(
    "no_proxy",
    [
        pytest.param("127.0.0.1", id="host"),
        pytest.param("localhost,127.0.0.1", id="list"),
        pytest.param("*", id="star"),
    ],
)
async def test_no_proxy_bypasses_the_proxy(
    no_proxy: str,
    server: FakeAelystServer,
    proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A host listed in `NO_PROXY` is reached directly."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    async with AelystClient(TOKEN, base_url=server.url) as client:
        await list_all(client, "id:1")
    assert [] == proxy.seen
    assert server.stats.requests > 0


async def test_trust_env_false_ignores_the_environment(
    server: FakeAelystServer, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`trust_env=False` reaches the API directly whatever the environment says."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    async with AelystClient(TOKEN, base_url=server.url, trust_env=False) as client:
        await list_all(client, "id:1")
    assert [] == proxy.seen


async def test_an_explicit_proxy_wins_over_the_environment(
    server: FakeAelystServer, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`proxy=` is used even when `NO_PROXY` lists the host (as httpx's `proxy=` is)."""
    monkeypatch.setenv("NO_PROXY", "*")
    async with AelystClient(TOKEN, base_url=server.url, proxy=proxy.url) as client:
        await list_all(client, "id:1")
    assert len(proxy.seen) > 0


async def test_proxy_credentials_go_to_the_proxy_as_proxy_authorization(
    server: FakeAelystServer,
) -> None:
    """`http://user:pass@proxy` passes the proxy's check; without them, the proxy's 407."""
    async with ForwardProxy(credentials=("agent", "pr0xy-pass")) as guarded:
        with_credentials = guarded.url.replace("http://", "http://agent:pr0xy-pass@")
        async with AelystClient(TOKEN, base_url=server.url, proxy=with_credentials) as client:
            await list_all(client, "id:1")
        assert all(
            seen.headers["proxy-authorization"].startswith("Basic ") for seen in guarded.seen
        )
        async with AelystClient(TOKEN, base_url=server.url, proxy=guarded.url) as client:
            with pytest.raises(APIStatusError) as raised:
                await list_all(client, "id:1")
    assert 407 == raised.value.status


async def test_a_borrowed_session_goes_through_the_proxy_and_stays_open(
    server: FakeAelystServer, proxy: ForwardProxy
) -> None:
    """`session=` with `proxy=`: the requests go through the proxy; the session is still open."""
    async with aiohttp.ClientSession() as session:
        async with AelystClient(
            TOKEN, base_url=server.url, session=session, proxy=proxy.url
        ) as client:
            await list_all(client, "id:1")
        assert not session.closed
    assert len(proxy.seen) > 0


def test_trust_env_with_a_borrowed_session_is_refused() -> None:
    """A borrowed session has its own `trust_env`: setting the client's is an error."""
    with pytest.raises(InvalidArgumentError, match="trust_env"):
        AelystClient(TOKEN, session=object(), trust_env=True)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("proxy", "shown"),
    [
        pytest.param("ftp://proxy", "'ftp://proxy'", id="scheme"),
        pytest.param("socks5://user:s3cret@proxy", "'socks5://proxy'", id="credentials-hidden"),
    ],
)
def test_an_invalid_proxy_is_refused_without_its_credentials(proxy: str, shown: str) -> None:
    """A proxy that is not an http(s) URL raises at once, naming it but not its password."""
    with pytest.raises(InvalidArgumentError, match="proxy") as raised:
        AelystClient(TOKEN, proxy=proxy)
    assert shown in str(raised.value)
    assert "s3cret" not in str(raised.value)


# -- headers ------------------------------------------------------------------------------------


async def test_default_headers_and_the_user_agent_are_sent(
    server: FakeAelystServer, proxy: ForwardProxy
) -> None:
    """Default headers go with every request; `user_agent` follows the SDK's own product token."""
    async with AelystClient(
        TOKEN,
        base_url=server.url,
        proxy=proxy.url,
        default_headers={"X-Team": "growth"},
        user_agent="exporter/2.1",
    ) as client:
        await list_all(client, "id:1")
    seen = proxy.seen[0].headers
    assert "growth" == seen["x-team"]
    assert f"{sdk_user_agent()} exporter/2.1" == seen["user-agent"]
    assert seen["user-agent"].startswith("aelyst-async/")


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Authorization", id="authorization"),
        pytest.param("authorization", id="authorization-lowercase"),
        pytest.param("User-Agent", id="user-agent"),
    ],
)
def test_default_headers_cannot_set_the_token_nor_the_user_agent(name: str) -> None:
    """Authorization and User-Agent in `default_headers` raise, naming the header, not the value."""
    with pytest.raises(InvalidArgumentError, match=name) as raised:
        AelystClient(TOKEN, default_headers={name: "Bearer other-secret"})
    assert "other-secret" not in str(raised.value)


@pytest.mark.parametrize(
    "user_agent",
    [
        pytest.param("app/1.0\r\nX-Injected: 1", id="crlf"),
        pytest.param(b"app/1.0", id="bytes"),
    ],
)
def test_an_invalid_user_agent_is_refused(user_agent: object) -> None:
    """A User-Agent suffix that is not a one-line str raises at once, naming it."""
    with pytest.raises(InvalidArgumentError, match="user_agent"):
        AelystClient(TOKEN, user_agent=user_agent)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-Bad": "a\r\nInjected: yes"}, id="crlf-in-value"),
        pytest.param({"Bad Name": "x"}, id="space-in-name"),
        pytest.param({"X-Number": 1}, id="not-a-str"),
    ],
)
def test_invalid_default_headers_are_refused(headers: dict[str, object]) -> None:
    """A header aiohttp could not send, or one that smuggles another, raises at once."""
    with pytest.raises(InvalidArgumentError, match="default_headers"):
        AelystClient(TOKEN, default_headers=headers)  # type: ignore[arg-type]


# -- TLS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls_server(authority: trustme.CA) -> AsyncIterator[TestServer]:
    """The fake API over https://127.0.0.1, its certificate from a private CA."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    app = create_app(ServerOptions(token=TOKEN, dataset=Dataset(seed=9, contacts=5)))
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server(ssl=server_context)
    try:
        yield test_server
    finally:
        await test_server.close()


@pytest.fixture
def trusting(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return context


def https_url(server: TestServer) -> str:
    return f"https://127.0.0.1:{server.port}/v1"


async def test_ssl_context_trusts_a_private_ca(
    tls_server: TestServer, trusting: ssl.SSLContext
) -> None:
    """`ssl=context` verifies the server against the context's CA; the default refuses it."""
    async with AelystClient(TOKEN, base_url=https_url(tls_server), ssl=trusting) as client:
        assert await list_all(client, "id:1")
    async with AelystClient(
        TOKEN, base_url=https_url(tls_server), retry=RetryPolicy.disabled()
    ) as client:
        with pytest.raises(APIConnectionError, match="TLS certificate was refused"):
            await list_all(client, "id:1")


async def test_ssl_false_does_not_verify(tls_server: TestServer) -> None:
    """`ssl=False` reaches a server whose certificate nobody trusts (never in production)."""
    async with AelystClient(TOKEN, base_url=https_url(tls_server), ssl=False) as client:
        assert await list_all(client, "id:1")


async def test_https_through_the_proxy_is_a_tunnel_that_hides_the_token(
    tls_server: TestServer,
    trusting: ssl.SSLContext,
    proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`HTTPS_PROXY` tunnels https requests with CONNECT: the proxy never sees the token."""
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    async with AelystClient(TOKEN, base_url=https_url(tls_server), ssl=trusting) as client:
        assert await list_all(client, "id:1")
    assert {"CONNECT"} == {seen.method for seen in proxy.seen}
    assert {f"127.0.0.1:{tls_server.port}"} == {seen.host for seen in proxy.seen}
    assert [] == [seen for seen in proxy.seen if "authorization" in seen.headers]


def test_ssl_must_be_a_bool_or_a_context() -> None:
    """Anything else (a path, say) raises at once, naming it."""
    with pytest.raises(InvalidArgumentError, match=r"'/etc/ca\.pem'"):
        AelystClient(TOKEN, ssl="/etc/ca.pem")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "no_proxy", "expected"),
    [
        pytest.param("https://api.aelyst.ai/v1", "api.aelyst.ai", True, id="host"),
        pytest.param("https://api.aelyst.ai/v1", "aelyst.ai", True, id="domain"),
        pytest.param("https://api.aelyst.ai/v1", ".aelyst.ai", True, id="dot-domain"),
        pytest.param("https://api.aelyst.ai/v1", "xaelyst.ai", False, id="not-a-suffix-domain"),
        pytest.param("https://api.aelyst.ai/v1", "api.aelyst.ai:443", True, id="host-port"),
        pytest.param("https://api.aelyst.ai/v1", "api.aelyst.ai:8443", False, id="other-port"),
        pytest.param("http://10.1.2.3:8080/v1", "10.0.0.0/8", True, id="network"),
        pytest.param("http://11.1.2.3:8080/v1", "10.0.0.0/8", False, id="outside-network"),
        pytest.param("https://api.aelyst.ai/v1", " other , API.aelyst.ai ", True, id="list-case"),
        pytest.param("https://api.aelyst.ai/v1", "*", True, id="star"),
        pytest.param("https://api.aelyst.ai/v1", "", False, id="empty"),
    ],
)
def test_no_proxy_is_read_as_requests_reads_it(url: str, no_proxy: str, expected: bool) -> None:
    """Hosts, domains, ports, networks and `*`, comma-separated, in any case."""
    assert expected == _bypassed(yarl.URL(url), no_proxy)


async def test_an_unreachable_proxy_is_a_connection_error_without_secrets(
    server: FakeAelystServer,
) -> None:
    """Nothing listening at the proxy: an APIConnectionError whose whole chain keeps secrets."""
    proxy = "http://agent:pr0xy-pass@127.0.0.1:9"  # nothing listens on the discard port
    async with AelystClient(
        TOKEN, base_url=server.url, proxy=proxy, retry=RetryPolicy.disabled()
    ) as client:
        with pytest.raises(APIConnectionError) as raised:
            await list_all(client, "id:1")
    shown = "".join(traceback.format_exception(raised.value))
    assert "pr0xy-pass" not in shown
    assert TOKEN not in shown


async def test_a_tunnel_refused_by_the_proxy_is_a_connection_error(
    tls_server: TestServer, trusting: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An https API behind a proxy that wants credentials it did not get: APIConnectionError."""
    async with ForwardProxy(credentials=("agent", "pr0xy-pass")) as guarded:
        monkeypatch.setenv("HTTPS_PROXY", guarded.url)
        async with AelystClient(
            TOKEN, base_url=https_url(tls_server), ssl=trusting, retry=RetryPolicy.disabled()
        ) as client:
            with pytest.raises(APIConnectionError, match="Proxy Authentication Required"):
                await list_all(client, "id:1")
    assert ["CONNECT"] == [seen.method for seen in guarded.seen]
