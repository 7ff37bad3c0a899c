"""
The end-to-end workloads counted in CPU instructions instead of seconds.

Usage, from the repository root (needs valgrind; Debian's `valgrind` package):

    python -m bench.instructions [--contacts 20] [--workloads floor,pydantic,sdk]

Rules:

1. `valgrind --tool=callgrind` counts the instructions the client process executes, whatever
   else the machine is doing: the same workload gives the same count within about 1% (how
   many answers the event loop handles per wake-up still depends on timing), where its
   seconds move by up to 2x on this machine. It measures work, not speed
   (cache misses and branch mispredictions cost time and no instructions), so it supports
   the timed figures of `python -m bench`; it never replaces them.
2. The fake server runs natively in its own process (valgrind follows no child), its cache
   filled by one untimed pass; only the client runs under valgrind.
3. Each workload is counted twice, over one pass and over three passes of the dataset, in two
   fresh processes; the difference, over the requests of two passes, is the cost of one
   request with the start-up (interpreter, imports, the first connections) taken out.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence

from . import e2e
from ._clients import identifiers
from ._harness import ROOT, Server

__all__ = ["WORKLOADS", "collected", "main"]

MESSAGES = 500
"""Messages per contact: 10 pages each."""
CONCURRENCY = 16

WORKLOADS: dict[str, str] = {
    "floor": e2e.FLOOR,
    "pydantic": e2e.AIOHTTP_PYDANTIC,
    "sdk": e2e.SDK,
    "sdk-limiter": e2e.SDK_LIMITER,
}
"""The end-to-end benchmark's clients, by their short names on the command line."""


def collected(valgrind_output: str) -> int:
    """
    The instruction count callgrind reports at exit (its `Collected : N` line).
    """
    found = re.search(r"Collected\s*:\s*(\d+)", valgrind_output)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output: {valgrind_output[-300:]}")
    return int(found.group(1))


def _child(workload: str, url: str, contacts: int, passes: int) -> int:
    """
    Run a workload `passes` times (rule 3); returns the requests of one pass.
    """
    pull, _ = e2e.variants(CONCURRENCY)[WORKLOADS[workload]]
    requests = 0
    for _ in range(passes):
        requests = asyncio.run(pull(url, identifiers(contacts))).requests
    return requests


def _count(workload: str, url: str, contacts: int, passes: int) -> int:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    command = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command += [sys.executable, "-m", "bench.instructions", "--child", workload, url]
    command += ["--contacts", str(contacts), "--passes", str(passes)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    return collected(done.stderr)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions")
    parser.add_argument("--contacts", type=int, default=20)
    parser.add_argument("--workloads", default="floor,pydantic,sdk,sdk-limiter")
    parser.add_argument("--child", nargs=2, metavar=("WORKLOAD", "URL"), help=argparse.SUPPRESS)
    parser.add_argument("--passes", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        workload, url = args.child
        print(f"{_child(workload, url, args.contacts, args.passes)} requests per pass")
        return
    chosen = [name.strip() for name in args.workloads.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(WORKLOADS))
    if unknown:
        parser.error(f"unknown workloads: {', '.join(unknown)}")
    per_request: dict[str, float] = {}
    with Server(contacts=args.contacts, messages=MESSAGES) as server:
        requests = _child("floor", server.url, args.contacts, 1)  # fills the server's cache
        for name in chosen:
            once = _count(name, server.url, args.contacts, 1)
            thrice = _count(name, server.url, args.contacts, 3)
            per_request[name] = (thrice - once) / (2 * requests)
    floor = per_request.get("floor")
    print(f"{args.contacts} contacts x {MESSAGES} messages, concurrency {CONCURRENCY}")
    print("| client | instructions per request | vs floor |")
    print("|---|--:|--:|")
    for name, count in per_request.items():
        versus = f"{count / floor:.2f}x" if floor else "-"
        print(f"| {WORKLOADS[name]} | {count:,.0f} | {versus} |")


if __name__ == "__main__":
    main()
