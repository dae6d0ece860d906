"""Block sync as a synchronous state machine: peer statuses, bounded range requests, verified imports.

Inputs are peer events, sync messages and ticks (with the time the caller read); outputs are actions the
driver performs (send, broadcast, drop a peer). Blocks are applied through the ChainAPI, one at a time, each
checked first: it extends our head (height and parent), its hash is computed here, and its commit seals
are a quorum of the set in force at its height, read from the chain that now holds its parent. A peer that
serves a malformed, mis-sealed or wrong-parent block, answers empty after advertising a height, or stays
silent too often is dropped and ignored for a while; the next request goes to another peer.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from network.abc import ChainAPI, SealedBlock
from network.errors import BlockRejected, MalformedWireMessage
from network.qbft.block import BlockCodec
from network.qbft.errors import MalformedMessage
from network.qbft.seals import commit_seal_problem
from network.sync.messages import (
    MAX_BLOCKS_PER_MESSAGE,
    Blocks,
    GetBlocks,
    Status,
    decode_sync_message,
    encode_sync_message,
)

log = logging.getLogger("colend.sync")


@dataclass(frozen=True)
class SyncConfig:
    status_interval_ms: int = 1_000  # how often a node tells its peers its height (and checks its request)
    request_timeout_ms: int = 3_000
    max_blocks_per_request: int = 32
    response_bytes: int = 4 * 1024 * 1024  # a response stops adding blocks past this (always at least one)
    max_timeouts: int = 3  # unanswered requests before a peer is dropped as silent
    ban_ms: int = 30_000  # how long a dropped peer is ignored

    def __post_init__(self) -> None:
        assert self.status_interval_ms > 0 and self.request_timeout_ms > 0 and self.ban_ms >= 0
        assert 1 <= self.max_blocks_per_request <= MAX_BLOCKS_PER_MESSAGE
        assert self.response_bytes > 0 and self.max_timeouts >= 1


@dataclass(frozen=True)
class SendTo:
    peer: bytes
    message: bytes  # an encoded sync message


@dataclass(frozen=True)
class BroadcastSync:
    message: bytes


@dataclass(frozen=True)
class DropPeer:
    peer: bytes
    reason: str


SyncAction = SendTo | BroadcastSync | DropPeer


@dataclass
class PeerState:
    height: int = 0
    reported: bool = False  # a status arrived since it connected
    timeouts: int = 0


@dataclass(frozen=True)
class Request:
    peer: bytes
    request_id: int
    start: int
    count: int
    deadline_ms: int


@dataclass
class BlockSync:
    chain: ChainAPI
    codec: BlockCodec
    config: SyncConfig = field(default_factory=SyncConfig)
    peers: dict[bytes, PeerState] = field(default_factory=dict)
    banned: dict[bytes, int] = field(default_factory=dict)  # peer -> ignored until this time
    request: Request | None = None
    stats: Counter[str] = field(default_factory=Counter)
    _next_id: int = 0
    _turn: int = 0

    # -- inputs --------------------------------------------------------------------------------------------

    def on_peer_connected(self, peer: bytes, now_ms: int) -> list[SyncAction]:
        if self._is_banned(peer, now_ms):
            return []
        self.peers[peer] = PeerState()
        return [SendTo(peer, self._status())]

    def on_peer_disconnected(self, peer: bytes, now_ms: int) -> list[SyncAction]:
        self.peers.pop(peer, None)
        if self.request is not None and self.request.peer == peer:
            self.request = None
            return self._maybe_request(now_ms)
        return []

    def on_message(self, peer: bytes, data: bytes, now_ms: int) -> list[SyncAction]:
        if self._is_banned(peer, now_ms):
            self.stats["ignored_banned"] += 1
            return []
        try:
            message = decode_sync_message(data)
        except MalformedWireMessage as exc:
            return self._penalise(peer, exc.code, now_ms)
        if isinstance(message, Status):
            state = self.peers.setdefault(peer, PeerState())
            state.height, state.reported = message.height, True
            return self._maybe_request(now_ms)
        if isinstance(message, GetBlocks):
            return [SendTo(peer, self._serve(message))]
        return self._on_blocks(peer, message, now_ms)

    def on_tick(self, now_ms: int) -> list[SyncAction]:
        """Every status interval: tell peers our height, give up on an overdue request, ask again."""
        for peer in [p for p, until in self.banned.items() if until <= now_ms]:
            del self.banned[peer]
        out: list[SyncAction] = [BroadcastSync(self._status())]
        request = self.request
        if request is not None and now_ms >= request.deadline_ms:
            self.request = None
            self.stats["timeouts"] += 1
            state = self.peers.get(request.peer)
            if state is not None:
                state.timeouts += 1
                if state.timeouts >= self.config.max_timeouts:
                    out += self._penalise(request.peer, "network.sync_peer_silent", now_ms)
        return out + self._maybe_request(now_ms)

    def target_height(self, needed: int) -> int | None:
        """The highest height that `needed` peers all report reaching (None until that many reported): with
        needed = quorum - 1 peers plus this node, at most f of them can inflate it."""
        if needed <= 0:
            return 0
        heights = sorted((s.height for s in self.peers.values() if s.reported), reverse=True)
        return heights[needed - 1] if len(heights) >= needed else None

    def lag(self) -> int:
        """How far the head is behind the highest height a peer reported (0 when level or ahead, or none has):
        an observer's measure of keeping up. Safe to read from another thread (a copy of the peers is taken)."""
        reported = [s.height for s in list(self.peers.values()) if s.reported]
        return max(0, max(reported, default=0) - self.chain.head().height)

    # -- requests ------------------------------------------------------------------------------------------

    def _maybe_request(self, now_ms: int) -> list[SyncAction]:
        if self.request is not None:
            return []
        head = self.chain.head().height
        ahead = sorted(p for p, s in self.peers.items() if s.height > head and not self._is_banned(p, now_ms))
        if not ahead:
            return []
        peer = ahead[self._turn % len(ahead)]  # rotate, so one bad peer never holds the node back for long
        self._turn += 1
        self._next_id += 1
        count = min(self.config.max_blocks_per_request, self.peers[peer].height - head)
        self.request = Request(peer, self._next_id, head + 1, count, now_ms + self.config.request_timeout_ms)
        self.stats["requests"] += 1
        return [SendTo(peer, encode_sync_message(GetBlocks(self._next_id, head + 1, count)))]

    def _on_blocks(self, peer: bytes, message: Blocks, now_ms: int) -> list[SyncAction]:
        request = self.request
        if request is None or request.peer != peer or request.request_id != message.request_id:
            self.stats["unsolicited"] += 1
            return []
        self.request = None
        state = self.peers.get(peer)
        if state is not None:
            state.timeouts = 0
        imported = 0
        for raw, seals in message.blocks:
            problem = self._import(raw, seals)
            if problem == "known":
                continue
            if problem is not None:
                return self._penalise(peer, problem, now_ms)
            imported += 1
        if not message.blocks and self.chain.head().height < request.start:
            return self._penalise(peer, "network.sync_false_height", now_ms)  # claimed blocks it cannot serve
        self.stats["imported"] += imported
        return self._maybe_request(now_ms)

    def _import(self, raw: bytes, seals: tuple[bytes, ...]) -> str | None:
        """None once imported, "known" for a block we already hold, else the reason to drop the peer."""
        try:
            block = self.codec.decode(raw)
        except MalformedMessage:
            return "network.sync_malformed_block"
        head = self.chain.head()
        if block.height <= head.height:
            return "known"  # consensus finalized it while the answer travelled
        if block.height != head.height + 1:
            return "network.sync_block_gap"
        if block.parent_hash != head.block_hash:
            return "network.sync_wrong_parent"
        block_hash = self.codec.hash(block)
        problem = commit_seal_problem(block_hash, seals, self.chain.validators_at(block.height))
        if problem is not None:
            log.warning("event=sync_block_refused height=%d reason=%r", block.height, problem)
            return "network.sync_bad_seals"
        try:
            self.chain.import_block(SealedBlock(block, seals), block_hash)
        except BlockRejected as exc:
            log.warning("event=sync_block_refused height=%d reason=%r", block.height, exc.message)
            return "network.sync_block_rejected"
        return None

    # -- serving -------------------------------------------------------------------------------------------

    def _serve(self, request: GetBlocks) -> bytes:
        head = self.chain.head().height
        last = min(head, request.start + request.count - 1, request.start + self.config.max_blocks_per_request - 1)
        blocks: list[tuple[bytes, tuple[bytes, ...]]] = []
        size = 0
        for height in range(max(request.start, 1), last + 1):
            sealed = self.chain.sealed_block(height)
            if sealed is None:
                break
            raw = self.codec.encode(sealed.block)
            if blocks and size + len(raw) > self.config.response_bytes:
                break
            size += len(raw)
            blocks.append((raw, sealed.seals))
        self.stats["served"] += len(blocks)
        return encode_sync_message(Blocks(request.request_id, tuple(blocks)))

    # -- peers ---------------------------------------------------------------------------------------------

    def _status(self) -> bytes:
        head = self.chain.head()
        return encode_sync_message(Status(head.height, head.block_hash))

    def _penalise(self, peer: bytes, reason: str, now_ms: int) -> list[SyncAction]:
        self.stats["penalties"] += 1
        self.stats[reason] += 1
        self.peers.pop(peer, None)
        self.banned[peer] = now_ms + self.config.ban_ms
        if self.request is not None and self.request.peer == peer:
            self.request = None
        log.warning("event=sync_peer_dropped peer=0x%s reason=%s", peer.hex(), reason)
        return [DropPeer(peer, reason), *self._maybe_request(now_ms)]

    def _is_banned(self, peer: bytes, now_ms: int) -> bool:
        until = self.banned.get(peer)
        return until is not None and now_ms < until
