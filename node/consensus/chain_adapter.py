"""network.abc.ChainAPI on the node's chain parts: builds, validates, commits and imports real blocks.

The executed form of each proposal of the current height is kept by its hash, so the block consensus
finalizes is committed without running it twice; a final block this node never executed (a lock
re-proposed after a restart) is imported instead, seals checked, halting on a state-commitment mismatch.
Each of `execution_observers` is told how many seconds each block this chain proposed, validated or imported
took in the engine (an import's seal check and commit included), for the node's metrics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from network.abc import ChainHead, ClockAPI, SealedBlock
from network.errors import BlockRejected, ChainHalted
from network.qbft import ConsensusBlock
from network.qbft.errors import MalformedMessage
from network.qbft.quorum import proposer_for
from node.chain.block import Block
from node.consensus.block_codec import from_consensus, to_consensus
from node.defaults import DEFAULT_MAX_TXS_PER_BLOCK
from node.engine.chain_engine import PendingBlock
from node.engine.chain_parts import ChainParts
from node.engine.next_block import NextBlock
from node.errors import NodeError, NodeHalted, StateCommitmentMismatch

log = logging.getLogger("colend.consensus")
ExecutionObserver = Callable[[float], None]  # seconds one block took


@dataclass(frozen=True)
class NextBlockPolicy:
    """A proposer opens its next block early (node/engine/next_block.py), timestamped by `clock`, at the earliest
    `period_ms` after the block before."""

    clock: ClockAPI
    period_ms: int


class EngineChain:
    def __init__(self, chain: ChainParts, proposer: bytes, max_txs: int = DEFAULT_MAX_TXS_PER_BLOCK,
                 max_gas: int | None = None, next_block: NextBlockPolicy | None = None) -> None:
        self.engine = chain.engine
        self.producer = chain.producer
        self.front = chain.front
        self.store = chain.store
        self.limits = chain.limits
        self.proposer = proposer
        self.max_txs = max_txs
        self.max_gas = max_gas  # None: the chain's block gas limit
        self.next_block = next_block
        self.last_block: Block | None = None  # the last block committed through consensus
        self._executed: dict[bytes, PendingBlock] = {}  # block hash -> executed proposal of this height
        self.execution_observers: list[ExecutionObserver] = []

    def head(self) -> ChainHead:
        engine = self.engine
        return ChainHead(engine.head.number, engine.head_hash, engine.head.timestamp_ms)

    def validators_at(self, height: int) -> tuple[bytes, ...]:
        """Consortium.validators() in the state after block height - 1; the node keeps the head's state only."""
        if height != self.engine.head.number + 1:
            raise LookupError(f"the validator set of height {height} is not at hand (head {self.engine.head.number})")
        return self.engine.validators_for(height)

    def pending_work(self, new_height: bool) -> bool:
        return self.front.tx_arrived.is_set() or (new_height and len(self.front) > 0)

    def build_block(self, height: int, timestamp_ms: int, allow_empty: bool) -> ConsensusBlock | None:
        engine = self.engine
        assert height == engine.head.number + 1
        self.front.tx_arrived.clear()  # before selecting: a tx admitted from here on wakes the next try
        with self._executing():
            pending = self.producer.propose(timestamp_ms, self.proposer, self.max_txs, allow_empty=allow_empty,
                                            max_gas=self.max_gas)
        if pending is None:
            return None
        block = Block(pending.header, tuple(pending.execution.included))
        self._executed[block.hash] = pending
        return to_consensus(block)

    def prepare_block(self, height: int, due_ms: int) -> None:
        """Txs arrived while this node waits for the period of the block it is to propose: they run now, in that
        block (node/engine/next_block.py)."""
        engine = self.engine
        if self.next_block is not None and height == engine.head.number + 1:
            self.front.tx_arrived.clear()  # before selecting: a tx admitted from here on wakes the next prepare
            self.producer.prepare(NextBlock(due_ms, self.proposer, self.max_txs, self.max_gas))

    def validate_proposal(self, block: ConsensusBlock, block_hash: bytes) -> bool:
        """Decode the proposal, check it extends the head (parent, height, timestamp) and execute it: the
        state commitment, tx and receipt roots must be what this node computes."""
        if block_hash in self._executed:
            return True
        try:
            decoded = from_consensus(block, self.limits, self.front.get)
            with self._executing():
                pending = self.engine.validate_block(decoded)
        except NodeHalted:
            raise
        except (NodeError, MalformedMessage) as exc:
            level = logging.ERROR if isinstance(exc, StateCommitmentMismatch) else logging.WARNING
            log.log(level, "event=proposal_rejected height=%d hash=0x%s reason=%s", block.height, block_hash.hex(), exc)
            return False
        self._executed[block_hash] = pending
        return True

    def commit(self, block: ConsensusBlock, block_hash: bytes, seals: tuple[bytes, ...]) -> None:
        engine = self.engine
        pending = self._executed.pop(block_hash, None)
        if pending is None or pending.header.parent_hash != engine.head_hash:
            self.import_block(SealedBlock(block, seals), block_hash)
            self.last_block = self.store.block(engine.head_hash)
            return
        sealed = Block(pending.header, tuple(pending.execution.included), seals)
        engine.verify_seals(sealed)  # the invariant every importer will check, asserted at the source
        self.last_block = self.producer.commit_opening_next(pending, seals, self._next_block(pending))
        self._forget()

    def _next_block(self, pending: PendingBlock) -> NextBlock | None:
        """The block this node will propose right after `pending`, if it is the next proposer (round 0): due a
        period after `pending`, or now if that has passed."""
        policy = self.next_block
        if policy is None:
            return None
        header = pending.header
        engine = self.engine
        if engine.rewrites_consortium(pending.diff):
            return None  # the block may change the validator set: who proposes next is read once it is committed
        if proposer_for(engine.validators_for(header.number), header.number + 1, 0) != self.proposer:
            return None
        due = max(policy.clock.now_ms(), header.timestamp_ms + policy.period_ms)
        return NextBlock(due, self.proposer, self.max_txs, self.max_gas)

    def import_block(self, sealed: SealedBlock, block_hash: bytes) -> None:
        try:
            decoded = from_consensus(sealed.block, self.limits, self.front.get)
            with self._executing():
                self.engine.import_block(Block(decoded.header, decoded.txs, sealed.seals))
        except (StateCommitmentMismatch, NodeHalted) as exc:
            raise ChainHalted(str(exc)) from exc
        except (NodeError, MalformedMessage) as exc:
            raise BlockRejected(f"block {sealed.block.height}: {exc}") from exc
        finally:
            self._forget()

    def sealed_block(self, height: int) -> SealedBlock | None:
        store = self.store
        block_hash = store.hash_by_number(height)
        block = store.block(block_hash) if block_hash is not None and height >= 1 else None
        return None if block is None else SealedBlock(to_consensus(block), block.seals)

    @contextmanager
    def _executing(self) -> Iterator[None]:
        """Times the engine's work on one block for the execution observers, whether it succeeds or raises."""
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            for observer in self.execution_observers:
                observer(elapsed)

    def _forget(self) -> None:
        for other in self._executed.values():
            self.engine.abandon(other)
        self._executed.clear()
