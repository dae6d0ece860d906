"""A free loopback TCP port, for the demo, the benchmarks and the tests that start nodes."""

from __future__ import annotations

import socket


def free_loopback_port() -> int:
    """A port the OS just handed out on 127.0.0.1; racy by nature, but bound again at once by the caller."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
