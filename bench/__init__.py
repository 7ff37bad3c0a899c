"""
The benchmarks of aelyst-async: `python -m bench` (or `nox -s bench`) from the repository root.

1. `decode`: a 50-message page body into objects, against orjson, msgspec and pydantic.
2. `e2e`: `list_many` over the fake server, against hand-written aiohttp and httpx loops.
3. `ratelimit`: successful requests/s under the server's limit, and 429s.
4. `memory`: peak RSS growth of `list_many` over 100k and 1M messages.
5. Overhead per request outside decoding (from the `e2e` runs).

Benchmarks are not tests: nothing here asserts a timing. `tests/test_bench_smoke.py` runs each
one at a tiny scale so they cannot rot. Results and how to reproduce them: `bench/RESULTS.md`.
"""
