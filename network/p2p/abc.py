"""What the p2p host needs from its node and what it hands back: peers, channels, ledger groups and their
membership views."""

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


@dataclass(frozen=True, slots=True)
class GroupTag:
    """A ledger group as the wire names it; both ends of a session agree on these for every group they share."""

    name: str
    chain_id: int  # names the group in every frame
    genesis_hash: bytes


# Raises NotAMember (or another NetworkError) if the group's chain, at its head, does not admit this identity.
MembershipView = Callable[[NodeIdentity], None]
Inbound = Callable[[bytes, bytes], None]  # (sender address, payload)
PeerEvent = Callable[[NodeIdentity], None]


def admit_everyone(identity: NodeIdentity) -> None:
    """A membership view for tests of the transport alone: the certificate is the only check."""
