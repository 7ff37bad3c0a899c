"""
8. Import: what `import aelyst_async` costs a program, against `import aiohttp` alone.

Each run is a fresh interpreter (`python -c "import ..."`), timed whole from outside: its CPU
seconds (user and system) as the operating system counts them for the finished child. The two
commands run in pairs, in an order of their own each round, and the figure is the median of the
per-pair ratios.
"""

from __future__ import annotations

import resource
import subprocess
import sys

import attrs

from ._harness import Goal, Scale, Section, median, ratio, ratio_range, rounds

__all__ = ["ImportResult", "run"]

COMMANDS = {
    "aiohttp": "import aiohttp",
    "aelyst_async": "import aelyst_async",
}
"""What each variant imports, the baseline first."""
GOAL = 1.1
"""`import aelyst_async` costs at most this many times `import aiohttp`."""


def _cpu_of(code: str) -> float:
    """
    The CPU seconds of one fresh interpreter running `code`.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@attrs.frozen(kw_only=True)
class ImportResult:
    """
    CPU seconds of each variant, one entry per round.
    """

    seconds: dict[str, list[float]]

    def section(self) -> Section:
        sdk, base = self.seconds["aelyst_async"], self.seconds["aiohttp"]
        found = ratio(sdk, base)
        low, high = ratio_range(sdk, base)
        rows = tuple(
            (f"`{COMMANDS[name]}`", f"{median(runs) * 1000:.0f}", f"{ratio(runs, base):.2f}x")
            for name, runs in self.seconds.items()
        )
        return Section(
            title="8. Import",
            intro=(
                "CPU of a fresh interpreter that imports the package, against one that imports "
                "aiohttp alone; the ratio is the median of paired runs."
            ),
            header=("command", "CPU ms (median)", "ratio to aiohttp"),
            rows=rows,
            goals=(
                Goal(
                    text=f"`import aelyst_async` within {GOAL}x of `import aiohttp`",
                    met=found <= GOAL,
                    measured=f"{found:.2f}x, pairs from {low:.2f}x to {high:.2f}x",
                ),
            ),
        )


def run(scale: Scale) -> ImportResult:
    """
    Time both imports, `scale.e2e_runs` pairs.
    """
    variants = {name: (lambda code=code: _cpu_of(code)) for name, code in COMMANDS.items()}
    return ImportResult(seconds=rounds(variants, scale.e2e_runs))
