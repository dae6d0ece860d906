"""Tx gossip: a tx a client sends to any node reaches every node's pool once.

The node that admits a client's tx broadcasts it to all its peers (static peers form a full mesh, so one
hop reaches every pool); a node that receives one admits it without forwarding. Hashes already seen are
dropped before the signature is even recovered, so a tx sent to several nodes costs each pool one check.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict

from eth_hash.auto import keccak

from network.p2p.abc import Channel
from network.p2p.host import P2PHost
from node.engine import ChainEngine
from node.errors import NodeError

log = logging.getLogger("colend.gossip")
SEEN_LIMIT = 200_000


class TxGossip:
    def __init__(self, engine: ChainEngine, host: P2PHost) -> None:
        self.engine = engine
        self.host = host
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self.submitted_at: OrderedDict[bytes, float] = OrderedDict()  # local submissions, for finality latency
        self.received = 0
        self.rejected = 0
        host.on_message(Channel.TX, self._on_peer_tx)

    def _remember(self, tx_hash: bytes) -> bool:
        """False if seen before."""
        if tx_hash in self._seen:
            return False
        self._seen[tx_hash] = None
        if len(self._seen) > SEEN_LIMIT:
            self._seen.popitem(last=False)
        return True

    def local(self, raw: bytes, tx_hash: bytes) -> None:
        """A client's tx this node admitted: every peer gets it."""
        self._remember(tx_hash)
        self.submitted_at[tx_hash] = time.monotonic()
        if len(self.submitted_at) > SEEN_LIMIT:
            self.submitted_at.popitem(last=False)
        self.host.broadcast(Channel.TX, raw)

    def _on_peer_tx(self, sender: bytes, raw: bytes) -> None:
        if not self._remember(keccak(raw)):
            return
        self.received += 1
        try:
            self.engine.submit(raw)
        except NodeError as exc:  # a tx a peer admitted may be stale here (already included, nonce moved)
            self.rejected += 1
            log.debug("event=gossip_tx_rejected peer=0x%s code=%s reason=%s", sender.hex(), exc.code, exc.message)
