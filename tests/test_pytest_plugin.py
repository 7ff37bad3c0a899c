"""
The pytest plugin, as a user enables it: `pytest_plugins` in a conftest, run by pytester.
"""

from __future__ import annotations

import sys

import pytest

PLUGIN = "aelyst_async.testing.pytest_plugin"
AUTO = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
STRICT = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"


@pytest.fixture
def user(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """
    A user's test directory with the plugin enabled in its conftest and pytest-asyncio's
    auto mode; warnings are errors.
    """
    # As in a user's session, `pytest_plugins` imports the plugin first, so that pytest can
    # rewrite its asserts; pytester restores sys.modules afterwards.
    monkeypatch.delitem(sys.modules, PLUGIN, raising=False)
    monkeypatch.delenv("AELYST_TOKEN", raising=False)
    monkeypatch.delenv("AELYST_BASE_URL", raising=False)
    pytester.makeconftest(f"pytest_plugins = [{PLUGIN!r}]\n")
    pytester.makeini(AUTO)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """
    Run pytest in-process; hypothesis's plugin is left out: its summary would import
    hypothesis afresh in every run (pytester unloads what a run imported), a second each.
    """
    return pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-W", "error", *args
    )


def test_the_client_reads_what_the_server_holds(user: pytest.Pytester) -> None:
    """`aelyst_client` is bound to `aelyst_server`, and reads its dataset."""
    user.makepyfile(
        """
        async def test_it(aelyst_server, aelyst_client):
            for identifier in ["id:1", aelyst_server.dataset.special.many_pages]:
                got = [m.message_id async for m in aelyst_client.messages.list(identifier)]
                want = [w["messageId"] for w in aelyst_server.dataset.messages(identifier)]
                assert want == got
        """
    )
    run(user).assert_outcomes(passed=1)


def test_the_client_ignores_a_proxy_of_the_environment(
    user: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a machine whose `HTTP_PROXY` names a proxy, `aelyst_client` still reaches the server."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    user.makepyfile(
        """
        async def test_it(aelyst_client):
            assert 3 == len([m async for m in aelyst_client.messages.list("id:3", max_items=3)])
        """
    )
    run(user).assert_outcomes(passed=1)


def test_strict_mode_needs_the_asyncio_marker_only(user: pytest.Pytester) -> None:
    """In pytest-asyncio's strict mode, `@pytest.mark.asyncio` tests get the fixtures."""
    user.makeini(STRICT)
    user.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        async def test_it(aelyst_client):
            assert 3 == len([m async for m in aelyst_client.messages.list("id:3", max_items=3)])
        """
    )
    run(user).assert_outcomes(passed=1)


def test_the_defaults(user: pytest.Pytester) -> None:
    """Token, dataset and clock have the documented defaults, shared by server and client."""
    user.makepyfile(
        """
        from aelyst_async.testing import Dataset, FakeClock

        def test_it(aelyst_server, aelyst_client, aelyst_clock, aelyst_token):
            assert "test-token" == aelyst_token == aelyst_server.options.token
            assert Dataset(seed=0, contacts=20) == aelyst_server.dataset
            assert isinstance(aelyst_clock, FakeClock) and aelyst_clock.auto_advance
            assert aelyst_clock is aelyst_server.options.clock
            assert aelyst_server.url == str(aelyst_client.base_url)
            assert aelyst_client.rate_limiter is not None
        """
    )
    run(user).assert_outcomes(passed=1)


def test_retries_take_no_real_time(user: pytest.Pytester) -> None:
    """Backoffs and `Retry-After` run on the fake clock, which records them."""
    user.makepyfile(
        """
        from aelyst_async.testing import Fault

        async def test_it(aelyst_server, aelyst_client, aelyst_clock):
            aelyst_server.faults.next(Fault.status(503), times=2)
            aelyst_server.faults.next(Fault.rate_limited(retry_after=30))
            messages = [m async for m in aelyst_client.messages.list("id:3")]
            assert len(aelyst_server.dataset.messages("id:3")) == len(messages)
            assert 3 == aelyst_client.stats.retries
            assert 30.0 in aelyst_clock.slept
        """
    )
    run(user).assert_outcomes(passed=1)


def test_many_contacts_at_once_under_a_rate_limit(user: pytest.Pytester) -> None:
    """`list_many` with concurrency is paced through the server's rate limit, in fake time."""
    user.makepyfile(
        """
        import pytest
        from aelyst_async import FailureResult
        from aelyst_async.testing import RateLimitConfig

        @pytest.mark.aelyst_server(rate_limit=RateLimitConfig(requests=5, window=1.0))
        async def test_it(aelyst_server, aelyst_client, aelyst_clock):
            identifiers = list(aelyst_server.dataset.identifiers())
            async with aelyst_client.messages.list_many(identifiers, concurrency=8) as stream:
                results = [result async for result in stream]
            assert [] == [r for r in results if isinstance(r, FailureResult)]
            assert set(identifiers) == {r.identifier for r in results if r.done}
            assert 0 == aelyst_server.stats.rate_limited  # paced, on the fake clock
            assert aelyst_clock.monotonic() > 2.5  # 15 requests beyond the burst, at 5 a second
        """
    )
    run(user).assert_outcomes(passed=1)


def test_the_marker_sets_options_of_one_test(user: pytest.Pytester) -> None:
    """`@pytest.mark.aelyst_server(...)` changes that test's server only."""
    user.makepyfile(
        """
        import pytest

        @pytest.mark.aelyst_server(link_style="seed", token="other")
        async def test_marked(aelyst_server, aelyst_client):
            assert "seed" == aelyst_server.options.link_style
            assert 3 == len([m async for m in aelyst_client.messages.list("id:3", max_items=3)])

        async def test_unmarked(aelyst_server):
            assert "canonical" == aelyst_server.options.link_style
            assert "test-token" == aelyst_server.options.token
        """
    )
    run(user).assert_outcomes(passed=2)


def test_the_marker_is_registered(user: pytest.Pytester) -> None:
    """The marker passes `--strict-markers` and is listed by `pytest --markers`."""
    user.makepyfile(
        """
        import pytest

        @pytest.mark.aelyst_server(last_next="null")
        def test_it():
            pass
        """
    )
    run(user, "--strict-markers").assert_outcomes(passed=1)
    run(user, "--markers").stdout.fnmatch_lines(["@pytest.mark.aelyst_server(**options):*"])


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        pytest.param('"seed"', "*keyword arguments only*", id="positional"),
        pytest.param("colour='blue'", "*colour*", id="unknown-option"),
    ],
)
def test_a_bad_marker_fails_the_test(user: pytest.Pytester, marker: str, message: str) -> None:
    """A marker with a positional argument or an unknown option errors, naming it."""
    user.makepyfile(
        f"""
        import pytest

        @pytest.mark.aelyst_server({marker})
        async def test_it(aelyst_server):
            pass
        """
    )
    result = run(user)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([message])


def test_fixtures_are_overridden_in_a_conftest(user: pytest.Pytester) -> None:
    """A conftest fixture of the same name replaces the plugin's, for server and client."""
    user.makeconftest(
        f"""
        import pytest
        from aelyst_async.testing import Dataset

        pytest_plugins = [{PLUGIN!r}]

        @pytest.fixture
        def aelyst_dataset():
            return Dataset(seed=5, contacts=3, messages=2)

        @pytest.fixture
        def aelyst_token():
            return "sesame"
        """
    )
    user.makepyfile(
        """
        from aelyst_async import NotFoundError
        import pytest

        async def test_it(aelyst_server, aelyst_client):
            assert "sesame" == aelyst_server.options.token
            assert 2 == len([m async for m in aelyst_client.messages.list("id:3")])
            with pytest.raises(NotFoundError):
                [m async for m in aelyst_client.messages.list("id:4")]
        """
    )
    run(user).assert_outcomes(passed=1)


def test_each_test_gets_a_fresh_server(user: pytest.Pytester) -> None:
    """Counters and faults do not leak from one test to the next."""
    user.makepyfile(
        """
        import pytest
        from aelyst_async.testing import Fault

        @pytest.mark.parametrize("round", [1, 2])
        async def test_it(aelyst_server, aelyst_client, round):
            assert 0 == aelyst_server.stats.requests
            assert 0 == aelyst_server.faults.pending
            [m async for m in aelyst_client.messages.list("id:1")]
            aelyst_server.faults.next(Fault.status(500), times=50)
        """
    )
    run(user).assert_outcomes(passed=2)


def test_the_environment_points_at_the_server(user: pytest.Pytester) -> None:
    """With `aelyst_env`, code that builds `AelystClient()` talks to the fake server."""
    user.makepyfile(
        """
        import os
        from aelyst_async import AelystClient

        async def test_with_env(aelyst_env):
            async with AelystClient() as client:
                assert str(client.base_url) == aelyst_env.url
                assert 3 == len([m async for m in client.messages.list("id:3", max_items=3)])

        def test_after():
            assert "AELYST_TOKEN" not in os.environ
            assert "AELYST_BASE_URL" not in os.environ
        """
    )
    run(user).assert_outcomes(passed=2)


def test_a_disabled_pytest_asyncio_is_a_usage_error(user: pytest.Pytester) -> None:
    """Without the pytest-asyncio plugin, the session stops at once and says why."""
    user.makepyfile("def test_it(): pass\n")
    result = run(user, "-p", "no:asyncio")
    assert pytest.ExitCode.USAGE_ERROR == result.ret
    result.stderr.fnmatch_lines(["*needs the pytest-asyncio plugin*"])
