"""One channel of the p2p host as a consensus transport.

It speaks both transport shapes: today's `network.transport.Transport` (broadcast + set_receiver, used by
node/consensus_driver.py) and the peer-addressed one issue 8's driver and sync use (send, broadcast,
disconnect, set_handler with on_message(peer, payload) and peer up/down events), so switching the node to
that driver needs no change here.
"""

from __future__ import annotations

from typing import Protocol

from network.p2p.abc import Channel
from network.p2p.host import P2PHost
from network.pki.identity import NodeIdentity
from network.transport import Receive


class PeerHandler(Protocol):
    def on_peer_connected(self, peer: bytes) -> None: ...

    def on_peer_disconnected(self, peer: bytes) -> None: ...

    def on_message(self, peer: bytes, payload: bytes) -> None: ...


class ChannelTransport:
    """Never blocks: the host queues per peer and drops a peer that stops reading."""

    def __init__(self, host: P2PHost, channel: Channel) -> None:
        self.host = host
        self.channel = channel
        self._handler: PeerHandler | None = None
        host.on_peer_up(self._peer_up)
        host.on_peer_down(self._peer_down)

    def broadcast(self, payload: bytes) -> None:
        self.host.broadcast(self.channel, payload)

    def send(self, peer: bytes, payload: bytes) -> None:
        self.host.send(peer, self.channel, payload)

    def disconnect(self, peer: bytes, reason: str) -> None:
        self.host.disconnect(peer, reason)

    def set_receiver(self, receive: Receive) -> None:
        self.host.on_message(self.channel, lambda _peer, payload: receive(payload))

    def set_handler(self, handler: PeerHandler) -> None:
        self._handler = handler
        self.host.on_message(self.channel, handler.on_message)

    def _peer_up(self, identity: NodeIdentity) -> None:
        if self._handler is not None:
            self._handler.on_peer_connected(identity.address)

    def _peer_down(self, identity: NodeIdentity) -> None:
        if self._handler is not None:
            self._handler.on_peer_disconnected(identity.address)
