"""CPU seconds of a process and of everything it started (a node's execution processes and batch workers),
read from /proc/<pid>/stat: where a benchmark's time went, process by process."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields after the command name (which may hold spaces and parentheses), or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one live process (0 once it exited)."""
    fields = _stat_fields(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime, stime


def parents() -> dict[int, int]:
    """Every live process's parent, by pid."""
    out: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            out[int(entry.name)] = int(fields[1])
    return out


def descendants(pid: int, parent_of: dict[int, int]) -> list[int]:
    """The processes `pid` started, and theirs, from one snapshot of `parents()`."""
    children: dict[int, list[int]] = {}
    for child, parent in parent_of.items():
        children.setdefault(parent, []).append(child)
    out, todo = [], list(children.get(pid, ()))
    while todo:
        child = todo.pop()
        out.append(child)
        todo.extend(children.get(child, ()))
    return out


def tree_cpu(pid: int, parent_of: dict[int, int], labels: dict[int, str], default: str) -> dict[str, float]:
    """CPU seconds of `pid` ("main") and of each descendant under its label (or `default`), summed by label."""
    out = {"main": cpu_seconds(pid)}
    for child in descendants(pid, parent_of):
        label = labels.get(child, default)
        out[label] = out.get(label, 0.0) + cpu_seconds(child)
    return out


def minus(after: dict[str, float], before: dict[str, float], keys: Iterable[str]) -> dict[str, float]:
    """What each label used between two `tree_cpu` readings (a label new since `before` counts from zero)."""
    return {k: after.get(k, 0.0) - before.get(k, 0.0) for k in keys}
