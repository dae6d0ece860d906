"""What a peered node adds to the launch sequence: the chain wired to the mutual-TLS p2p host.

Every node, validator or observer, runs the network's ConsensusDriver (QBFT and block sync, network/driver.py)
over the host's consensus channel: a validator votes, an observer (not in the validator set) follows the
same messages and syncs finalized blocks, seals checked and re-executed, but never votes. Validators gossip
the txs their clients send; an observer refuses every write. After each block the chain's membership view
is refreshed (a suspended member's sessions close) and the finality of this node's own txs is measured.
Today's config is one ledger group, DEFAULT_GROUP, on the host.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

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
from node.launch.metrics import NodeMetrics
from node.p2p.membership import ChainMembership
from node.p2p.tx_gossip import TxGossip
from node.rpc.backend.api import JsonDict
from node.rpc.backend.engine_backend import EngineBackend
from node.rpc.backend.peer_backends import GossipingBackend, ObserverBackend

log = logging.getLogger("colend.node")
DEFAULT_GROUP = "main"  # the one group of a config without groups: every node of the consortium names it alike


def open_peering(config: NodeConfig, chain: ChainParts, signer: Signer) -> Peering | None:
    """A peered node's p2p parts, or None for a lone node (no `[p2p]` in its config)."""
    return Peering(config, chain, signer) if config.p2p is not None else None


def p2p_host(config: NodeConfig, chain: ChainParts, membership: ChainMembership, signer: Signer) -> P2PHost:
    p2p = config.p2p
    assert p2p is not None
    tls = TlsFiles(config.path(p2p.tls_cert), config.path(p2p.tls_key), config.path(p2p.tls_ca),
                   config.path(p2p.tls_crl) if p2p.tls_crl else None)
    genesis_hash = chain.store.hash_by_number(0)
    assert genesis_hash is not None
    peers = tuple(StaticPeer(p.url, p.member, bytes.fromhex(p.address[2:])) for p in p2p.peers)
    return P2PHost(HostConfig(p2p.host, p2p.port, peers), tls, signer,
                   [(GroupTag(DEFAULT_GROUP, chain.genesis.chain_id, genesis_hash), membership)])


class Peering:
    """The p2p host, the chain's membership view it admits peers by, and tx gossip over it."""

    def __init__(self, config: NodeConfig, chain: ChainParts, signer: Signer) -> None:
        self.config = config
        self.membership = ChainMembership(chain.read_view)
        self.host = p2p_host(config, chain, self.membership, signer)
        self.gossip = TxGossip(chain.front, self.host, DEFAULT_GROUP, pool=config.role != "observer")
        self.transport: Transport = ChannelTransport(self.host, DEFAULT_GROUP, Channel.CONSENSUS)  # the driver's

    def peer_count(self) -> int:
        return len(self.host.peers(DEFAULT_GROUP))

    def backend(self, chain: ChainParts, round_: Callable[[], int]) -> EngineBackend:
        """An observer's backend refuses writes; a validator's gossips what it admits. Both tell their role."""
        config = self.config
        status: JsonDict = {"role": config.role, "member": config.member_id, "peers": self.peer_count,
                            "round": round_}
        if config.role == "observer":
            return ObserverBackend(chain, node_id=config.node_id, extra_status=status)
        return GossipingBackend(chain, node_id=config.node_id, gossip=self.gossip, extra_status=status)

    def follow(self, engine: ChainEngine, metrics: NodeMetrics) -> None:
        """After each block: the finality latency of this node's own txs, then the membership view."""
        engine.on_block(self._after_block(metrics))

    def _after_block(self, metrics: NodeMetrics) -> Callable[[Block, list[Receipt]], None]:
        def after(block: Block, _receipts: list[Receipt]) -> None:
            now = time.monotonic()
            for tx in block.txs:
                submitted = self.gossip.submitted_at.pop(tx.hash, None)
                if submitted is not None:
                    metrics.finality.observe(now - submitted)
            if self.membership.refresh():
                log.info("event=membership_changed height=%d members=%d", block.number, len(self.membership.members))
                self.host.recheck()

        return after

    async def start(self) -> None:
        await self.host.start()

    async def stop(self) -> None:
        await self.host.stop()

    def started_fields(self) -> str:
        """What `event=node_started` says of a peered node, after what every node says."""
        return f" role={self.config.role} member={self.config.member_id} p2p={self.host.port}"
