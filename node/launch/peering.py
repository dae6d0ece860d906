"""What a peered node adds to the launch sequence: its groups' chains wired to one mutual-TLS p2p host.

Every node, validator or observer, runs the network's ConsensusDriver (QBFT and block sync, network/driver.py)
per ledger group, over that group's consensus channel on the host: a validator votes, an observer (not in the
validator set) follows the same messages and syncs finalized blocks, seals checked and re-executed, but never
votes. The host carries a group's frames to and from only the peers that group's own registry admits
(network/p2p/groups.py), so a node outside a group never sees its data. Validators gossip the txs their clients
send, per group; an observer refuses every write. After each of a group's blocks its membership view is
refreshed (a member suspended there loses that group, keeps the others) and the finality of this node's own
txs is measured. A config without groups is one group, DEFAULT_GROUP.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from network.abc import Transport
from network.p2p.abc import Channel, GroupTag, StaticPeer
from network.p2p.channel import ChannelTransport
from network.p2p.host import HostConfig, P2PHost
from network.pki.tls import TlsFiles
from network.qbft.crypto import Signer
from node.chain.block import Block
from node.chain.receipt import Receipt
from node.config import NodeConfig
from node.engine.chain_engine import ChainEngine
from node.engine.chain_parts import ChainParts
from node.launch.metrics import GroupSeries
from node.p2p.membership import ChainMembership
from node.p2p.tx_gossip import TxGossip
from node.rpc.backend.api import JsonDict
from node.rpc.backend.engine_backend import EngineBackend
from node.rpc.backend.peer_backends import GossipingBackend, ObserverBackend

log = logging.getLogger("colend.node")


def open_peering(config: NodeConfig, chains: Sequence[tuple[str, ChainParts]], signer: Signer) -> Peering | None:
    """A peered node's p2p parts for its groups' chains, or None for a lone node (no `[p2p]` in its config)."""
    return Peering(config, chains, signer) if config.p2p is not None else None


def tls_files(config: NodeConfig) -> TlsFiles:
    """The node's certificate chain, key, CA and CRL, as its `[p2p]` section names them."""
    p2p = config.p2p
    assert p2p is not None
    return TlsFiles(config.path(p2p.tls_cert), config.path(p2p.tls_key), config.path(p2p.tls_ca),
                    config.path(p2p.tls_crl) if p2p.tls_crl else None)


def static_peers(config: NodeConfig) -> tuple[StaticPeer, ...]:
    """The peers the node's `[p2p]` section names: where to dial each and who its certificate must say it is."""
    assert config.p2p is not None
    return tuple(StaticPeer(p.url, p.member, bytes.fromhex(p.address[2:])) for p in config.p2p.peers)


def group_tag(name: str, chain: ChainParts) -> GroupTag:
    genesis_hash = chain.store.hash_by_number(0)
    assert genesis_hash is not None, "the chain was opened: block 0 is committed"
    return GroupTag(name, chain.genesis.chain_id, genesis_hash)


@dataclass(frozen=True)
class GroupLink:
    """One group on the host: its registry's view of who may carry it, its tx gossip, its driver's transport."""

    membership: ChainMembership
    gossip: TxGossip
    transport: Transport


class Peering:
    """The p2p host, and each group's link on it."""

    def __init__(self, config: NodeConfig, chains: Sequence[tuple[str, ChainParts]], signer: Signer) -> None:
        p2p = config.p2p
        assert p2p is not None
        self.config = config
        memberships = {name: ChainMembership(chain.read_view) for name, chain in chains}
        self.host = P2PHost(HostConfig(p2p.host, p2p.port, static_peers(config)), tls_files(config), signer,
                            [(group_tag(name, chain), memberships[name]) for name, chain in chains])
        self.links = {name: self._link(name, chain, memberships[name]) for name, chain in chains}

    def _link(self, name: str, chain: ChainParts, membership: ChainMembership) -> GroupLink:
        gossip = TxGossip(chain.front, self.host, name, pool=self.config.role != "observer")
        return GroupLink(membership, gossip, ChannelTransport(self.host, name, Channel.CONSENSUS))

    def add_group(self, name: str, chain: ChainParts) -> None:
        """Carry one more group on the live host (a group started at runtime)."""
        membership = ChainMembership(chain.read_view)
        self.host.add_group(group_tag(name, chain), membership)
        self.links[name] = self._link(name, chain, membership)

    def remove_group(self, name: str) -> None:
        """Stop carrying a group: its peers go down in it; sessions that carried nothing else close."""
        self.host.remove_group(name)
        self.links.pop(name, None)

    def add_peers(self, config: NodeConfig) -> None:
        """Dial the static peers `config` names that the host does not dial yet (a group added at runtime)."""
        for peer in static_peers(config):
            self.host.add_peer(peer)

    def transport(self, group: str) -> Transport:
        """The group's consensus channel, for its driver."""
        return self.links[group].transport

    def peer_count(self, group: str) -> int:
        """Peers that carry the group (its registry admits them), not every session."""
        return len(self.host.peers(group))

    def backend(self, group: str, chain: ChainParts, round_: Callable[[], int]) -> EngineBackend:
        """An observer's backend refuses writes; a validator's gossips what it admits. Both tell their role."""
        config = self.config
        status: JsonDict = {"role": config.role, "member": config.member_id, "group": group,
                            "peers": lambda: self.peer_count(group), "round": round_, "p2pFrames": self.frames}
        if config.role == "observer":
            return ObserverBackend(chain, node_id=config.node_id, extra_status=status)
        return GossipingBackend(chain, node_id=config.node_id, gossip=self.links[group].gossip, extra_status=status)

    def frames(self) -> JsonDict:
        """The host's frame counters by chain id (decimal), held groups and any other a peer named: what a node
        outside a group can show it never received a frame of it."""
        return {str(chain_id): {"group": c.group, "received": c.received, "sent": c.sent, "refused": c.refused}
                for chain_id, c in sorted(self.host.frame_counts().items())}

    def follow(self, group: str, engine: ChainEngine, series: GroupSeries) -> None:
        """After each of the group's blocks: the finality latency of this node's own txs, then its membership view."""
        engine.on_block(self._after_block(group, series))

    def _after_block(self, group: str, series: GroupSeries) -> Callable[[Block, list[Receipt]], None]:
        link = self.links[group]

        def after(block: Block, _receipts: list[Receipt]) -> None:
            now = time.monotonic()
            for tx in block.txs:
                submitted = link.gossip.submitted_at.pop(tx.hash, None)
                if submitted is not None:
                    series.finality.observe(now - submitted)
            if link.membership.refresh():
                log.info("event=membership_changed group=%s height=%d members=%d", group, block.number,
                         len(link.membership.members))
                self.host.recheck()

        return after

    async def start(self) -> None:
        await self.host.start()

    async def stop(self) -> None:
        await self.host.stop()

    def started_fields(self) -> str:
        """What `event=node_started` says of a peered node, after what every node says."""
        return f" role={self.config.role} member={self.config.member_id} p2p={self.host.port}"
