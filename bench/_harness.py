"""
The one harness of every benchmark: scales, rounds and medians, CPU and wall timing, the fake
server in a process of its own, fresh child processes, and the markdown they all report in.

Rules:

1. Every figure is the median of `scale.runs` runs (`scale.e2e_runs` end to end). The
   variants of one benchmark run interleaved, round by round and each round in a shuffled
   order, so drift on a noisy machine hits them all alike; ratios are taken between variants
   of the same run only.
2. The fake server never shares a process (or a GIL) with a client being measured: it runs
   as `python -m bench._server`, and a client's CPU is its own process's `process_time()`.
3. A measurement that must start from a clean heap (memory) runs in a fresh child process
   (`run_child`), which prints one JSON object as its last line.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import attrs

__all__ = [
    "FULL",
    "PAGE_SIZE",
    "QUICK",
    "ROOT",
    "SMOKE",
    "TOKEN",
    "Cost",
    "Goal",
    "Scale",
    "Section",
    "Server",
    "ServerCounts",
    "median",
    "ratio",
    "ratio_range",
    "rounds",
    "run_child",
    "stopwatch",
]

K = TypeVar("K")
R = TypeVar("R")

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
PAGE_SIZE = 50


@attrs.frozen(kw_only=True)
class Scale:
    """
    How big each benchmark runs.

    Attributes:
        name: `full`, `quick` or `smoke`.
        runs: Runs per figure (the median is reported).
        e2e_runs: Runs per end-to-end figure: its ratios to the floor sit close to a goal's
            threshold and move most from round to round, so they get more runs.
        decode_batch: Page decodes timed together in one decode run.
        contacts: Contacts of the end-to-end dataset.
        messages: Messages per contact (`messages / 50` pages each).
        concurrency: Contacts listed at once.
        rate_seconds: Length of one rate-limit run.
        rate_limit: The server's limit, requests per second.
        memory_sizes: Messages listed by each memory run.
    """

    name: str
    runs: int
    e2e_runs: int
    decode_batch: int
    contacts: int
    messages: int
    concurrency: int
    rate_seconds: float
    rate_limit: int
    memory_sizes: tuple[int, ...]


FULL = Scale(
    name="full",
    runs=5,
    e2e_runs=11,
    decode_batch=200,
    contacts=200,
    messages=500,
    concurrency=16,
    rate_seconds=30.0,
    rate_limit=20,
    memory_sizes=(100_000, 1_000_000),
)
QUICK = attrs.evolve(
    FULL,
    name="quick",
    e2e_runs=5,
    decode_batch=50,
    contacts=40,
    rate_seconds=3.0,
    memory_sizes=(10_000, 50_000),
)
SMOKE = Scale(
    name="smoke",
    runs=1,
    e2e_runs=1,
    decode_batch=2,
    contacts=3,
    messages=100,
    concurrency=2,
    rate_seconds=0.3,
    rate_limit=20,
    memory_sizes=(200, 400),
)


def median(values: Iterable[float]) -> float:
    """
    The median of the runs of one figure.
    """
    return statistics.median(values)


def ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """
    The median of the per-round ratios of two variants (rule 1: ratios within a round only).
    """
    return median(n / d for n, d in zip(numerators, denominators, strict=True))


def ratio_range(numerators: Sequence[float], denominators: Sequence[float]) -> tuple[float, float]:
    """
    The lowest and the highest per-round ratio of two variants: how far one round strays.
    """
    ratios = [n / d for n, d in zip(numerators, denominators, strict=True)]
    return min(ratios), max(ratios)


def rounds(variants: Mapping[K, Callable[[], R]], runs: int) -> dict[K, list[R]]:
    """
    Run every variant `runs` times, interleaved round by round, each round in an order of its
    own (seeded, so a run can be repeated): a rotation would keep every variant behind the
    same neighbour, whose after-effects (a server still closing connections, a heap to
    collect) would then fall on it every round.

    Returns:
        The results of each variant, in round order.
    """
    names = list(variants)
    shuffler = random.Random(len(names) * 1_000 + runs)
    results: dict[K, list[R]] = {name: [] for name in names}
    for _ in range(runs):
        order = names.copy()
        shuffler.shuffle(order)
        for name in order:
            results[name].append(variants[name]())
    return results


@attrs.frozen
class Cost:
    """
    Wall-clock and CPU seconds (this process's CPU only) of one measured stretch.
    """

    wall: float
    cpu: float


class stopwatch:
    """
    Measure wall and CPU time of a `with` block: `with stopwatch() as watch: ...; watch.cost`.
    """

    def __init__(self) -> None:
        self.cost = Cost(0.0, 0.0)

    def __enter__(self) -> stopwatch:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cost = Cost(time.perf_counter() - self._wall, time.process_time() - self._cpu)


@attrs.frozen(kw_only=True)
class ServerCounts:
    """
    What the fake server has answered so far.
    """

    requests: int
    ok: int
    rate_limited: int

    def __sub__(self, earlier: ServerCounts) -> ServerCounts:
        return ServerCounts(
            requests=self.requests - earlier.requests,
            ok=self.ok - earlier.ok,
            rate_limited=self.rate_limited - earlier.rate_limited,
        )


class Server:
    """
    The fake server in a child process (rule 2), for a `with` block.

    Args:
        contacts: Ordinary contacts of the dataset (`id:1` ...).
        messages: Messages per contact.
        rate_limit: Requests per second the server admits (a bucket of that size refilled
            over one second), or `None` for no limit.

    It accepts any token, so a run with a token of its own starts with a full bucket, and
    caches every page, so after one pass it serves bytes and is never the bottleneck.
    """

    def __init__(self, *, contacts: int, messages: int, rate_limit: int | None = None) -> None:
        self.config = {"contacts": contacts, "messages": messages, "rate_limit": rate_limit}
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Server:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench._server", json.dumps(self.config)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._process = process
        assert process.stdout is not None
        self.url = process.stdout.readline().strip()
        if not self.url:
            self.__exit__(None, None, None)
            raise RuntimeError("the benchmark server did not start")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def counts(self) -> ServerCounts:
        """
        The server's counters now (call it between runs, never inside an event loop).
        """
        root = self.url.removesuffix("/v1")
        with urllib.request.urlopen(f"{root}/bench/stats", timeout=10) as response:
            data = json.load(response)
        return ServerCounts(**data)


def run_child(module: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """
    Run `python -m <module> '<config as JSON>'` in a fresh process (rule 3).

    Returns:
        The JSON object the child printed last.
    """
    done = subprocess.run(
        [sys.executable, "-m", module, json.dumps(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@attrs.frozen(kw_only=True)
class Goal:
    """
    One goal of the issue, and whether this run met it.
    """

    text: str
    met: bool
    measured: str


@attrs.frozen(kw_only=True)
class Section:
    """
    One benchmark's part of `bench/RESULTS.md`.
    """

    title: str
    intro: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    goals: tuple[Goal, ...] = ()
    notes: tuple[str, ...] = ()

    def markdown(self) -> str:
        lines = [f"## {self.title}", "", self.intro, ""]
        lines.append("| " + " | ".join(self.header) + " |")
        lines.append(
            "|" + "|".join("---" if i == 0 else "--:" for i in range(len(self.header))) + "|"
        )
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.goals:
            lines.append("")
            for goal in self.goals:
                mark = "met" if goal.met else "**missed**"
                lines.append(f"- Goal: {goal.text}: {mark} ({goal.measured}).")
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"
