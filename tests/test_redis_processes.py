"""
Real worker processes sharing one token through a real Redis, against the fake server with a
strict limit: together exactly the ground truth, at most one 429 each, and a worker killed
with SIGKILL holds up the others for no longer than the bounded time.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from aelyst_async.testing import Dataset, FakeAelystServer, RateLimitConfig

from .helpers import ground_truth
from .redis_server import RedisServer

pytestmark = pytest.mark.slow

TOKEN = "sk-processes-0c7e"
LIMIT = 40  # requests per second, enforced by the fake server on the real clock
ROOT = Path(__file__).resolve().parent.parent


async def start_worker(
    server: FakeAelystServer, contacts: int, index: int, count: int, limiter: str, out: Path
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.redis_worker",
        server.url,
        TOKEN,
        str(contacts),
        str(index),
        str(count),
        limiter,
        str(out),
        cwd=str(ROOT if (ROOT / "tests").is_dir() else Path.cwd()),
    )


async def wait_for_requests(server: FakeAelystServer, count: int) -> None:
    """
    Return once the server has received `count` requests (other processes send them: poll).
    """
    for _ in range(3000):
        if server.stats.requests >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the workers sent {server.stats.requests} requests, not {count}")


async def start_workers(
    server: FakeAelystServer, contacts: int, redis_url: str, tmp_path: Path
) -> tuple[list[asyncio.subprocess.Process], list[Path]]:
    """
    Four workers, shard K of 4 each, and the files they will write.
    """
    outs = [tmp_path / f"worker-{i}.json" for i in range(4)]
    workers = [await start_worker(server, contacts, i, 4, redis_url, outs[i]) for i in range(4)]
    return workers, outs


def reports_and_union(
    outs: list[Path], dataset: Dataset
) -> tuple[list[dict[str, Any]], dict[str, list[Any]]]:
    """
    What each worker wrote, and every contact's messages from all of them together.
    """
    reports = [json.loads(out.read_text("utf-8")) for out in outs]
    got = {i: m for r in reports for i, m in r["got"].items()}
    return reports, {i: got.get(i, []) for i in dataset.identifiers()}


async def test_four_processes_on_one_token_get_exactly_the_data_with_at_most_one_429_each(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """4 processes, one token, one Redis: the union is the ground truth, <= one 429 each."""
    dataset = Dataset(seed=17, contacts=30)
    async with FakeAelystServer(
        token=TOKEN, dataset=dataset, rate_limit=RateLimitConfig(requests=LIMIT)
    ) as server:
        workers, outs = await start_workers(server, 30, redis_server.url, tmp_path)
        codes = await asyncio.wait_for(asyncio.gather(*(w.wait() for w in workers)), 120)
    reports, union = reports_and_union(outs, dataset)
    assert [0] * 4 == codes
    assert ground_truth(dataset, dataset.identifiers()) == union
    assert all(r["rate_limited"] <= 1 for r in reports), [r["rate_limited"] for r in reports]
    assert [0] * 4 == [r["fallback_grants"] for r in reports]


async def test_a_worker_killed_mid_run_holds_the_others_back_only_briefly(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """SIGKILL one of 4 workers: the 3 others go on at the full rate; its shard rerun is exact."""
    dataset = Dataset(seed=17, contacts=160)
    async with FakeAelystServer(
        token=TOKEN, dataset=dataset, rate_limit=RateLimitConfig(requests=LIMIT)
    ) as server:
        workers, outs = await start_workers(server, 160, redis_server.url, tmp_path)
        await wait_for_requests(server, LIMIT)
        os.kill(workers[0].pid, signal.SIGKILL)
        await workers[0].wait()
        # In flight stops counting window/2 after it was due, and at most one reserved
        # token was held: after a second, the others run at the server's full rate.
        loop = asyncio.get_running_loop()
        await asyncio.sleep(1.0)  # allow-sleep: real processes share no clock; bounded
        since, start = server.stats.requests, loop.time()
        await asyncio.sleep(2.0)  # allow-sleep: the rate of real processes, measured
        admitted = server.stats.requests - server.stats.rate_limited - since
        elapsed = loop.time() - start
        busy = [w.returncode is None for w in workers[1:]]  # the measure was of all three
        codes = await asyncio.wait_for(asyncio.gather(*(w.wait() for w in workers[1:])), 120)
        rerun = await start_worker(server, 160, 0, 4, redis_server.url, outs[0])
        codes.append(await asyncio.wait_for(rerun.wait(), 120))
    reports, union = reports_and_union(outs, dataset)
    assert [0] * 4 == codes
    assert ground_truth(dataset, dataset.identifiers()) == union
    assert [True] * 3 == busy
    assert admitted >= 0.9 * LIMIT * elapsed, (admitted, elapsed)
    assert all(r["rate_limited"] <= 1 for r in reports[1:])
