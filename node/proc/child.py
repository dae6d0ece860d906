"""What the node's child processes (RPC batch workers, the execution process) share: their output goes nowhere,
and each serves requests from its one pipe until the node says stop or is gone."""

from __future__ import annotations

import os
from collections.abc import Iterator
from multiprocessing.connection import Connection


def silence_output() -> None:
    """The node's log pipe stays the node's: a reader waiting for its end is not held up by a child."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)


def requests(conn: Connection) -> Iterator[object]:
    """Each request the node sends, until None (stop) or the end of the pipe (the node is gone)."""
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        yield request
