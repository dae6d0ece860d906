"""One channel of the p2p host seen as the consensus Transport (network/transport.py): broadcast + receiver."""

from __future__ import annotations

from network.p2p.abc import Channel
from network.p2p.host import P2PHost
from network.transport import Receive


class ChannelTransport:
    """Carries one protocol's frames (e.g. consensus) over the host; never blocks (the host queues per peer)."""

    def __init__(self, host: P2PHost, channel: Channel) -> None:
        self.host = host
        self.channel = channel

    def broadcast(self, message: bytes) -> None:
        self.host.broadcast(self.channel, message)

    def send(self, address: bytes, message: bytes) -> None:
        self.host.send(address, self.channel, message)

    def set_receiver(self, receive: Receive) -> None:
        self.host.on_message(self.channel, lambda _sender, payload: receive(payload))
