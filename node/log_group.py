"""Which ledger group a thread works for, so that every log line of a group's parts names it.

Each group's consensus thread (block production, import, commit, sync, rounds) binds its group once, and an RPC
worker thread binds the group of the request it dispatches; the node's log handler then writes `group=<name>`
in every line such a thread logs, unless the line names its group itself. Lines of the shared parts (the p2p
host, the event loop) name the group where they concern one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_bound = threading.local()


def bind_group(name: str) -> None:
    """From now on, this thread's log lines carry `group=<name>`."""
    _bound.group = name


def unbind_group() -> None:
    """This thread works for no group any more (a shared worker thread, between requests)."""
    _bound.group = None


def in_group(name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` with this thread bound to group `name` meanwhile (a shared RPC worker thread)."""
    bind_group(name)
    try:
        return fn(*args, **kwargs)
    finally:
        unbind_group()


def bound_group() -> str | None:
    return getattr(_bound, "group", None)


class GroupField(logging.Filter):
    """Sets `record.group` to " group=<name>" on a group's thread ("" elsewhere, or when the line names it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        group = bound_group()
        record.group = "" if group is None or "group=" in str(record.msg) else f" group={group}"
        return True


LOG_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s%(group)s %(message)s"


def log_to_stderr(level: str) -> None:
    """The node's logging: one line per event on stderr, with the group of the thread that logged it."""
    handler = logging.StreamHandler()
    handler.addFilter(GroupField())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
