"""The node's chain engine: execution and the atomic commit of each block, in front of the parts it wires.

Consensus-agnostic: a proposer calls propose() then commit(pending, seals); a follower (QBFT, sync) calls
import_block(). Its parts, one job each: node.chain_setup (genesis, restore), node.pool_front (admission),
node.committed_state (every read, and permissions), node.validator_set (who seals). `lock` serialises block
execution and commits only; reads and admission never take it. Execution runs in a reverted snapshot and only
commit() writes a block's effects back into the EVM, after the store has made them durable, so an abandoned
or failed block leaves nothing behind; on an unexpected error the EVM is rebuilt from the store anyway.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from network.qbft.seals import commit_seal_problem
from node.chain.block import Block
from node.chain.commitment import StateCommitment
from node.chain.genesis import DeployFn, Genesis, deploy_colend_suite
from node.chain.header import BlockHeader
from node.chain.receipt import Receipt
from node.chain.state import AccountRecord, StateDiff, diff_from_changes
from node.chain_setup import commit_genesis, load_head, settle_genesis
from node.committed_state import CommittedState, Head
from node.defaults import DEFAULT_MAX_TX_BYTES
from node.errors import ChainIntegrityError, NodeHalted, StateCommitmentMismatch
from node.execution.executor import BlockContext, BlockExecution, EvmExecutor, ExecutedBlock, TxSkipped
from node.execution.process import ExecutionProcess
from node.next_block import NextBlock, RunAhead
from node.pool_front import PoolFront
from node.store.chain_store import ChainStore
from node.tx.decode import DecodeLimits
from node.tx.model import Transaction
from node.txpool.admission import PoolLimits
from node.txpool.journal import PoolJournal
from node.txpool.pool import TxPool
from node.validator_set import ValidatorCache, read_validators

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
    def __init__(self, store: ChainStore, genesis: Genesis, *, pool_limits: PoolLimits | None = None,
                 max_tx_bytes: int = DEFAULT_MAX_TX_BYTES, deploy: DeployFn = deploy_colend_suite,
                 execution_process: bool = False) -> None:
        """`execution_process`: execute blocks in a child process (node/execution/process.py), as a running
        node does; in-process otherwise (tests, tools)."""
        self.lock = threading.RLock()  # block execution and commit: the executor's EVM and the commitment
        self.store = store
        genesis = settle_genesis(store, genesis)
        self.limits = DecodeLimits(genesis.chain_id, genesis.block_gas_limit, max_tx_bytes)
        store.limits = self.limits
        consortium = genesis.contracts.get("Consortium")
        self.executor: EvmExecutor | ExecutionProcess = (
            ExecutionProcess(genesis.chain_id, genesis.block_gas_limit, consortium) if execution_process
            else EvmExecutor(genesis.chain_id, genesis.block_gas_limit, consortium))
        self.committed = CommittedState(genesis.chain_id, genesis.block_gas_limit, consortium)
        self.front = PoolFront(self.committed, self.limits, pool_limits, PoolJournal(store))
        self.halted: str | None = None
        self._commitment = StateCommitment()
        self._listeners: list[BlockListener] = []
        self._validators = ValidatorCache()
        self._ahead: RunAhead | None = None  # the next block, executing while the last one was written
        if store.head() is None:
            deployer = self.executor if isinstance(self.executor, EvmExecutor) else EvmExecutor(
                genesis.chain_id, genesis.block_gas_limit, None)
            genesis = commit_genesis(store, deployer, genesis, deploy)
            self.executor.consortium = self.committed.consortium = genesis.contracts.get("Consortium")
        self.genesis = genesis
        self._restore()
        self.front.restore()  # the txs acknowledged before a crash or stop, re-checked against the head

    def _restore(self) -> None:
        """Load the durable head state into fresh EVMs (the executor's and the readers')."""
        state = load_head(self.store)
        self._ahead = None
        self._commitment = state.commitment
        head = Head(state.header, state.hash)
        if isinstance(self.executor, ExecutionProcess):  # one pass over the store feeds both
            storage = self.executor.loading(state.accounts.items(), self.store.code, self.store.storage())
            self.committed.load(head, state.accounts, self.store.code, storage)
        else:
            self.committed.load(head, state.accounts, self.store.code, self.store.storage(), also=(self.executor,))
        self.front.permissions.clear()

    def close(self) -> None:
        """Stop the execution process, if blocks execute in one."""
        if isinstance(self.executor, ExecutionProcess):
            self.executor.close()

    # -- the committed head and the pool (reads never take `lock`) -------------------------------------

    @property
    def head(self) -> BlockHeader:
        return self._head().header

    @property
    def head_hash(self) -> bytes:
        return self._head().hash

    def _head(self) -> Head:
        head = self.committed.head
        assert head is not None, "restored in __init__"
        return head

    def account(self, address: bytes) -> AccountRecord:
        return self.committed.account(address)

    def state_root(self) -> bytes:
        return self.head.state_root

    @property
    def pool(self) -> TxPool:
        return self.front.pool

    @property
    def pool_lock(self) -> threading.Lock:
        return self.front.lock

    @property
    def tx_arrived(self) -> threading.Event:
        return self.front.tx_arrived

    @tx_arrived.setter
    def tx_arrived(self, event: threading.Event) -> None:
        self.front.tx_arrived = event

    def permitted(self, sender: bytes) -> bool:
        return self.front.permissions.permitted(sender)

    def submit(self, raw: bytes) -> bytes:
        return self.front.submit(raw)

    def submit_tx(self, tx: Transaction) -> bytes:
        return self.front.submit_tx(tx)

    def pending_nonce(self, sender: bytes) -> int:
        return self.front.pending_nonce(sender)

    def on_block(self, listener: BlockListener) -> Callable[[], None]:
        with self.lock:
            self._listeners.append(listener)
        return lambda: self._remove_listener(listener)

    def _remove_listener(self, listener: BlockListener) -> None:
        with self.lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    # -- blocks ---------------------------------------------------------------------------------------

    def propose(self, timestamp_ms: int, proposer: bytes, max_txs: int, allow_empty: bool = False,
                extra_data: bytes = b"", max_gas: int | None = None) -> PendingBlock | None:
        """Execute the next block from the pool, or take the one run ahead for this very request (commit's
        `then`); None when there is nothing to put in it. `max_gas` caps the gas
        the block uses (below the chain's block gas limit), so that it executes well within a round: txs go in
        while their gas limit fits in what is left after the gas the block's txs actually used, as geth packs
        (declared limits run far above use: bench.network's postEntry declares 400k and uses 57k, and packing
        by declared gas held a 150M-gas block to 375 of them)."""
        limit = self.genesis.block_gas_limit
        budget = self._gas_budget(max_gas)
        with self.lock:
            self._check_running()
            ahead, self._ahead = self._ahead, None
            executed: ExecutedBlock | None = None
            if ahead is not None and ahead.serves(self.head_hash, timestamp_ms, proposer, max_txs, max_gas, extra_data):
                txs, timestamp_ms = list(ahead.txs), ahead.plan.timestamp_ms
                executed = self._finish_ahead(ahead)
            else:
                txs = self.front.select(lambda s: self.account(s).nonce, max_txs, limit)
                if not txs and not allow_empty:
                    return None
                timestamp_ms = max(timestamp_ms, self.head.timestamp_ms + 1)
            pending = self._execute(timestamp_ms, proposer, extra_data, txs, strict=False, gas_budget=budget,
                                    executed=executed)
            if not pending.execution.included and not allow_empty:
                self.abandon(pending)
                self._drop_skipped(pending.execution)
                return None
            return pending

    def rewrites_consortium(self, diff: StateDiff) -> bool:
        """Whether a block with this diff (not yet committed) may change the Consortium's storage: members,
        permissions, validators. True when the chain has no Consortium to tell."""
        consortium = self.executor.consortium
        if consortium is None:
            return True
        rewritten = diff.accounts.get(consortium)
        return rewritten is not None and rewritten.storage_digest != self.account(consortium).storage_digest

    def _gas_budget(self, max_gas: int | None) -> int | None:
        """A proposer's cap on the gas its block uses; None when the chain's block gas limit is the only one."""
        return None if max_gas is None or max_gas >= self.genesis.block_gas_limit else max_gas

    def _finish_ahead(self, ahead: RunAhead) -> ExecutedBlock | None:
        """The block run ahead, executed; None if it must run again (another call read its answer)."""
        assert isinstance(self.executor, ExecutionProcess)
        try:
            return self.executor.finish_run(ahead.ticket)
        except TxSkipped:
            return None  # not raised for a proposer's block (not strict); running it again would report it
        except BaseException:
            self._restore()
            raise

    def _execute(self, timestamp_ms: int, proposer: bytes, extra: bytes, txs: list[Transaction] | tuple[Transaction, ...],
                 strict: bool, gas_budget: int | None = None, executed: ExecutedBlock | None = None) -> PendingBlock:
        """Execute the next block, or finish one already executed on the head's state (`executed`)."""
        head = self._head()
        number = head.header.number + 1
        ctx = BlockContext(number, timestamp_ms // 1000, proposer, self.genesis.block_gas_limit)
        try:
            if executed is None:
                executed = self.executor.run_block(ctx, txs, strict, gas_budget)
            out = executed.execution
            diff = diff_from_changes(out.accounts, out.slot_changes, out.codes, self.account)
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

    def commit(self, pending: PendingBlock, seals: list[bytes] | tuple[bytes, ...], then: NextBlock | None = None
               ) -> Block:
        """Make an executed block durable with its seals and move the head; notifies listeners. `then`: the block
        this node would propose next, to execute while this one is written (node/next_block.py)."""
        with self.lock:
            out = pending.execution
            if pending.header.parent_hash != self.head_hash:
                raise ChainIntegrityError("pending block no longer extends the head")
            block = Block(pending.header, tuple(out.included), tuple(seals))
            self._ahead = None
            sent_diff = False
            if then is not None:
                try:
                    sent_diff = self._run_ahead(block, pending, then)
                except Exception:  # the child failed: rebuild it at the head and commit without running ahead
                    log.exception("event=run_ahead_failed number=%d", block.number)
                    self._restore()
            try:
                with self.front.journal.for_block(out.included) as journal_ops:  # its txs leave the journal with it
                    self.store.commit_block(block, out.receipts, pending.diff, encoded_receipts=pending.encoded_receipts,
                                            pool_journal=journal_ops)
            except BaseException:
                self._restore()
                raise
            permissions_may_change = self.rewrites_consortium(pending.diff)
            self._commitment.apply(pending.diff.accounts.items())
            try:
                if not sent_diff:
                    self.executor.block_committed(pending.diff, self.store.code)
                self.committed.publish(Head(pending.header, block.hash), pending.diff, self.store.code)
            except BaseException:
                self._restore()  # the block is durable: rebuild the EVMs from it
                raise
            self.front.prune(out.included)
            self._drop_skipped(out)
            if permissions_may_change:
                self.front.permissions.clear()
            listeners = list(self._listeners)
        log.info("event=block_committed number=%d hash=0x%s txs=%d gas=%d state=0x%s", block.number,
                 block.hash.hex(), len(block.txs), pending.header.gas_used, pending.header.state_root.hex())
        for listener in listeners:
            try:
                listener(block, out.receipts)
            except Exception:
                log.exception("event=listener_failed number=%d", block.number)
        return block

    def _run_ahead(self, block: Block, pending: PendingBlock, then: NextBlock) -> bool:
        """Send the execution process this block's diff and the next block's txs, so that it executes that block
        while this one is written; True once the diff is sent (commit must not send it again). The block is
        final (a quorum committed it), so the child may run on its state before the store has it; should the
        write fail, the engine rebuilds the child from the store anyway."""
        if not isinstance(self.executor, ExecutionProcess) or then.timestamp_ms <= block.header.timestamp_ms:
            return False
        after = pending.diff.accounts

        def nonce_after(sender: bytes) -> int:
            record = after.get(sender)
            return record.nonce if record is not None else self.account(sender).nonce

        limit = self.genesis.block_gas_limit
        txs = self.front.select(nonce_after, then.max_txs, limit)
        if len(txs) < then.max_txs:
            return False  # room left: a tx that arrives while this block is written may still join the next
        budget = self._gas_budget(then.max_gas)
        ctx = BlockContext(block.number + 1, then.timestamp_ms // 1000, then.proposer, limit)
        self.executor.block_committed(pending.diff, self.store.code)
        ticket = self.executor.start_run(ctx, txs, False, budget)
        self._ahead = RunAhead(block.hash, then, tuple(txs), ticket)
        return True

    def _drop_skipped(self, out: BlockExecution) -> None:
        """Txs the proposer could not run (permission revoked, stale nonce) leave the pool, never a block."""
        if out.skipped:
            self.front.remove([tx.hash for tx, _ in out.skipped])

    def import_block(self, block: Block) -> Block:
        """Check the seals, validate, re-execute and commit a block finalised elsewhere; halts on a state
        commitment mismatch (a quorum sealed a state this node does not compute)."""
        with self.lock:
            self._check_running()
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
            self._check_running()
            h, head = block.header, self.head
            if h.number != head.number + 1 or h.parent_hash != self.head_hash:
                raise ChainIntegrityError(f"block {h.number} does not extend head {head.number}")
            if h.timestamp_ms <= head.timestamp_ms:
                raise ChainIntegrityError("block timestamp is not after its parent's")
            if h.gas_limit != self.genesis.block_gas_limit:
                raise ChainIntegrityError("block gas limit differs from the chain's")
            try:
                pending = self._execute(h.timestamp_ms, h.proposer, h.extra_data, block.txs, strict=True)
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
            self.committed.call, self.committed.consortium, self.genesis.validators))

    def verify_seals(self, block: Block) -> None:
        problem = commit_seal_problem(block.hash, block.seals, self.validators_for(block.number))
        if problem is not None:
            raise ChainIntegrityError(f"block {block.number} {problem}")

    def _check_running(self) -> None:
        if self.halted:
            raise NodeHalted(f"node halted: {self.halted}")
