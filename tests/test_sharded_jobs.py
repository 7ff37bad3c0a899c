"""
The sharded export on a real job engine: the arq module of docs/how-to/sharding-an-export.md,
run by 2 arq worker processes on a real Redis, 4 shard jobs, one worker killed with SIGKILL
mid-job; arq runs that job again, it resumes from its checkpoint, and the union is exact.
Stopped with SIGTERM instead, the worker cancels the job, and arq runs it again at once.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import importlib.util
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import psutil
import pytest
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.jobs import Job

from aelyst_async.testing import Dataset, FakeAelystServer, RateLimitConfig

from .redis_server import RedisServer
from .test_docs import ROOT, parse_blocks

pytestmark = pytest.mark.slow

TOKEN = "sk-sharded-jobs-41d2"
DATASET = Dataset(seed=13, contacts=48, messages=(80, 200))
CONTACTS = list(DATASET.identifiers())
SHARDS = 4
PAGE = ROOT / "docs" / "how-to" / "sharding-an-export.md"
JOB_TIMEOUT = 10.0
"""A job takes 2 to 4 s; arq runs a killed worker's job again 10 s after this."""
DEADLINE = 60.0
"""Seconds any one wait may take (the whole run takes about 25)."""


def jobs_module_source() -> str:
    """
    The `export_jobs.py` module the page shows.
    """
    blocks = parse_blocks(PAGE, PAGE.read_text("utf-8"))
    return next(block.code for block in blocks if block.title == "export_jobs.py")


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def truth() -> collections.Counter[bytes]:
    return collections.Counter(
        orjson.dumps({"contact": c, "message": m}, option=orjson.OPT_SORT_KEYS)
        for c in CONTACTS
        for m in DATASET.messages(c)
    )


def written(directory: Path) -> collections.Counter[bytes]:
    lines: collections.Counter[bytes] = collections.Counter()
    for index in range(SHARDS):
        path = directory / f"messages-{index}-of-{SHARDS}.jsonl"
        lines.update(
            orjson.dumps(orjson.loads(line), option=orjson.OPT_SORT_KEYS)
            for line in path.read_bytes().splitlines()
        )
    return lines


def shard_being_written(pid: int, directory: Path) -> int | None:
    """
    The shard whose output the process `pid` has open, once its checkpoint counts messages.
    """
    try:
        names = [Path(f.path).name for f in psutil.Process(pid).open_files()]
    except psutil.Error:
        return None
    for index in range(SHARDS):
        if f"messages-{index}-of-{SHARDS}.jsonl" in names:
            try:
                counters = checkpoint_of(directory, index)["counters"]
            except (OSError, orjson.JSONDecodeError):
                return None
            return index if counters.get("messages") else None
    return None


def checkpoint_of(directory: Path, index: int) -> dict[str, Any]:
    out = f"messages-{index}-of-{SHARDS}.jsonl"
    document: dict[str, Any] = orjson.loads(
        (directory / f"{out}.shard-{index}-of-{SHARDS}.checkpoint.json").read_bytes()
    )
    return document


async def poll(found: Callable[[], int | None], what: str) -> int:
    """
    Poll another process's progress every 10 ms until `found` returns a value.
    """
    for _ in range(int(DEADLINE * 100)):
        value = found()
        if value is not None:
            return value
        await asyncio.sleep(0.01)  # allow-sleep: polling other processes, bounded
    raise AssertionError(f"no {what} in {DEADLINE} s")


@pytest.fixture
async def redis() -> AsyncIterator[RedisServer]:
    """
    A Redis of this test's own: arq's queue must hold only this test's jobs.
    """
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def start_worker(
    directory: Path, number: int, environment: dict[str, str]
) -> asyncio.subprocess.Process:
    """
    `arq export_jobs.WorkerSettings` in `directory`, its log in `worker-N.log` there.
    """
    log = os.open(directory / f"worker-{number}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "arq", "export_jobs.WorkerSettings",
            cwd=directory, env={**os.environ, **environment},
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    finally:
        os.close(log)  # the worker has its own copy


def connected(directory: Path, number: int) -> int | None:
    """
    `number` once that worker has connected to Redis (arq logs the server's version then).
    """
    log = (directory / f"worker-{number}.log").read_bytes()
    return number if b"redis_version=" in log else None


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)  # arq shuts down gracefully
        try:
            await asyncio.wait_for(process.wait(), 10)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()


@pytest.mark.parametrize(
    "stop_signal",
    [
        pytest.param(signal.SIGKILL, id="sigkill"),  # the job reruns when its mark expires
        pytest.param(signal.SIGTERM, id="sigterm"),  # arq cancels it, and it reruns at once
    ],
)
async def test_a_shard_job_whose_worker_is_killed_is_run_again_and_resumes_exactly(
    redis: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop_signal: int
) -> None:
    """2 arq workers, 4 shard jobs, one worker killed mid-job: its job reruns and resumes."""
    (tmp_path / "contacts.txt").write_text("".join(f"{c}\n" for c in CONTACTS), "utf-8")
    (tmp_path / "export_jobs.py").write_text(jobs_module_source(), "utf-8")
    limited = RateLimitConfig(requests=20)  # ~150 requests: about 7 s of work in all
    async with FakeAelystServer(token=TOKEN, dataset=DATASET, rate_limit=limited) as server:
        environment = {
            "AELYST_TOKEN": TOKEN,
            "AELYST_BASE_URL": server.url,
            "REDIS_URL": redis.url,
            "EXPORT_DIR": str(tmp_path),
            "EXPORT_JOB_TIMEOUT": str(JOB_TIMEOUT),
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        workers = [await start_worker(tmp_path, n, environment) for n in range(2)]
        pool: ArqRedis | None = None
        try:
            for n in range(2):  # both take jobs: the victim cannot miss them all
                await poll(functools.partial(connected, tmp_path, n), f"worker {n} up")
            jobs_module = load(tmp_path / "export_jobs.py")
            enqueued = await jobs_module.enqueue_shards(SHARDS)
            victim = workers[0]
            killed = await poll(
                lambda: shard_being_written(victim.pid, tmp_path), "worker 0 mid-job"
            )
            victim.send_signal(stop_signal)
            await victim.wait()
            at_kill = checkpoint_of(tmp_path, killed)["counters"]["messages"]
            pool = await create_pool(RedisSettings.from_dsn(redis.url))
            results: list[dict[str, Any]] = []
            tries: list[int] = []
            for job in enqueued:
                mine = Job(job.job_id, pool)
                results.append(await mine.result(timeout=DEADLINE, poll_delay=0.1))
                info = await mine.info()
                assert info is not None
                tries.append(info.job_try)
        finally:
            if pool is not None:
                await pool.aclose()
            for worker in workers:
                await stop(worker)
    expected_tries = [2 if index == killed else 1 for index in range(SHARDS)]
    assert expected_tries == tries
    assert [index == killed for index in range(SHARDS)] == [r["resumed"] for r in results]
    assert 0 < at_kill < results[killed]["messages"]  # killed mid-job, then finished
    assert ([[]] * SHARDS, truth()) == ([r["failed"] for r in results], written(tmp_path))
