"""
The `aelyst` command line, run as `python -m aelyst_async` in a real subprocess against the fake
server (served from a thread of the test process).
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import orjson
import pytest
from click.testing import CliRunner

from aelyst_async._cli import INSTALL_HINT
from aelyst_async._cli._app import cli as aelyst_cli
from aelyst_async._converter import parse_json
from aelyst_async.testing import Dataset, FakeAelystServer, RateLimitConfig, ServerOptions

from .helpers import ServerThread
from .strategies import typed

TOKEN = "cli-test-token-8e21f7"
DATASET = Dataset(seed=11, contacts=30, messages=(0, 100))
DEMO_CONTACTS = 20


@pytest.fixture(scope="module")
def server() -> Iterator[FakeAelystServer]:
    with ServerThread(ServerOptions(token=TOKEN, dataset=DATASET)) as fake:
        yield fake


@pytest.fixture
def limited() -> Iterator[FakeAelystServer]:
    """
    A server limited to 40 requests per second: exports of a few dozen contacts take seconds.
    """
    options = ServerOptions(token=TOKEN, dataset=DATASET, rate_limit=RateLimitConfig(requests=40))
    with ServerThread(options) as fake:
        yield fake


def environment(**extra: str) -> dict[str, str]:
    """
    The environment of a run: no AELYST_* variable unless given, a wide terminal for tables.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("AELYST_")}
    return {**env, "COLUMNS": "200", **extra}


CONSOLE_SCRIPT = Path(sys.executable).parent / "aelyst"
"""The console script pip installed beside this interpreter: the command users run."""


def test_the_console_script_is_installed() -> None:
    """`pip install` puts an `aelyst` command beside the interpreter, and it answers --help."""
    result = subprocess.run(
        [str(CONSOLE_SCRIPT), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (0, True) == (result.returncode, "export" in result.stdout)


def aelyst(
    *args: str,
    server: FakeAelystServer | None = None,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """
    Run the installed `aelyst` console script; with `server`, its URL and token come from the
    environment.
    """
    extra = dict(env or {})
    if server is not None:
        extra = {"AELYST_BASE_URL": server.url, "AELYST_TOKEN": TOKEN, **extra}
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment(**extra),
        timeout=60,
        check=False,
    )


@attrs.frozen
class Run:
    """
    What an in-process run printed, and its exit status.
    """

    returncode: int
    stdout: str
    stderr: str


def cli(*args: str, server: FakeAelystServer, env: dict[str, str | None] | None = None) -> Run:
    """
    Run `aelyst ARGS` in this process with click's runner, where a subprocess adds nothing.
    """
    variables: dict[str, str | None] = {
        name: None for name in os.environ if name.startswith("AELYST_")
    }
    variables.update({"AELYST_BASE_URL": server.url, "AELYST_TOKEN": TOKEN, "COLUMNS": "200"})
    variables.update(env or {})
    result = CliRunner().invoke(aelyst_cli, list(args), env=variables, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def truth(contacts: list[str]) -> collections.Counter[bytes]:
    """
    The lines an export of `contacts` must hold, keys sorted.
    """
    return collections.Counter(
        orjson.dumps({"contact": contact, "message": message}, option=orjson.OPT_SORT_KEYS)
        for contact in contacts
        if DATASET.find(contact) is not None
        for message in DATASET.messages(contact)
    )


def written(path: Path) -> collections.Counter[bytes]:
    """
    The lines of an export's output, keys sorted.
    """
    return collections.Counter(
        orjson.dumps(orjson.loads(line), option=orjson.OPT_SORT_KEYS)
        for line in path.read_bytes().splitlines()
    )


def contacts_file(tmp_path: Path, contacts: list[str]) -> Path:
    """
    A contacts file, one identifier per line.
    """
    path = tmp_path / "contacts.txt"
    path.write_text("".join(f"{contact}\n" for contact in contacts))
    return path


def test_messages_list_prints_the_wire_messages_as_json_lines(server: FakeAelystServer) -> None:
    """`messages list` prints each message as the wire's camelCase JSON, one per line."""
    run = aelyst("messages", "list", "id:3", "--limit", "7", server=server)
    assert (0, DATASET.messages("id:3"), "") == (
        run.returncode,
        [orjson.loads(line) for line in run.stdout.splitlines()],
        run.stderr,
    )


def test_messages_list_prints_each_message_exactly_as_the_api_sent_it(
    server: FakeAelystServer,
) -> None:
    """`--format jsonl` keeps unknown fields at every level and ids sent as numbers."""
    contact = DATASET.special.forward_compat
    run = cli("messages", "list", contact, "--format", "jsonl", server=server)
    assert typed(DATASET.messages(contact)) == typed(
        [parse_json(line.encode()) for line in run.stdout.splitlines()]
    )


def test_max_items_stops_early_and_names_the_cursor_to_go_on(server: FakeAelystServer) -> None:
    """`--max-items` prints that many messages and, on stderr, the cursor of the rest."""
    messages = DATASET.messages("id:3")
    run = cli("messages", "list", "id:3", "--limit", "3", "--max-items", "5", server=server)
    assert (
        messages[:5],
        f"more messages: continue with --cursor {messages[5]['messageId']}\n",
    ) == (
        [orjson.loads(line) for line in run.stdout.splitlines()],
        run.stderr,
    )


def test_cursor_starts_where_it_points(server: FakeAelystServer) -> None:
    """`--cursor` lists from the message it names to the end."""
    messages = DATASET.messages("id:3")
    cursor = str(messages[5]["messageId"])
    run = cli("messages", "list", "id:3", "--cursor", cursor, server=server)
    assert messages[5:] == [orjson.loads(line) for line in run.stdout.splitlines()]


def test_the_table_format_shows_one_row_per_message(server: FakeAelystServer) -> None:
    """`--format table` draws a table with the id, time, traffic, status, type and text."""
    messages = DATASET.messages("id:3")[:3]
    run = cli("messages", "list", "id:3", "--format", "table", "--max-items", "3", server=server)
    rows = [line for line in run.stdout.splitlines() if line.startswith("│")]
    header = next(line for line in run.stdout.splitlines() if "time (UTC)" in line)
    assert ([str(m["messageId"]) for m in messages], ["id", "time (UTC)", "traffic"]) == (
        [row.split("│")[1].strip() for row in rows],
        [cell.strip() for cell in header.split("┃")[1:4]],
    )


@pytest.mark.parametrize(
    ("args", "env", "error"),
    [
        pytest.param(
            ["bogus"],
            {},
            "error: identifier 'bogus' is not of a known kind; expected id:123, "
            "email:abdc@gmail.com or phone:+60121233112",
            id="malformed-identifier",
        ),
        pytest.param(
            ["id:1"],
            {"AELYST_TOKEN": None},
            "error: no API token: pass --token or set AELYST_TOKEN",
            id="no-token",
        ),
        pytest.param(
            ["id:999999"], {}, "error: HTTP 404: Contact not found. (contact 'id:999999')", id="404"
        ),
        pytest.param(
            ["id:1", "--token", "wrong-secret-token"],
            {},
            "error: HTTP 401: UN_AUTHORIZED",
            id="401",
        ),
    ],
)
def test_errors_are_one_line_on_stderr_and_a_non_zero_exit(
    server: FakeAelystServer, args: list[str], env: dict[str, str | None], error: str
) -> None:
    """Bad input, no token and HTTP errors: one line on stderr, no traceback, exit status 1."""
    run = cli("messages", "list", *args, server=server, env=env)
    assert (1, "", [error]) == (run.returncode, run.stdout, run.stderr.splitlines())


def test_the_token_is_never_printed(server: FakeAelystServer) -> None:
    """Neither a rejected token nor the right one shows in any output, help included."""
    runs = [
        cli("messages", "list", "id:1", "--token", "wrong-secret-token", server=server),
        cli("messages", "list", "id:1", "--format", "table", server=server),
        cli("messages", "list", "--help", server=server),
    ]
    printed = "".join(run.stdout + run.stderr for run in runs)
    assert (False, False) == ("wrong-secret-token" in printed, TOKEN in printed)


def test_export_prints_plain_progress_lines_when_not_on_a_terminal(
    limited: FakeAelystServer, tmp_path: Path
) -> None:
    """Off a terminal, `export` prints plain progress lines on stderr, then its summary."""
    contacts = list(DATASET.identifiers())[:12]
    out = tmp_path / "messages.jsonl"
    run = aelyst(
        "export", "--contacts", str(contacts_file(tmp_path, contacts)), "--out", str(out),
        "--limit", "10", "--progress-every", "0", server=limited,
    )  # fmt: skip
    lines = run.stderr.splitlines()
    assert (0, True, True, "\x1b" in run.stderr) == (
        run.returncode,
        len(lines) >= 2 and all(line.startswith("export: ") for line in lines),
        lines[-1].startswith(f"export: {len(contacts)}/{len(contacts)} contacts, "),
        False,
    )
    assert truth(contacts) == written(out)


def test_export_reads_contacts_from_stdin(server: FakeAelystServer, tmp_path: Path) -> None:
    """`--contacts -` reads the identifiers from stdin; the summary goes to stdout."""
    contacts = ["id:1", "id:2", "id:3"]
    out = tmp_path / "messages.jsonl"
    run = aelyst(
        "export", "--contacts", "-", "--out", str(out), "--progress", "none",
        server=server, stdin="# a comment\nid:1\n\nid:2\nid:3\n",
    )  # fmt: skip
    assert (0, "exported 3 contacts: ", truth(contacts)) == (
        run.returncode,
        run.stdout[:21],
        written(out),
    )


def test_export_lists_failed_contacts_and_exits_3(server: FakeAelystServer, tmp_path: Path) -> None:
    """Failed contacts are listed on stderr at the end, and the exit status is 3."""
    contacts = ["id:1", "id:999999", "bogus", "id:2"]
    out = tmp_path / "messages.jsonl"
    run = aelyst(
        "export", "--contacts", str(contacts_file(tmp_path, contacts)), "--out", str(out),
        "--progress", "none", server=server,
    )  # fmt: skip
    assert (3, truth(contacts)) == (run.returncode, written(out))
    assert [
        "2 contacts failed:",
        "  id:999999: NotFoundError: HTTP 404: Contact not found. (contact 'id:999999')",
        "  bogus: InvalidArgumentError: identifier 'bogus' is not of a known kind; expected "
        "id:123, email:abdc@gmail.com or phone:+60121233112",
        "run the same command with --resume to retry them "
        f"(they are listed in {out}.checkpoint.json)",
    ] == run.stderr.splitlines()


def test_export_refuses_to_clobber_a_checkpoint(server: FakeAelystServer, tmp_path: Path) -> None:
    """Run twice without `--resume`: the second run stops with one line and exit status 1."""
    source, out = contacts_file(tmp_path, ["id:1"]), tmp_path / "messages.jsonl"
    command = ["export", "--contacts", str(source), "--out", str(out), "--progress", "none"]
    cli(*command, server=server)
    run = cli(*command, server=server)
    expected = (
        f"error: a checkpoint '{out}.checkpoint.json' exists: resume the export (--resume), "
        "or delete the checkpoint to start over (--force)"
    )
    assert (1, [expected]) == (run.returncode, run.stderr.splitlines())


@pytest.mark.slow
def test_an_export_interrupted_by_ctrl_c_saves_its_checkpoint_and_resumes(
    limited: FakeAelystServer, tmp_path: Path
) -> None:
    """SIGINT stops the export between pages (exit 130); `--resume` finishes it exactly."""
    contacts = list(DATASET.identifiers())[:24]
    out = tmp_path / "messages.jsonl"
    command = [
        str(CONSOLE_SCRIPT), "export", "--contacts",
        str(contacts_file(tmp_path, contacts)), "--out", str(out), "--limit", "10",
        "--progress", "none", "--base-url", limited.url,
    ]  # fmt: skip
    env = environment(AELYST_TOKEN=TOKEN)
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) as first:
        wait_for_messages(out, first)
        first.send_signal(signal.SIGINT)
        _, interrupted = first.communicate(timeout=30)
    second = subprocess.run(
        [*command, "--resume"], env=env, capture_output=True, timeout=60, check=False
    )
    message = "interrupted; the checkpoint is saved: run the same command with --resume to finish"
    assert (130, f"error: {message}\n", 0) == (first.returncode, interrupted, second.returncode)
    assert truth(contacts) == written(out)


def wait_for_messages(out: Path, process: subprocess.Popen[str]) -> None:
    """
    Poll the checkpoint of `out` until it counts messages, while `process` runs (20 s at most).
    """
    checkpoint = Path(f"{out}.checkpoint.json")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, "the export ended before it could be interrupted"
        with contextlib.suppress(OSError, orjson.JSONDecodeError):
            if orjson.loads(checkpoint.read_bytes())["counters"]["messages"]:
                return
        time.sleep(0.01)  # allow-sleep: polling another process for progress, bounded
    raise AssertionError("the export made no progress in 20 s")


def test_demo_exports_and_verifies_against_the_ground_truth() -> None:
    """`aelyst demo` needs no token, exports the fake server and checks every message."""
    run = aelyst(
        "demo", "--contacts", str(DEMO_CONTACTS), "--messages", "0-60", "--rate-limit", "1000",
        "--progress", "lines",
    )  # fmt: skip
    total = Dataset(seed=0, contacts=DEMO_CONTACTS, messages=(0, 60)).total_messages
    lines = run.stdout.splitlines()
    assert (
        0,
        "demo summary",
        f"  verified     all {total:,} messages of the server, each exactly once",
    ) == (
        run.returncode,
        lines[1],
        lines[-1],
    )
    assert ["  contacts", "  messages", "  requests", "  elapsed", "  rate", "  sustained"] == [
        line[:14].rstrip() for line in lines[2:8]
    ]


def test_mock_server_prints_its_url_and_token_and_serves_until_ctrl_c() -> None:
    """`mock-server` prints where it listens and its token, serves, and stops on Ctrl-C."""
    command = [
        str(CONSOLE_SCRIPT), "mock-server", "--port", "0", "--contacts", "3",
        "--messages", "4", "--token", "local-token",
    ]  # fmt: skip
    with subprocess.Popen(command, env=environment(), stdout=subprocess.PIPE, text=True) as server:
        assert server.stdout is not None
        banner = [server.stdout.readline() for _ in range(4)]
        url = banner[0].split()[4]
        run = aelyst("messages", "list", "id:2", "--base-url", url, "--token", "local-token")
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)
    assert ("  token: local-token\n", 4, 0) == (
        banner[1],
        len(run.stdout.splitlines()),
        server.returncode,
    )


def test_the_help_lists_the_commands() -> None:
    """`python -m aelyst_async --help` is the `aelyst` command line."""
    run = aelyst("--help")
    section = run.stdout.split("Commands:")[1].splitlines()
    commands = [line.split()[0] for line in section if line.startswith("  ") and "  " in line[2:]]
    assert (0, ["demo", "export", "messages", "mock-server"]) == (run.returncode, commands)


def test_without_the_cli_extra_main_says_what_to_install() -> None:
    """Without click, `main()` prints one line naming the extra to install, and exits 1."""
    code = "import sys; sys.modules['click'] = None; from aelyst_async._cli import main; main()"
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert (1, INSTALL_HINT + "\n") == (run.returncode, run.stderr)
