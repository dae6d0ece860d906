"""The node's chain engine: validation, import and the atomic commit of each block.

Consensus-agnostic: a follower (QBFT, sync) calls import_block(); a proposer's blocks come from block production
(node/engine/production.py) and are committed here with their seals. The engine is given its parts, which
node/engine/chain_parts.py builds: the store, the executor (node/execution/abc.py), the read view
(node.execution.read_view, every read, and permissions) and the pool front (node.txpool.front, admission); its own
helpers are node.engine.chain_setup (restore) and node.engine.validator_set (who seals). `lock` serialises block
execution and commits only; reads and admission never take it. Execution runs in a reverted snapshot and only
commit() writes a block's effects back into the executor, after the store has made them durable, so an abandoned
or failed block leaves nothing behind; on an unexpected error the executor is rebuilt from the store anyway.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from network.qbft.seals import commit_seal_problem
from node.chain.block import Block
from node.chain.commitment import StateCommitment
from node.chain.genesis import Genesis
from node.chain.header import BlockHeader
from node.chain.receipt import Receipt
from node.chain.state import StateDiff, diff_from_changes
from node.engine.chain_setup import load_head
from node.engine.validator_set import ValidatorCache, read_validators
from node.errors import ChainIntegrityError, NodeHalted, StateCommitmentMismatch
from node.execution.abc import BlockContext, BlockExecution, ExecutedBlock, Executor, TxSkipped
from node.execution.read_view import CommittedState, Head
from node.store.chain_store import ChainStore
from node.tx.model import Transaction
from node.txpool.front import PoolFront

log = logging.getLogger("colend.engine")


@dataclass(frozen=True, slots=True)
class PendingBlock:
    """An executed, unsealed block whose effects sit in the EVM journal until commit() or abandon()."""

    header: BlockHeader
    execution: BlockExecution
    diff: StateDiff
    encoded_receipts: tuple[bytes, ...]


BlockListener = Callable[[Block, list[Receipt]], None]


class ChainEngine:
    def __init__(self, store: ChainStore, genesis: Genesis, executor: Executor, read_view: CommittedState,
                 front: PoolFront) -> None:
        """On a store that holds its genesis block (node/engine/chain_parts.py open_chain commits it); loads the
        head state into the executor and the read view."""
        self.lock = threading.RLock()  # block execution and commit: the executor's EVM and the commitment
        self.genesis = genesis
        self.executor = executor
        self._store = store
        self._read_view = read_view
        self._front = front
        self.halted: str | None = None
        self._commitment = StateCommitment()
        self._listeners: list[BlockListener] = []
        self._validators = ValidatorCache()
        self._restore()

    def _restore(self) -> None:
        """Load the durable head state into the executor and the read view, in one pass over the store."""
        state = load_head(self._store)
        self._commitment = state.commitment
        storage = self.executor.loading(state.accounts.items(), self._store.code, self._store.storage())
        self._read_view.load(Head(state.header, state.hash), state.accounts, self._store.code, storage)
        self._front.permissions.clear()

    def close(self) -> None:
        """Stop the executor (its process, if blocks execute in one)."""
        self.executor.close()

    # -- the committed head (reads never take `lock`) ---------------------------------------------------

    @property
    def head(self) -> BlockHeader:
        return self._head().header

    @property
    def head_hash(self) -> bytes:
        return self._head().hash

    def _head(self) -> Head:
        head = self._read_view.head
        assert head is not None, "restored in __init__"
        return head

    def on_block(self, listener: BlockListener) -> Callable[[], None]:
        with self.lock:
            self._listeners.append(listener)
        return lambda: self._remove_listener(listener)

    def _remove_listener(self, listener: BlockListener) -> None:
        with self.lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    # -- blocks ---------------------------------------------------------------------------------------

    def rewrites_consortium(self, diff: StateDiff) -> bool:
        """Whether a block with this diff (not yet committed) may change the Consortium's storage: members,
        permissions, validators. True when the chain has no Consortium to tell."""
        consortium = self._read_view.consortium
        if consortium is None:
            return True
        rewritten = diff.accounts.get(consortium)
        return rewritten is not None and rewritten.storage_digest != self._read_view.account(consortium).storage_digest

    def open_block_failed(self, number: int) -> None:
        """Called in an except block: opening, filling or sealing block `number` failed (a lost or failed child).
        It costs only the open block: logged, and the executor is rebuilt at the head from the store."""
        log.exception("event=open_block_failed number=%d", number)
        self._restore()

    def execute(self, timestamp_ms: int, proposer: bytes, extra: bytes, txs: list[Transaction] | tuple[Transaction, ...],
                strict: bool, gas_budget: int | None = None, executed: ExecutedBlock | None = None) -> PendingBlock:
        """Execute the next block, or finish one already executed on the head's state (`executed`)."""
        head = self._head()
        number = head.header.number + 1
        ctx = BlockContext(number, timestamp_ms // 1000, proposer, self.genesis.block_gas_limit)
        try:
            if executed is None:
                executed = self.executor.run_block(ctx, txs, strict, gas_budget)
            out = executed.execution
            diff = diff_from_changes(out.accounts, out.slot_changes, out.codes, self._read_view.account)
        except TxSkipped:
            raise  # an invalid tx in a block to import: execution ran in a reverted snapshot, nothing to rebuild
        except BaseException:
            self._restore()
            raise
        roots = executed.roots
        header = BlockHeader(
            number=number, parent_hash=head.hash, timestamp_ms=timestamp_ms, proposer=proposer,
            tx_root=roots.tx_root, receipts_root=roots.receipts_root, logs_bloom=roots.logs_bloom,
            state_root=self._commitment.root_with(diff.accounts.items()), gas_limit=self.genesis.block_gas_limit,
            gas_used=out.gas_used, extra_data=extra)
        return PendingBlock(header, out, diff, executed.encoded_receipts)

    def abandon(self, pending: PendingBlock) -> None:
        """Throw away an executed block that will not be committed (e.g. a failed consensus round).

        Nothing to undo: execution ran in a reverted snapshot and only commit() writes effects back."""

    def commit(self, pending: PendingBlock, seals: list[bytes] | tuple[bytes, ...],
               while_written: Callable[[Block], None] | None = None) -> Block:
        """Make an executed block durable with its seals and move the head; notifies listeners. `while_written`:
        called with the block once its diff is in the executor, before the store writes it, to open the next block
        there (node/engine/production.py commit_opening_next). The block is final (a quorum committed it), so the
        executor may run on its state before the store has it; should the write fail, it is rebuilt anyway."""
        with self.lock:
            out = pending.execution
            if pending.header.parent_hash != self.head_hash:
                raise ChainIntegrityError("pending block no longer extends the head")
            block = Block(pending.header, tuple(out.included), tuple(seals))
            sent_diff = False
            if while_written is not None:
                try:
                    self.executor.block_committed(pending.diff, self._store.code)
                    while_written(block)
                    sent_diff = True
                except Exception:  # commit goes on without an open block
                    self.open_block_failed(block.number + 1)
            try:
                with self._front.journal.for_block(out.included) as journal_ops:  # its txs leave the journal with it
                    self._store.commit_block(block, out.receipts, pending.diff, encoded_receipts=pending.encoded_receipts,
                                             pool_journal=journal_ops)
            except BaseException:
                self._restore()
                raise
            permissions_may_change = self.rewrites_consortium(pending.diff)
            self._commitment.apply(pending.diff.accounts.items())
            try:
                if not sent_diff:
                    self.executor.block_committed(pending.diff, self._store.code)
                self._read_view.publish(Head(pending.header, block.hash), pending.diff, self._store.code)
            except BaseException:
                self._restore()  # the block is durable: rebuild the EVMs from it
                raise
            self._front.prune(out.included)
            self.drop_skipped(out)
            if permissions_may_change:
                self._front.permissions.clear()
            listeners = list(self._listeners)
        log.info("event=block_committed number=%d hash=0x%s txs=%d gas=%d state=0x%s", block.number,
                 block.hash.hex(), len(block.txs), pending.header.gas_used, pending.header.state_root.hex())
        for listener in listeners:
            try:
                listener(block, out.receipts)
            except Exception:
                log.exception("event=listener_failed number=%d", block.number)
        return block

    def drop_skipped(self, out: BlockExecution) -> None:
        """Txs the proposer could not run (permission revoked, stale nonce) leave the pool, never a block."""
        if out.skipped:
            self._front.remove([tx.hash for tx, _ in out.skipped])

    def import_block(self, block: Block) -> Block:
        """Check the seals, validate, re-execute and commit a block finalised elsewhere; halts on a state
        commitment mismatch (a quorum sealed a state this node does not compute)."""
        with self.lock:
            self.check_running()
            self.verify_seals(block)
            try:
                pending = self.validate_block(block)
            except StateCommitmentMismatch as exc:
                self.halted = exc.message
                log.critical("event=state_commitment_mismatch %s", self.halted)
                raise
            return self.commit(pending, block.seals)

    def validate_block(self, block: Block) -> PendingBlock:
        """Check that `block` extends the head and re-execute it (seals aside): the executed block to commit,
        or ChainIntegrityError, or StateCommitmentMismatch, which only halts the node on import_block."""
        with self.lock:
            self.check_running()
            h, head = block.header, self.head
            if h.number != head.number + 1 or h.parent_hash != self.head_hash:
                raise ChainIntegrityError(f"block {h.number} does not extend head {head.number}")
            if h.timestamp_ms <= head.timestamp_ms:
                raise ChainIntegrityError("block timestamp is not after its parent's")
            if h.gas_limit != self.genesis.block_gas_limit:
                raise ChainIntegrityError("block gas limit differs from the chain's")
            try:
                pending = self.execute(h.timestamp_ms, h.proposer, h.extra_data, block.txs, strict=True)
            except TxSkipped as exc:
                raise ChainIntegrityError(f"block {h.number} carries an invalid tx: {exc}") from exc
            mine = pending.header
            if (mine.tx_root, mine.receipts_root, mine.logs_bloom, mine.gas_used) != (
                    h.tx_root, h.receipts_root, h.logs_bloom, h.gas_used):
                raise ChainIntegrityError(f"block {h.number}: transactions or receipts differ from the header")
            if mine.state_root != h.state_root:
                raise StateCommitmentMismatch(f"block {h.number}: computed state 0x{mine.state_root.hex()}, "
                                              f"block commits to 0x{h.state_root.hex()}")
            return pending

    # -- validators -----------------------------------------------------------------------------------

    def validators_for(self, number: int) -> tuple[bytes, ...]:
        """The validators that seal block `number`: Consortium.validators() in the state of block number - 1,
        since a change applies from effectiveFromBlock, the block after the one that made it. Only the head's
        state is kept, so any number gets the set in force after the head: consensus and sync ask for head + 1
        only, once the head is committed (network/abc.py ChainAPI.validators_at)."""
        head = self._head()
        return self._validators.get(head.hash, lambda: read_validators(
            self._read_view.call, self._read_view.consortium, self.genesis.validators))

    def verify_seals(self, block: Block) -> None:
        problem = commit_seal_problem(block.hash, block.seals, self.validators_for(block.number))
        if problem is not None:
            raise ChainIntegrityError(f"block {block.number} {problem}")

    def check_running(self) -> None:
        if self.halted:
            raise NodeHalted(f"node halted: {self.halted}")
