"""One channel of the p2p host as the consensus Transport of network/abc.py: the driver's QBFT and sync
messages travel on it, addressed by validator address; peer sessions coming up and down are its events."""

from __future__ import annotations

from network.abc import TransportHandler
from network.p2p.abc import Channel
from network.p2p.host import P2PHost


class HostTransport:
    """Carries the driver's payloads over the host; never blocks (the host queues per peer)."""

    def __init__(self, host: P2PHost, channel: Channel) -> None:
        self.host = host
        self.channel = channel

    def send(self, peer: bytes, payload: bytes) -> None:
        self.host.send(peer, self.channel, payload)

    def broadcast(self, payload: bytes) -> None:
        self.host.broadcast(self.channel, payload)

    def disconnect(self, peer: bytes, reason: str) -> None:
        self.host.disconnect(peer, reason)

    def set_handler(self, handler: TransportHandler) -> None:
        self.host.on_message(self.channel, handler.on_message)
        self.host.on_peer_up(lambda identity: handler.on_peer_connected(identity.address))
        self.host.on_peer_down(lambda identity: handler.on_peer_disconnected(identity.address))
