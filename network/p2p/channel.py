"""One channel of one ledger group on the p2p host as the network's Transport (network/abc.py): send, broadcast,
disconnect, and set_handler for messages (with the sender's authenticated address) and peer up/down events,
all of that group alone: its driver sees as peers only the sessions that carry the group."""

from __future__ import annotations

from network.abc import TransportHandler
from network.p2p.abc import Channel
from network.p2p.host import P2PHost
from network.pki.identity import NodeIdentity


class ChannelTransport:
    """Never blocks: the host queues per peer and drops a peer that stops reading."""

    def __init__(self, host: P2PHost, group: str, channel: Channel) -> None:
        self.host = host
        self.group = group
        self.channel = channel
        self._handler: TransportHandler | None = None
        host.on_peer_up(group, self._peer_up)
        host.on_peer_down(group, self._peer_down)

    def broadcast(self, payload: bytes) -> None:
        self.host.broadcast(self.group, self.channel, payload)

    def send(self, peer: bytes, payload: bytes) -> None:
        self.host.send(self.group, peer, self.channel, payload)

    def disconnect(self, peer: bytes, reason: str) -> None:
        """Drops the whole session (every group's): a peer that misbehaves in one group is not trusted in any."""
        self.host.disconnect(peer, reason)

    def set_handler(self, handler: TransportHandler) -> None:
        self._handler = handler
        self.host.on_message(self.group, self.channel, handler.on_message)

    def _peer_up(self, identity: NodeIdentity) -> None:
        if self._handler is not None:
            self._handler.on_peer_connected(identity.address)

    def _peer_down(self, identity: NodeIdentity) -> None:
        if self._handler is not None:
            self._handler.on_peer_disconnected(identity.address)
