"""
The benchmarks at a tiny scale, so they cannot rot: structured results, never timings.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import orjson
import pytest

if not (Path(__file__).resolve().parents[1] / "bench" / "__init__.py").exists():
    pytest.skip("bench/ lives in the source tree only", allow_module_level=True)

from aelyst_async import RateLimit
from aelyst_async._converter import decode_page
from aelyst_async._http import Response
from aelyst_async.testing import Dataset
from bench import deadline, decode, e2e, imports, instructions, memory, quota, ratelimit
from bench.__main__ import END, START, document, write_results
from bench._harness import SMOKE, Section, Server

RIVALS = all(importlib.util.find_spec(name) for name in ("pydantic", "msgspec", "httpx"))


def _renders(section: Section) -> None:
    text = section.markdown()
    assert text.startswith(f"## {section.title}\n")
    assert all(len(row) == len(section.header) for row in section.rows)


def test_decode_times_every_installed_decoder() -> None:
    """Every decoder gets a positive time per page, and the section states the goals."""
    result = decode.run(SMOKE)
    expected = set(decode.decoders())
    assert expected == set(result.seconds)
    assert all(len(runs) == SMOKE.runs and min(runs) > 0 for runs in result.seconds.values())
    section = result.section()
    _renders(section)
    assert (2 if RIVALS else 0) == len(section.goals)


@pytest.mark.skipif(not RIVALS, reason="the bench dependency group is not installed")
@pytest.mark.parametrize(
    "identifier",
    [pytest.param("id:1", id="ordinary"), pytest.param("id:900006", id="forward-compat")],
)
def test_the_rivals_decode_what_the_sdk_decodes(identifier: str) -> None:
    """The pydantic and msgspec models decode a page exactly as the SDK does, unknown values too."""
    from bench._rivals import comparable, msgspec_decoder, pydantic_adapter

    items = Dataset(seed=1, contacts=1, messages=50).messages(identifier)
    body = orjson.dumps({"items": items, "pagination": {"next": "", "previous": ""}})
    page = decode_page(Response(status=200, headers={}, body=body), RateLimit())
    expected = [comparable(m) for m in page.items]
    assert expected == [comparable(m) for m in pydantic_adapter.validate_json(body).items]
    assert expected == [comparable(m) for m in msgspec_decoder.decode(body).items]


def test_end_to_end_lists_every_message_with_every_client() -> None:
    """Every client lists the whole dataset, and sections 2 and 5 cover each of them."""
    result = e2e.run(SMOKE)
    messages = SMOKE.contacts * SMOKE.messages
    assert {e2e.FLOOR, e2e.SDK, e2e.SDK_LIMITER} <= set(result.runs)
    for runs in result.runs.values():
        assert [messages] * SMOKE.e2e_runs == [r.tally.messages for r in runs]
        assert all(r.cost.cpu > 0 and r.decode > 0 for r in runs)
    for section in result.sections():
        _renders(section)
        assert len(result.runs) == len(section.rows)


def test_rate_limit_counts_successes_and_429s_on_the_server() -> None:
    """Both clients get requests through the limited server, counted by the server."""
    result = ratelimit.run(SMOKE)
    assert {ratelimit.SDK, ratelimit.NAIVE} == set(result.runs)
    for runs in result.runs.values():
        assert all(r.ok > 0 and r.rate_limited >= 0 and r.seconds > 0 for r in runs)
    _renders(result.section())


def test_memory_runs_each_size_in_a_child_process() -> None:
    """Each size is listed in full by a child process that reports its RSS."""
    result = memory.run(SMOKE)
    assert set(SMOKE.memory_sizes) == set(result.runs)
    for size, reports in result.runs.items():
        assert [size] * SMOKE.runs == [r["messages"] for r in reports]
        assert all(r["peak"] >= r["baseline"] > 0 for r in reports)
    _renders(result.section())


def test_import_times_each_command_in_a_fresh_interpreter() -> None:
    """Both imports are timed in child processes, paired round by round, against one goal."""
    result = imports.run(SMOKE)
    assert set(imports.COMMANDS) == set(result.seconds)
    assert all(len(runs) == SMOKE.e2e_runs and min(runs) > 0 for runs in result.seconds.values())
    section = result.section()
    _renders(section)
    assert 1 == len(section.goals)


def test_the_results_file_keeps_what_surrounds_the_markers(tmp_path: Path) -> None:
    """Writing results replaces the generated part only, however often it runs."""
    path = tmp_path / "RESULTS.md"
    path.write_text(f"# Results\n\n{START}\nold\n{END}\n\n## Notes kept\n")
    section = Section(title="1. Decode", intro="x", header=("a", "b"), rows=(("1", "2"),))
    for _ in range(2):
        write_results(path, document([section], SMOKE, "python -m bench"))
    text = path.read_text()
    assert (1, 1) == (text.count(START), text.count(END))
    assert text.endswith(f"{END}\n\n## Notes kept\n")
    assert "old" not in text
    assert "| 1 | 2 |" in text


def test_instruction_counting_reads_callgrind_and_runs_each_workload(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each workload lists a small dataset in child mode; the count is read off callgrind."""
    assert 1_234_567 == instructions.collected("==1== Events    : Ir\n==1== Collected : 1234567\n")
    with pytest.raises(RuntimeError, match="no instruction count"):
        instructions.collected("valgrind: command not found")
    chosen = [name for name in instructions.WORKLOADS if RIVALS or "pydantic" not in name]
    with Server(contacts=2, messages=instructions.MESSAGES) as server:
        for name in chosen:
            instructions.main(["--child", name, server.url, "--contacts", "2"])
            assert f"{2 * instructions.MESSAGES // 50} requests per pass" in capsys.readouterr().out


@pytest.mark.slow
def test_the_shared_quota_benchmark_runs_both_ways_and_costs_both_limiters() -> None:
    """4 worker processes through Redis and in-process, and both limiters' costs, reported."""
    result = quota.run(SMOKE)
    assert {quota.REDIS, quota.BEFORE} == set(result.runs)
    assert {quota.IN_PROCESS, quota.SHARED} == set(result.costs)
    assert 2.0 == result.costs[quota.SHARED][0].round_trips
    for section in result.sections():
        _renders(section)


def test_the_deadline_benchmark_reports_both_ways_of_decoding(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`python -m bench.deadline` times the decode thread against inline decoding."""
    deadline.main(["--items", "2000", "--total", "5", "--concurrency", "2", "--runs", "1"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert ["decoding", "decode thread (the SDK)", "inline (before)"] == [
        row.split(" | ")[0].removeprefix("| ") for row in rows if "---" not in row
    ]
