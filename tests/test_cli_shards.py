"""
`aelyst export --shard K/N` and `--limiter redis://...`: N shard exports of one input share one
quota through Redis and together hold each message once; bad values are usage errors.
"""

from __future__ import annotations

import collections
import re
import sys
from pathlib import Path

import orjson
import pytest

from aelyst_async import Shard
from aelyst_async.testing import FakeAelystServer

from .redis_server import RedisServer
from .test_cli import DATASET, TOKEN, cli, contacts_file, truth, written

CONTACTS = list(DATASET.identifiers())


pytestmark = pytest.mark.aelyst_server(token=TOKEN, dataset=DATASET)


def test_the_shards_of_an_export_share_a_quota_and_hold_each_message_once(
    threaded_server: FakeAelystServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    """3 shards on one Redis, each with its own output and checkpoint: their union is exact."""
    source = contacts_file(tmp_path, CONTACTS)
    runs, union = [], collections.Counter[bytes]()
    for index in range(3):
        out = tmp_path / f"messages-{index}.jsonl"
        args = ["--contacts", str(source), "--out", str(out), "--shard", f"{index}/3"]
        limiter: dict[str, str | None] = {"AELYST_LIMITER": redis_server.url}
        runs.append(cli("export", *args, "--progress", "none", server=threaded_server, env=limiter))
        union += written(out)
        checkpoint = tmp_path / f"messages-{index}.jsonl.shard-{index}-of-3.checkpoint.json"
        assert f"{index}/3" == orjson.loads(checkpoint.read_bytes())["shard"]
    assert ([0, 0, 0], truth(CONTACTS)) == ([run.returncode for run in runs], union)


def test_a_shard_exports_only_its_contacts(
    threaded_server: FakeAelystServer, tmp_path: Path
) -> None:
    """`--shard 1/4` exports the contacts `Shard(1, 4)` holds and says how many it exported."""
    source, out = contacts_file(tmp_path, CONTACTS), tmp_path / "messages.jsonl"
    run = cli(
        "export", "--contacts", str(source), "--out", str(out), "--shard", "1/4",
        "--progress", "none", server=threaded_server,
    )  # fmt: skip
    mine = list(Shard(1, 4).select(CONTACTS))
    assert (0, truth(mine), f"exported {len(mine)} contacts") == (
        run.returncode,
        written(out),
        run.stdout.split(":")[0],
    )


def test_messages_list_paces_on_a_shared_limiter(
    threaded_server: FakeAelystServer, redis_server: RedisServer
) -> None:
    """`messages list --limiter redis://...` lists the same messages, paced through Redis."""
    run = cli("messages", "list", "id:3", "--limiter", redis_server.url, server=threaded_server)
    assert (0, DATASET.messages("id:3")) == (
        run.returncode,
        [orjson.loads(line) for line in run.stdout.splitlines()],
    )


@pytest.mark.parametrize(
    ("value", "named"),
    [
        pytest.param(
            "http://localhost:6379/0", "'http://localhost:6379/0' is not a Redis", id="http"
        ),
        pytest.param("localhost:6379", "'localhost:6379' is not a Redis URL", id="no-scheme"),
        pytest.param("redis://h:port/0", "is not a valid URL", id="bad-port"),
        pytest.param("redis:///0", "names no host", id="no-host"),
        pytest.param("redis://h:6379/zero", "'zero', is not a number", id="bad-database"),
        pytest.param(
            "redis://:hunter2@h:6379/x", r"redis://:\*\*\*@h:6379/x", id="password-hidden"
        ),
    ],
)
@pytest.mark.parametrize("command", ["export", "messages"])
def test_a_bad_limiter_url_is_a_usage_error_naming_the_option(
    threaded_server: FakeAelystServer, tmp_path: Path, command: str, value: str, named: str
) -> None:
    """A --limiter that is not a Redis URL exits 2 before any request, naming it and the value."""
    args = (
        [
            "export",
            "--contacts",
            str(contacts_file(tmp_path, CONTACTS)),
            "--out",
            str(tmp_path / "o"),
        ]
        if command == "export"
        else ["messages", "list", "id:3"]
    )
    before = threaded_server.stats.requests
    run = cli(*args, "--limiter", value, server=threaded_server)
    assert (2, True, before) == (
        run.returncode,
        "--limiter" in run.stderr,
        threaded_server.stats.requests,
    )
    assert "hunter2" not in run.stderr
    assert re.search(named, run.stderr), run.stderr


def test_the_limiter_without_the_redis_extra_is_a_usage_error_saying_what_to_install(
    threaded_server: FakeAelystServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without redis-py, --limiter exits 2 naming the option and the extra to install."""
    monkeypatch.setitem(sys.modules, "redis", None)
    run = cli(
        "messages", "list", "id:3", "--limiter", "redis://localhost:6379/0", server=threaded_server
    )
    assert (2, True, True) == (
        run.returncode,
        "--limiter" in run.stderr,
        "pip install 'aelyst-async[redis]'" in run.stderr,
    )


@pytest.mark.parametrize("value", ["4/4", "-1/4", "1/0", "one"])
def test_a_bad_shard_is_a_usage_error_naming_the_option(
    threaded_server: FakeAelystServer, tmp_path: Path, value: str
) -> None:
    """--shard outside 0..N-1, or not K/N, exits 2 naming the option and the value."""
    run = cli(
        "export", "--contacts", str(contacts_file(tmp_path, CONTACTS)), "--out",
        str(tmp_path / "o"), "--shard", value, server=threaded_server,
    )  # fmt: skip
    assert (2, True, True) == (run.returncode, "--shard" in run.stderr, repr(value) in run.stderr)
