"""How a validator's consensus messages reach its peers: the one Transport protocol the node drives.

The node's consensus driver only broadcasts opaque bytes and takes in what peers sent; who the peers are,
how they authenticate (mTLS, consortium CA) and how bytes travel is the transport's business, so the p2p
layer, the in-memory test network and a validator with no peers plug into the same driver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

Receive = Callable[[bytes], None]


class Transport(Protocol):
    """Carries consensus messages between validators; best effort (QBFT tolerates loss through round changes)."""

    def broadcast(self, message: bytes) -> None:
        """Send `message` to every other validator; never blocks on a slow peer."""
        ...

    def set_receiver(self, receive: Receive) -> None:
        """Hand every message a peer sends to `receive` (the driver queues it; it may come from any thread)."""
        ...


class LoopbackTransport:
    """A validator with no peers (n = 1): nothing leaves the process and nothing arrives.

    The core already counts its own votes, so a lone validator needs no echo of its broadcasts."""

    def __init__(self) -> None:
        self.sent = 0

    def broadcast(self, message: bytes) -> None:
        self.sent += 1

    def set_receiver(self, receive: Receive) -> None:
        pass
