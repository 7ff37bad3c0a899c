"""
The `aelyst` command line, run as `python -m aelyst_async` in a real subprocess against the fake
server (served from a thread of the test process).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import click
import orjson
import pytest
from click.testing import CliRunner

from aelyst_async import AelystError, APIConnectionError, APITimeoutError, Identifier
from aelyst_async._cli import INSTALL_HINT
from aelyst_async._cli._app import cli as aelyst_cli
from aelyst_async._cli._demo import describe_rate
from aelyst_async._cli._export import describe_summary, print_failures
from aelyst_async._cli._shared import reports_errors
from aelyst_async._converter import parse_json
from aelyst_async._export import ExportSnapshot, ExportSummary, FailedContact
from aelyst_async._instrument import contact_hash
from aelyst_async.testing import (
    Dataset,
    FakeAelystServer,
    Fault,
    FaultPlan,
    RateLimitConfig,
    ServerOptions,
)

from .forward_proxy import ForwardProxy
from .helpers import ServerThread
from .strategies import typed

TOKEN = "cli-test-token-8e21f7"
DATASET = Dataset(seed=11, contacts=30, messages=(0, 100))
DEMO_CONTACTS = 20
IDENTIFIER = "email:abdc@gmail.com"
"""An identifier of the API's reference page, which every dataset serves."""


pytestmark = pytest.mark.aelyst_server(token=TOKEN, dataset=DATASET)


@pytest.fixture
def server(threaded_server: FakeAelystServer) -> FakeAelystServer:
    """
    The module's server, in a thread: the commands run event loops of their own.
    """
    return threaded_server


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


def interrupt(process: subprocess.Popen[str]) -> tuple[str, str]:
    """
    Ctrl-C, then what the process printed; one that outlives it by 30 s is killed and the
    test fails (leaving the `Popen` block would otherwise wait for it forever).
    """
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"{process.args!r} outlived SIGINT by 30 s")


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
    """`--format table` draws a table with the id, time, traffic, status and message."""
    messages = DATASET.messages("id:3")[:3]
    run = cli("messages", "list", "id:3", "--format", "table", "--max-items", "3", server=server)
    lines = run.stdout.splitlines()
    rows = [line.split() for line in lines if line.strip()[:1].isdigit()]
    assert (
        ["id", "time", "(UTC)", "traffic", "status", "message"],
        [str(m["messageId"]) for m in messages],
    ) == (lines[1].split(), [row[0] for row in rows])


def shown(body: dict[str, Any]) -> str:
    """
    A message body as the table must show it: a text whole, another kind by its name and
    caption.
    """
    if body["type"] == "text":
        return str(body["text"])
    return f"[{body['type']}] {body.get('caption', '')}"


def test_the_table_fits_80_columns_and_shows_every_message_whole(
    server: FakeAelystServer,
) -> None:
    """At 80 columns the table fits, each text is shown whole (wrapped, never cut), and a body
    that is not text shows its kind, `[image] ...`, `[location]`."""
    contacts = ["id:3", DATASET.special.forward_compat]
    runs = [
        aelyst(
            "messages", "list", contact, "--format", "table", server=server, env={"COLUMNS": "80"}
        )
        for contact in contacts
    ]
    flat = ["".join(run.stdout.split()) for run in runs]
    missing = [
        shown(message["message"])
        for contact, text in zip(contacts, flat, strict=True)
        for message in DATASET.messages(contact)
        if "".join(shown(message["message"]).split()) not in text
    ]
    widest = max(len(line) for run in runs for line in run.stdout.splitlines())
    assert ([], True, True) == (missing, widest <= 80, "[location]" in flat[1])


def test_a_reader_that_goes_away_stops_messages_list_quietly() -> None:
    """`aelyst messages list ... | head -1` prints one line, nothing on stderr, and the status
    a shell gives any tool whose pipe closed (141)."""
    options = ServerOptions(token=TOKEN, dataset=DATASET, rate_limit=RateLimitConfig(requests=1))
    with ServerThread(options) as slow:  # a page a second: head is gone before the second
        script = '"$0" messages list id:3 --limit 1 | head -1; echo "status ${PIPESTATUS[0]}" >&2'
        run = subprocess.run(
            ["bash", "-c", script, str(CONSOLE_SCRIPT)],
            capture_output=True,
            text=True,
            env=environment(AELYST_BASE_URL=slow.url, AELYST_TOKEN=TOKEN),
            timeout=60,
            check=False,
        )
    assert ([DATASET.messages("id:3")[0]], "status 141\n") == (
        [orjson.loads(line) for line in run.stdout.splitlines()],
        run.stderr,
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
            "error: HTTP 401: UN_AUTHORIZED (the API refused the token: check --token or "
            "$AELYST_TOKEN)",
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


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            APIConnectionError(
                "cannot connect to 127.0.0.1:9: connection refused", unreachable=True
            ),
            "error: cannot connect to 127.0.0.1:9: connection refused "
            "(is the server up? check --base-url or $AELYST_BASE_URL)",
        ),
        (
            APITimeoutError("GET /v1/contact/{identifier}/message/list: read timeout"),
            "error: GET /v1/contact/{identifier}/message/list: read timeout",
        ),
    ],
    ids=["unreachable", "slow"],
)
def test_an_unreachable_server_error_says_which_options_to_check(
    error: AelystError, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server that cannot be reached at all names --base-url; a slow one does not."""

    def command() -> None:
        raise error

    with pytest.raises(click.exceptions.Exit):
        reports_errors(command)()
    assert [line] == capsys.readouterr().err.splitlines()


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
    """Failed contacts are listed on stderr at the end, a 404 and a malformed identifier as
    permanent failures that `--resume` does not retry; the exit status is 3."""
    contacts = ["id:1", "id:999999", "bogus", "id:2"]
    out = tmp_path / "messages.jsonl"
    run = aelyst(
        "export", "--contacts", str(contacts_file(tmp_path, contacts)), "--out", str(out),
        "--progress", "none", server=server,
    )  # fmt: skip
    assert (3, truth(contacts)) == (run.returncode, written(out))
    assert [
        "2 contacts failed permanently (--resume does not retry them):",
        "  id:999999: NotFoundError: HTTP 404: Contact not found. (contact 'id:999999')",
        "  bogus: InvalidArgumentError: identifier 'bogus' is not of a known kind; expected "
        "id:123, email:abdc@gmail.com or phone:+60121233112",
    ] == run.stderr.splitlines()


def summary_of(*failures: FailedContact, earlier_elapsed: float = 0.0) -> ExportSummary:
    """
    The summary of an export of 5 contacts to `messages.jsonl`, 12.5 s in all runs.
    """
    snapshot = ExportSnapshot(
        contacts_done=5 - len(failures), contacts_failed=len(failures), contacts_total=5,
        contacts_active=0, messages=120, pages=9, requests=10, rate_limited=1, elapsed=12.5,
        earlier_elapsed=earlier_elapsed,
    )  # fmt: skip
    return ExportSummary(
        output=Path("messages.jsonl"),
        checkpoint=Path("messages.jsonl.checkpoint.json"),
        snapshot=snapshot,
        failed=failures,
        resumed=bool(earlier_elapsed),
    )


def test_only_the_contacts_that_failed_for_now_are_offered_to_resume() -> None:
    """A transient failure (a 503) is listed apart from the permanent ones, and the last line
    offers `--resume` for it alone."""
    failures = (
        FailedContact(index=0, identifier="id:7", error="NotFoundError", message="HTTP 404",
                      resume_cursor=None, permanent=True),
        FailedContact(index=3, identifier="id:9", error="InternalServerError", message="HTTP 503",
                      resume_cursor="42"),
    )  # fmt: skip
    stream = io.StringIO()
    print_failures(summary_of(*failures), stream)
    assert [
        "1 contact failed permanently (--resume does not retry them):",
        "  id:7: NotFoundError: HTTP 404",
        "1 contact failed for now:",
        "  id:9: InternalServerError: HTTP 503",
        "run the same command with --resume to retry the 1 contact that failed for now "
        "(every failure is listed in messages.jsonl.checkpoint.json)",
    ] == stream.getvalue().splitlines()


@pytest.mark.parametrize(
    ("earlier", "expected"),
    [
        pytest.param(0.0, "in 12.5s (10 requests", id="first-run"),
        pytest.param(10.0, "in 2.5s (12.5s in all runs) (10 requests", id="resumed"),
    ],
)
def test_the_summary_tells_this_run_s_time_from_all_runs(earlier: float, expected: str) -> None:
    """After a resume, the summary gives this run's time and, apart, all runs'."""
    line = describe_summary(summary_of(earlier_elapsed=earlier))
    assert expected in line, line


def test_export_refuses_to_clobber_an_unfinished_checkpoint(
    server: FakeAelystServer, tmp_path: Path
) -> None:
    """The checkpoint of an export that did not finish stops a run without `--resume`, with
    one line and exit status 1."""
    source, out = contacts_file(tmp_path, ["id:1"]), tmp_path / "messages.jsonl"
    checkpoint = Path(f"{out}.checkpoint.json")
    command = ["export", "--contacts", str(source), "--out", str(out), "--progress", "none"]
    cli(*command, server=server)
    unfinished = orjson.loads(checkpoint.read_bytes())
    checkpoint.write_bytes(orjson.dumps({**unfinished, "complete": False}))
    run = cli(*command, server=server)
    expected = (
        f"error: a checkpoint '{out}.checkpoint.json' exists: resume the export (--resume), "
        "or delete the checkpoint to start over (--force)"
    )
    assert (1, [expected]) == (run.returncode, run.stderr.splitlines())


def test_a_finished_export_run_again_says_it_is_complete(
    server: FakeAelystServer, tmp_path: Path
) -> None:
    """Run again, a finished export says it is complete and exits 0; `--force` starts over."""
    contacts = ["id:1", "id:2"]
    source, out = contacts_file(tmp_path, contacts), tmp_path / "messages.jsonl"
    command = ["export", "--contacts", str(source), "--out", str(out), "--progress", "none"]
    cli(*command, server=server)
    again = cli(*command, server=server)
    forced = cli(*command, "--force", server=server)
    messages = sum(len(DATASET.messages(contact)) for contact in contacts)
    assert (
        0,
        f"the export to {out} is already complete (2 contacts: {messages} messages); "
        "--force starts it over, --resume reads contacts added to the input since\n",
        "",
        0,
        "exported 2 contacts: ",
        truth(contacts),
    ) == (
        again.returncode,
        again.stdout,
        again.stderr,
        forced.returncode,
        forced.stdout[:21],
        written(out),
    )


def test_a_first_export_refused_at_once_leaves_nothing_to_resume(
    server: FakeAelystServer, tmp_path: Path
) -> None:
    """A wrong token fails the first run (exit 1) without a checkpoint: with the right token,
    the same command just runs."""
    source, out = contacts_file(tmp_path, ["id:1"]), tmp_path / "messages.jsonl"
    command = ["export", "--contacts", str(source), "--out", str(out), "--progress", "none"]
    refused = cli(*command, "--token", "wrong-secret-token", server=server)
    left = Path(f"{out}.checkpoint.json").exists()
    run = cli(*command, server=server)
    assert (1, False, 0, truth(["id:1"])) == (
        refused.returncode,
        left,
        run.returncode,
        written(out),
    )


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
        _, interrupted = interrupt(first)
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


def test_demo_ignores_a_proxy_of_the_environment() -> None:
    """`aelyst demo` talks to its own server on 127.0.0.1 even where `HTTP_PROXY` points nowhere."""
    nowhere = "http://127.0.0.1:9"  # the discard port: nothing listens there
    run = aelyst(
        "demo", "--contacts", "5", "--messages", "0-10", "--rate-limit", "1000",
        "--progress", "none",
        env={"HTTP_PROXY": nowhere, "http_proxy": nowhere, "NO_PROXY": "", "no_proxy": ""},
    )  # fmt: skip
    assert (0, "each exactly once") == (run.returncode, run.stdout.rstrip()[-17:])


def test_demo_refuses_to_overwrite_its_out_file_without_force(tmp_path: Path) -> None:
    """`demo --out FILE` stops with one line when FILE exists; with `--force` it overwrites."""
    out = tmp_path / "kept.jsonl"
    out.write_bytes(b"precious\n")
    command = ["demo", "--contacts", "3", "--rate-limit", "1000", "--progress", "none"]
    refused = aelyst(*command, "--out", str(out))
    kept = out.read_bytes()
    forced = aelyst(*command, "--out", str(out), "--force")
    assert (
        1,
        f"error: '{out}' exists: choose another --out, or overwrite it with --force\n",
        b"precious\n",
        0,
        Dataset(seed=0, contacts=3, messages=(0, 100)).total_messages,
    ) == (
        refused.returncode,
        refused.stderr,
        kept,
        forced.returncode,
        len(out.read_bytes().splitlines()),
    )


@pytest.mark.parametrize(
    ("answered", "elapsed", "expected"),
    [
        pytest.param(
            59, 0.4,
            ["  rate         147.5 successful requests/s, the first 50 in a burst (the server's "
             "bucket starts full)",
             "  sustained    not measured: 59 requests are too few beyond the burst of 50 "
             "(export more contacts with --contacts)"],
            id="all-but-a-few-in-the-burst",
        ),
        pytest.param(
            30, 0.0,
            ["  rate         0.0 successful requests/s, the first 50 in a burst (the server's "
             "bucket starts full)",
             "  sustained    not measured: 30 requests are too few beyond the burst of 50 "
             "(export more contacts with --contacts)"],
            id="instant",
        ),
        pytest.param(
            500, 10.0,
            ["  rate         50.0 successful requests/s, the first 50 in a burst (the server's "
             "bucket starts full)",
             "  sustained    45.0 requests/s after the burst = 90% of the 50/s limit"],
            id="ten-seconds",
        ),
    ],
)  # fmt: skip
def test_the_demo_states_a_sustained_rate_only_when_it_measured_one(
    answered: int, elapsed: float, expected: list[str]
) -> None:
    """The demo's rate lines never read "0.0 requests/s = 0%" or "1812% of the limit": a run
    too short to measure past the server's first burst says so."""
    assert expected == describe_rate(answered, elapsed, 50)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        pytest.param(
            ["mock-server", "--faults", "2"],
            "Error: Invalid value for '--faults': rate must be a number from 0 to 1, not 2.0",
            id="mock-server-faults",
        ),
        pytest.param(
            ["mock-server", "--token", ""],
            "Error: Invalid value for '--token': '' is not a token: give one word, without spaces",
            id="mock-server-empty-token",
        ),
        pytest.param(
            ["mock-server", "--messages", "9-3"],
            "Error: Invalid value for '--messages': '9-3' is not N or MIN-MAX with "
            "0 <= MIN <= MAX <= 1,000,000, e.g. 40 or 0-100",
            id="mock-server-messages",
        ),
        pytest.param(
            ["demo", "--messages", "many"],
            "Error: Invalid value for '--messages': 'many' is not N or MIN-MAX with "
            "0 <= MIN <= MAX <= 1,000,000, e.g. 40 or 0-100",
            id="demo-messages",
        ),
        pytest.param(
            ["messages", "list", "id:1", "--cursor", ""],
            "Error: Invalid value for '--cursor': empty; give the cursor a listing printed "
            "(more messages: continue with --cursor ...)",
            id="empty-cursor",
        ),
        pytest.param(
            ["export", "--contacts", "-", "--out", "x.jsonl", "--base-url", "ftp://x"],
            "Error: Invalid value for '--base-url' (env var: 'AELYST_BASE_URL'): 'ftp://x' "
            "must be an absolute http(s) URL",
            id="base-url",
        ),
        pytest.param(
            ["messages", "list", "id:1", "--proxy", "ftp://agent:pr0xy-pass@proxy.internal:2121"],
            "Error: Invalid value for '--proxy': 'ftp://proxy.internal:2121' must be an absolute "
            "http:// or https:// URL",
            id="proxy-without-its-password",
        ),
    ],
)
def test_an_invalid_option_is_a_usage_error_naming_it(args: list[str], error: str) -> None:
    """An option's bad value names the option as typed and exits 2, as click's own checks do."""
    run = aelyst(*args)
    assert (2, error) == (run.returncode, run.stderr.splitlines()[-1])


def test_mock_server_says_where_it_cannot_listen() -> None:
    """An address that is not this machine's is one line naming it, and exit status 1."""
    run = aelyst("mock-server", "--host", "999.1.1.1", "--port", "0")
    assert (1, True) == (
        run.returncode,
        run.stderr.startswith("error: cannot listen on 999.1.1.1:0: "),
    )


def test_mock_server_on_a_port_in_use_says_what_to_do() -> None:
    """A taken port: the reason once, and the options that get around it."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = aelyst("mock-server", "--port", str(port))
    assert (
        1,
        [
            f"error: cannot listen on 127.0.0.1:{port}: address already in use (another "
            "server?): choose another --port, or --port 0"
        ],
    ) == (
        run.returncode,
        run.stderr.splitlines(),
    )


def test_a_cursor_the_api_refuses_is_named_as_the_option(server: FakeAelystServer) -> None:
    """The API's 400 for a made-up cursor points at `--cursor`, not at the SDK's argument."""
    run = cli("messages", "list", "id:3", "--cursor", "abc", server=server)
    assert (
        1,
        "error: HTTP 400: Validation error. (check --cursor abc: it must be one that a listing "
        "printed)\n",
    ) == (run.returncode, run.stderr)


def test_mock_server_prints_its_settings_and_serves_until_ctrl_c() -> None:
    """`mock-server` prints where it listens, its token, rate limit and faults, serves, and
    stops on Ctrl-C."""
    command = [
        str(CONSOLE_SCRIPT), "mock-server", "--port", "0", "--contacts", "3",
        "--messages", "4", "--token", "local-token", "--rate-limit", "7",
    ]  # fmt: skip
    with subprocess.Popen(command, env=environment(), stdout=subprocess.PIPE, text=True) as server:
        assert server.stdout is not None
        banner = [server.stdout.readline() for _ in range(6)]
        url = banner[0].split()[4]
        run = aelyst("messages", "list", "id:2", "--base-url", url, "--token", "local-token")
        interrupt(server)
    assert (
        ["  token: local-token\n", "  rate limit: 7 requests/s per token\n", "  faults: none\n"],
        4,
        0,
    ) == (
        [banner[1], banner[3], banner[4]],
        len(run.stdout.splitlines()),
        server.returncode,
    )


def test_mock_server_states_its_faults() -> None:
    """`--faults` is stated in words in the banner, its default kinds included."""
    command = [str(CONSOLE_SCRIPT), "mock-server", "--port", "0", "--faults", "0.05"]
    with subprocess.Popen(command, env=environment(), stdout=subprocess.PIPE, text=True) as server:
        assert server.stdout is not None
        banner = [server.stdout.readline() for _ in range(5)]
        interrupt(server)
    assert "  faults: about 5% of requests, one of 500, 503, drop, cut_json\n" == banner[4]


def test_mock_server_stops_cleanly_on_sigterm() -> None:
    """SIGTERM (a job runner, `docker stop`) stops it as Ctrl-C does: exit status 0."""
    command = [str(CONSOLE_SCRIPT), "mock-server", "--port", "0"]
    with subprocess.Popen(command, env=environment(), stdout=subprocess.PIPE, text=True) as server:
        assert server.stdout is not None
        server.stdout.readline()  # the banner's first line: it listens
        server.send_signal(signal.SIGTERM)
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
    assert 0 == server.returncode


def test_mock_server_verbose_logs_each_request_without_the_identifier_or_token() -> None:
    """`mock-server -v` logs one line per request served, with the route template and the
    contact's hash (the SDK's), never the identifier or the token."""
    command = [
        str(CONSOLE_SCRIPT), "mock-server", "-v", "--port", "0", "--token", "local-token",
        "--rate-limit", "0",
    ]  # fmt: skip
    with subprocess.Popen(
        command, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as server:
        assert server.stdout is not None
        url = server.stdout.readline().split()[4]
        run = aelyst(
            "messages", "list", "email:abdc@gmail.com", "--limit", "50",
            "--base-url", url, "--token", "local-token",
        )  # fmt: skip
        _, logged = interrupt(server)
    served = [line for line in logged.splitlines() if " served GET " in line]
    expected = (
        f"served GET /v1/contact/{{identifier}}/message/list "
        f"contact=#{contact_hash(Identifier.parse('email:abdc@gmail.com'))} limit=50 "
        "cursor=no status=200 elapsed_ms="
    )
    assert (0, True, False, False) == (
        run.returncode,
        bool(served) and served[0].split("] ", 1)[1].startswith(expected),
        "abdc" in logged,
        "local-token" in logged,
    )


@pytest.mark.parametrize(
    ("args", "page_size"),
    [
        pytest.param(["-vv", "messages", "list", IDENTIFIER, "--limit", "20"], 20, id="group"),
        pytest.param(["messages", "list", IDENTIFIER, "--limit", "20", "-vv"], 20, id="list"),
        pytest.param(
            ["-v", "export", "--contacts", "-", "--out", "{out}", "--progress", "none", "-v"],
            50,
            id="export",
        ),
    ],
)
def test_vv_logs_each_attempt_without_the_token_or_the_identifier(
    server: FakeAelystServer, tmp_path: Path, args: list[str], page_size: int
) -> None:
    """`-vv`, on the group or the command (or `-v` on both), logs the SDK's DEBUG line of each
    attempt on stderr; no line holds the token or the identifier."""
    command = [arg.format(out=tmp_path / "out.jsonl") for arg in args]
    run = aelyst(*command, server=server, stdin=f"{IDENTIFIER}\n")
    attempts = [line for line in run.stderr.splitlines() if " DEBUG aelyst_async" in line]
    pages = max(1, -(-len(DATASET.messages(IDENTIFIER)) // page_size))
    assert (0, pages, False, False) == (
        run.returncode,
        len(attempts),
        "abdc" in run.stderr,
        TOKEN in run.stderr,
    )


def test_the_demo_takes_vv_too() -> None:
    """`aelyst demo -vv` logs the attempts of its export, without an identifier."""
    run = aelyst("demo", "-vv", "--contacts", "2", "--rate-limit", "1000", "--progress", "none")
    attempts = [line for line in run.stderr.splitlines() if " DEBUG aelyst_async" in line]
    assert (0, True, False) == (run.returncode, len(attempts) >= 2, "id:" in run.stderr)


def test_v_logs_retries_but_not_each_attempt(tmp_path: Path) -> None:
    """`-v` turns on the SDK's INFO records: a retry is logged, an ordinary attempt is not."""
    options = ServerOptions(
        token=TOKEN, dataset=DATASET, faults=FaultPlan().next(Fault.status(503), times=1)
    )
    with ServerThread(options) as faulty:
        run = aelyst("messages", "list", "id:3", "-v", server=faulty)
    levels = {line.split()[2] for line in run.stderr.splitlines() if line.startswith("[")}
    assert (0, {"INFO"}, False) == (run.returncode, levels, "id:3" in run.stderr)


async def run_aelyst(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """
    Run the `aelyst` console script while this event loop serves (a proxy, say).
    """
    process = await asyncio.create_subprocess_exec(
        str(CONSOLE_SCRIPT), *args, env=environment(**env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, (out + err).decode()


async def test_the_cli_goes_through_the_proxy_of_proxy_or_of_the_environment(
    server: FakeAelystServer,
) -> None:
    """`--proxy URL`, or `HTTP_PROXY` without it, sends every request of the CLI through that
    proxy to the API; `NO_PROXY` bypasses it."""
    env = {"AELYST_BASE_URL": server.url, "AELYST_TOKEN": TOKEN}
    async with ForwardProxy() as given, ForwardProxy() as from_env:
        by_option = await run_aelyst("messages", "list", "id:3", "--proxy", given.url, env=env)
        by_variable = await run_aelyst(
            "messages", "list", "id:3", env={**env, "HTTP_PROXY": from_env.url}
        )
        bypassing = {**env, "HTTP_PROXY": from_env.url, "NO_PROXY": "127.0.0.1"}
        bypassed = await run_aelyst("messages", "list", "id:3", env=bypassing)
    api = server.url.split("://", 1)[1].split("/", 1)[0]
    pages = -(-len(DATASET.messages("id:3")) // 10)
    assert ((0, 0, 0), [api] * pages, [api] * pages) == (
        (by_option[0], by_variable[0], bypassed[0]),
        [seen.host for seen in given.seen],
        [seen.host for seen in from_env.seen],
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
