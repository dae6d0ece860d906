"""What the p2p host needs from its node and what it hands back: peers, channels and the membership view."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from network.pki.identity import NodeIdentity


class Channel(IntEnum):
    """The first byte of every binary frame: which of the node's protocols the payload belongs to."""

    CONSENSUS = 1  # QBFT and block sync, on the lanes network/wire.py multiplexes inside the payload
    TX = 2


@dataclass(frozen=True, slots=True)
class StaticPeer:
    """A peer from the node config: where to dial it and who it must turn out to be."""

    url: str  # wss://host:port/p2p
    member_id: str
    address: bytes


# Raises NotAMember (or another NetworkError) if the chain's head does not admit this identity.
MembershipView = Callable[[NodeIdentity], None]
Inbound = Callable[[bytes, bytes], None]  # (sender address, payload)
PeerEvent = Callable[[NodeIdentity], None]


def admit_everyone(identity: NodeIdentity) -> None:
    """A membership view for tests of the transport alone: the certificate is the only check."""
