"""Tx gossip: a tx a client sends to any node of a ledger group reaches every pool of that group once.

The node that admits a client's tx sends it to all the group's non-observer peers (static peers form a full mesh, so
one hop reaches every pool); a node that receives one admits it without forwarding. Hashes already seen are
dropped before the signature is even recovered, so a tx sent to several nodes costs each pool one check.
The txs admitted in one turn of the event loop (a JSON-RPC batch) travel as one frame (an RLP list of raw
txs): per-frame costs (TLS record, WebSocket parse, a task wake-up) are paid per batch, not per tx.
Txs taken from peers go into the pool journal too; the frames of one loop turn share one journal sync, run
off the loop, so a peer's tx survives a crash without an fsync per frame.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict

from network.hashing import keccak256 as keccak
from network.p2p.abc import Channel
from network.p2p.host import P2PHost
from node.errors import MalformedRlp, NodeError
from node.rlp_codec import decode as rlp_decode
from node.rlp_codec import encode as rlp_encode
from node.txpool.front import PoolFront

log = logging.getLogger("colend.gossip")
SEEN_LIMIT = 200_000
MAX_FRAME_TX_BYTES = 1 << 20


class TxGossip:
    def __init__(self, front: PoolFront, host: P2PHost, group: str, *, pool: bool = True) -> None:
        """`group`: whose pool `front` is; `pool`: whether this node takes peers' txs into it (an observer does not)."""
        self.front = front
        self.host = host
        self.group = group
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self.submitted_at: OrderedDict[bytes, float] = OrderedDict()  # local submissions, for finality latency
        self.received = 0
        self.rejected = 0
        self._outbox: list[bytes] = []
        self._outbox_bytes = 0
        self._flush_scheduled = False
        self._sync_scheduled = False
        if pool:
            host.on_message(group, Channel.TX, self._on_peer_tx)

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
        self._outbox.append(raw)
        self._outbox_bytes += len(raw)
        if self._outbox_bytes >= MAX_FRAME_TX_BYTES:
            self.flush()
        elif not self._flush_scheduled:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
                self._flush_scheduled = True
            except RuntimeError:  # no loop here: send at once
                self.flush()

    def flush(self) -> None:
        """One frame with every tx admitted since the last flush, to each peer of the group that holds a pool."""
        self._flush_scheduled = False
        if not self._outbox:
            return
        frame = rlp_encode(self._outbox)
        self._outbox, self._outbox_bytes = [], 0
        for peer in self.host.peers(self.group):
            if peer.role != "OBSERVER":  # observers never hold a pool
                self.host.send(self.group, peer.address, Channel.TX, frame)

    def _on_peer_tx(self, sender: bytes, frame: bytes) -> None:
        try:
            raws = rlp_decode(frame)
        except MalformedRlp:
            log.warning("event=gossip_frame_malformed peer=0x%s bytes=%d", sender.hex(), len(frame))
            return
        if not isinstance(raws, list):
            return
        admitted = False
        for raw in raws:
            if isinstance(raw, bytes) and self._remember(keccak(raw)):
                admitted = self._admit(sender, raw) or admitted
        if admitted:
            self._sync_journal_soon()

    def _admit(self, sender: bytes, raw: bytes) -> bool:
        self.received += 1
        try:
            self.front.submit(raw)
        except NodeError as exc:  # a tx a peer admitted may be stale here (already included, nonce moved)
            self.rejected += 1
            log.debug("event=gossip_tx_rejected peer=0x%s code=%s reason=%s", sender.hex(), exc.code, exc.message)
            return False
        return True

    def _sync_journal_soon(self) -> None:
        """Once the frames of this loop turn are in, make their txs durable in a worker thread (no one awaits it)."""
        if self._sync_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop here: sync at once
            self._sync_journal()
            return
        self._sync_scheduled = True
        loop.call_soon(self._sync_in_worker, loop)

    def _sync_in_worker(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sync_scheduled = False
        loop.run_in_executor(None, self._sync_journal)

    def _sync_journal(self) -> None:
        try:
            self.front.durable()
        except NodeError as exc:  # the records stay queued: the next sync or block writes them
            log.warning("event=gossip_journal_sync_failed error=%s", exc)
