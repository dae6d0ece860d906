"""The ledger groups a p2p host carries: each group's tag, membership view, routes (one per channel), the
sessions that carry it, its peer events and its frame counters; and which groups admit a peer.

Every binary frame is `[channel: 1 byte][the group's chain id: 8 bytes, big-endian][payload]`. The 9-byte
prefix is the key of the table's routes, so the receiver of a frame, and its group, is one slice and one
dict get away. The table is copy-on-write: writers (add, remove) publish new dicts under a lock, so any
thread may read a snapshot without one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from network.errors import GroupConflict, NetworkError, NoCommonGroup, UnknownGroup
from network.p2p.abc import Channel, GroupTag, Inbound, MembershipView, PeerEvent
from network.pki.identity import NodeIdentity

if TYPE_CHECKING:
    from network.p2p.session import PeerSession

FRAME_PREFIX = 9  # channel byte + chain id
UNNAMED = -1  # the counters' key for frames naming no group (too short), or past MAX_COUNTED_CHAINS
MAX_COUNTED_CHAINS = 1_024  # distinct chain ids counted: a peer inventing chain ids cannot grow the table without end
RETIRED_KEPT_S = 10.0  # how long frames of a removed group, still in flight from peers, are forgiven


def frame_prefix(channel: int, chain_id: int) -> bytes:
    return bytes([channel]) + chain_id.to_bytes(8, "big")


@dataclass(slots=True)
class FrameCounts:
    """One chain id's frames at this host: received (delivered), sent (queued to a peer), refused by code."""

    group: str | None  # None: a chain id this host does not hold
    received: int = 0
    sent: int = 0
    refused: dict[str, int] = field(default_factory=dict)

    def snapshot(self) -> FrameCounts:
        return FrameCounts(self.group, self.received, self.sent, dict(self.refused))


class Route:
    """One channel of one group: its frame prefix and the receiver the node registered (None: dropped)."""

    __slots__ = ("counts", "group", "prefix", "receive")

    def __init__(self, group: Group, channel: int) -> None:
        self.group = group
        self.prefix = frame_prefix(channel, group.tag.chain_id)
        self.receive: Inbound | None = None
        self.counts = group.counts


class Group:
    """A group as the host holds it; `sessions` are the peers it is carried with (both ends admit each other)."""

    def __init__(self, tag: GroupTag, membership: MembershipView, counts: FrameCounts) -> None:
        self.tag = tag
        self.membership = membership
        self.counts = counts
        self.routes = {int(channel): Route(self, channel) for channel in Channel}
        self.prefixes = {channel: route.prefix for channel, route in self.routes.items()}
        self.sessions: dict[bytes, PeerSession] = {}
        self.up: list[PeerEvent] = []
        self.down: list[PeerEvent] = []


class GroupTable:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.groups: dict[str, Group] = {}  # by name; replaced, never mutated, so readers need no lock
        self.routes: dict[bytes, Route] = {}  # by frame prefix; replaced likewise
        self.tags: tuple[GroupTag, ...] = ()
        self.counts: dict[int, FrameCounts] = {}  # by chain id; a held group's survive its removal
        self.retired: dict[int, float] = {}  # chain id -> when it was removed (monotonic)

    def add(self, tag: GroupTag, membership: MembershipView) -> Group:
        with self._lock:
            for held in self.groups.values():
                if tag.name == held.tag.name or tag.chain_id == held.tag.chain_id:
                    raise GroupConflict(f"group {tag.name} (chain id {tag.chain_id}) clashes with {held.tag.name} "
                                        f"(chain id {held.tag.chain_id})")
            counts = self.counts.setdefault(tag.chain_id, FrameCounts(tag.name))
            counts.group = tag.name
            group = Group(tag, membership, counts)
            self.retired.pop(tag.chain_id, None)
            self._publish({**self.groups, tag.name: group})
            return group

    def remove(self, name: str) -> Group:
        with self._lock:
            group = self.get(name)
            self.retired[group.tag.chain_id] = time.monotonic()
            self._publish({n: g for n, g in self.groups.items() if n != name})
            return group

    def _publish(self, groups: dict[str, Group]) -> None:
        self.routes = {route.prefix: route for g in groups.values() for route in g.routes.values()}
        self.tags = tuple(g.tag for g in groups.values())
        self.groups = groups

    def get(self, name: str) -> Group:
        group = self.groups.get(name)
        if group is None:
            raise UnknownGroup(f"this host holds no group {name!r} (it holds {sorted(self.groups)})")
        return group

    def recently_retired(self, chain_id: int) -> bool:
        removed = self.retired.get(chain_id)
        return removed is not None and time.monotonic() - removed < RETIRED_KEPT_S

    def count_refused(self, chain_id: int, code: str) -> None:
        counts = self.counts.get(chain_id)
        if counts is None:
            if len(self.counts) >= MAX_COUNTED_CHAINS:
                chain_id = UNNAMED
            counts = self.counts.setdefault(chain_id, FrameCounts(None))
        counts.refused[code] = counts.refused.get(code, 0) + 1

    def snapshot(self) -> dict[int, FrameCounts]:
        return {chain_id: counts.snapshot() for chain_id, counts in list(self.counts.items())}


def admission(groups: Mapping[str, Group], identity: NodeIdentity,
              peer_held: Mapping[str, GroupTag]) -> tuple[frozenset[str], NetworkError]:
    """The groups both ends hold alike whose membership view admits `identity`, and, for when there are none,
    why (the first view's refusal, or that nothing is shared)."""
    admitted: set[str] = set()
    refusal: NetworkError | None = None
    for name, group in groups.items():
        if peer_held.get(name) != group.tag:
            continue  # the peer does not hold it, or holds another chain under its name: never carried
        try:
            group.membership(identity)
        except NetworkError as exc:
            refusal = refusal or type(exc)(f"group {name}: {exc.message}", code=exc.code)
            continue
        admitted.add(name)
    if refusal is None:
        refusal = NoCommonGroup(f"{identity.member_id} holds none of this node's groups {sorted(groups)}")
    return frozenset(admitted), refusal
