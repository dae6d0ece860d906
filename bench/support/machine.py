"""The machine a benchmark ran on: figures mean little without cores, memory, CPU model and load."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

QUIET_IDLE_FRACTION = 0.85  # of all cores, over one second
QUIET_MAX_WAIT_S = 60.0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages: other work on a shared machine skews timings."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def idle_and_total_ticks() -> tuple[int, int] | None:
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    return fields[3] + (fields[4] if len(fields) > 4 else 0), sum(fields)  # idle + iowait, all


def busy_since(before: tuple[int, int] | None) -> float | None:
    """The share of all cores' time spent busy since `before` (an `idle_and_total_ticks()`)."""
    after = idle_and_total_ticks()
    if before is None or after is None or after[1] == before[1]:
        return None
    return round(1 - (after[0] - before[0]) / (after[1] - before[1]), 3)


def wait_until_quiet(max_wait_s: float = QUIET_MAX_WAIT_S) -> float | None:
    """Wait (at most max_wait_s) until the cores are mostly idle for a second: the previous benchmark's
    processes may still be stopping, and a benchmark started then measures them too. Returns the idle
    fraction seen last (None where /proc/stat is not there)."""
    deadline = time.monotonic() + max_wait_s
    while True:
        before = idle_and_total_ticks()
        time.sleep(1.0)
        after = idle_and_total_ticks()
        if before is None or after is None or after[1] == before[1]:
            return None
        idle = (after[0] - before[0]) / (after[1] - before[1])
        if idle >= QUIET_IDLE_FRACTION or time.monotonic() >= deadline:
            return round(idle, 2)


def describe() -> dict[str, object]:
    return {
        "cores": os.cpu_count(),
        "memory_bytes": _memory_bytes(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": load_average(),
    }
