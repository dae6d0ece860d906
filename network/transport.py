"""Transports that need no network: the Transport protocol itself is in network/abc.py."""

from __future__ import annotations

from network.abc import Transport, TransportHandler

__all__ = ["LoopbackTransport", "Transport"]


class LoopbackTransport:
    """A validator with no peers (n = 1): nothing leaves the process and nothing arrives.

    The core already counts its own votes, so a lone validator needs no echo of its broadcasts."""

    def __init__(self) -> None:
        self.sent = 0

    def send(self, peer: bytes, payload: bytes) -> None:
        self.sent += 1

    def broadcast(self, payload: bytes) -> None:
        self.sent += 1

    def disconnect(self, peer: bytes, reason: str) -> None:
        pass

    def set_handler(self, handler: TransportHandler) -> None:
        pass
