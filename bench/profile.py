"""
One workload for a profiler to wrap (the benchmarks interleave too much to profile whole).

Usage, from the repository root:

    py-spy record -r 500 -f speedscope -o sdk.json -- python -m bench.profile sdk
    python -m pyinstrument -m bench.profile decode

Workloads: `decode` (the SDK's `decode_page` on the decode benchmark's page, 5,000 times);
`sdk` and `floor` (`list_many`, or the hand-written aiohttp + orjson loop, over the end-to-end
dataset `--passes` times; the fake server runs in its own process, which py-spy leaves out
unless given `--subprocesses`).
"""

from __future__ import annotations

import argparse
import asyncio
import time

from . import decode
from ._clients import identifiers, parse_orjson, pull_aiohttp, pull_sdk
from ._harness import FULL, Server


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("workload", choices=("decode", "sdk", "floor"))
    parser.add_argument("--passes", type=int, default=5)
    workload = parser.parse_args()
    start = time.process_time()
    if workload.workload == "decode":
        decode.seconds_per_page(decode.decoders()[decode.SDK], decode.page_body(), 5_000)()
    else:
        scale = FULL
        with Server(contacts=scale.contacts, messages=scale.messages) as server:
            for _ in range(workload.passes):
                if workload.workload == "sdk":
                    run = pull_sdk(
                        server.url, identifiers(scale.contacts), concurrency=scale.concurrency
                    )
                else:
                    run = pull_aiohttp(
                        server.url,
                        identifiers(scale.contacts),
                        parse=parse_orjson,
                        concurrency=scale.concurrency,
                    )
                asyncio.run(run)
    print(f"{workload.workload}: {time.process_time() - start:.2f} s of CPU")


if __name__ == "__main__":
    main()
