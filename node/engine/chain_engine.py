"""The node's chain engine: execution and the atomic commit of each block, in front of the parts it wires.

Consensus-agnostic: a proposer calls propose() then commit(pending, seals); a follower (QBFT, sync) calls
import_block(). Its parts, one job each: node.engine.chain_setup (genesis, restore), node.txpool.front (admission),
node.execution.read_view (every read, and permissions), node.engine.validator_set (who seals). `lock` serialises block
execution and commits only; reads and admission never take it. Execution runs in a reverted snapshot and only
commit() writes a block's effects back into the EVM, after the store has made them durable, so an abandoned
or failed block leaves nothing behind; on an unexpected error the EVM is rebuilt from the store anyway.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from network.qbft.seals import commit_seal_problem
from node.chain.block import Block
from node.chain.commitment import StateCommitment
from node.chain.genesis import Genesis
from node.chain.header import BlockHeader
from node.chain.receipt import Receipt
from node.chain.state import AccountRecord, StateDiff, diff_from_changes
from node.defaults import DEFAULT_MAX_TX_BYTES, EXECUTION_NICENESS
from node.engine.chain_setup import DeployFn, commit_genesis, deploy_colend_suite, load_head, settle_genesis
from node.engine.next_block import NextBlock, OpenNext
from node.engine.validator_set import ValidatorCache, read_validators
from node.errors import ChainIntegrityError, NodeHalted, StateCommitmentMismatch
from node.execution.executor import BlockContext, BlockExecution, EvmExecutor, ExecutedBlock, TxSkipped
from node.execution.process import ExecutionProcess
from node.execution.read_view import CommittedState, Head
from node.store.chain_store import ChainStore
from node.tx.decode import DecodeLimits
from node.tx.model import Transaction
from node.txpool.admission import PoolLimits
from node.txpool.front import PoolFront
from node.txpool.journal import PoolJournal
from node.txpool.pool import TxPool

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
                 execution_process: bool = False, execution_niceness: int = EXECUTION_NICENESS) -> None:
        """`execution_process`: execute blocks in a child process (node/execution/process.py), as a running
        node does, at `execution_niceness` above the node's (node/defaults.py); in-process otherwise (tests,
        tools)."""
        self.lock = threading.RLock()  # block execution and commit: the executor's EVM and the commitment
        self.store = store
        genesis = settle_genesis(store, genesis)
        self.limits = DecodeLimits(genesis.chain_id, genesis.block_gas_limit, max_tx_bytes)
        store.limits = self.limits
        consortium = genesis.contracts.get("Consortium")
        self.executor: EvmExecutor | ExecutionProcess = (
            ExecutionProcess(genesis.chain_id, genesis.block_gas_limit, consortium, execution_niceness)
            if execution_process
            else EvmExecutor(genesis.chain_id, genesis.block_gas_limit, consortium))
        self.committed = CommittedState(genesis.chain_id, genesis.block_gas_limit, consortium)
        self.front = PoolFront(self.committed, self.limits, pool_limits, PoolJournal(store))
        self.halted: str | None = None
        self._commitment = StateCommitment()
        self._listeners: list[BlockListener] = []
        self._validators = ValidatorCache()
        self._open: OpenNext | None = None  # the next block, executing as its txs arrive (node/engine/next_block.py)
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
        self._open = None
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

    def _nonce(self, address: bytes) -> int:
        return self.committed.account(address).nonce

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
        """Execute the next block from the pool, or seal the one open for this very request (node/engine/next_block.py);
        None when there is nothing to put in it. `max_gas` caps the gas
        the block uses (below the chain's block gas limit), so that it executes well within a round: txs go in
        while their gas limit fits in what is left after the gas the block's txs actually used, as geth packs
        (declared limits run far above use: bench.network's postEntry declares 400k and uses 57k, and packing
        by declared gas held a 150M-gas block to 375 of them)."""
        limit = self.genesis.block_gas_limit
        budget = self._gas_budget(max_gas)
        with self.lock:
            self._check_running()
            opened, self._open = self._open, None
            executed: ExecutedBlock | None = None
            if opened is not None and opened.serves(self.head_hash, timestamp_ms, proposer, max_txs, max_gas,
                                                    extra_data):
                executed = self._seal(opened)
            if executed is not None:
                assert opened is not None
                txs, timestamp_ms = opened.txs, opened.plan.timestamp_ms
            else:
                txs = self.front.select(self._nonce, max_txs, limit)
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

    def prepare(self, plan: NextBlock) -> None:
        """Txs arrived while this node waits to propose the next block: run what is ready into the block open for
        `plan`, opening it if need be. A failure here costs only the open block."""
        with self.lock:
            if self.halted:
                return
            try:
                opened, head = self._open, self.head
                plan = replace(plan, timestamp_ms=max(plan.timestamp_ms, head.timestamp_ms + 1))
                serves = opened is not None and opened.serves(self.head_hash, plan.timestamp_ms, plan.proposer,
                                                              plan.max_txs, plan.max_gas, b"")
                if serves and self._fill(opened, self._nonce):  # type: ignore[arg-type]
                    return
                self._open = self._open_next(head.number + 1, self.head_hash, plan, self._nonce)
            except Exception:
                self._open_block_failed(self.head.number + 1)

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

    def _seal(self, opened: OpenNext) -> ExecutedBlock | None:
        """The open block, executed; None if it cannot serve after all (discarded meanwhile, or a failed child,
        which is rebuilt: the block is then built afresh)."""
        try:
            self._fill(opened, self._nonce)
            return self.executor.seal_block(opened.handle)  # type: ignore[arg-type]
        except Exception:
            self._open_block_failed(self.head.number + 1)
            return None

    def _open_block_failed(self, number: int) -> None:
        """Called in an except block: opening, filling or sealing block `number` failed (a lost or failed child).
        It costs only the open block: logged, and the executor is rebuilt at the head from the store."""
        log.exception("event=open_block_failed number=%d", number)
        self._restore()

    def _open_next(self, number: int, parent_hash: bytes, plan: NextBlock, nonce_of: Callable[[bytes], int]
                   ) -> OpenNext | None:
        """Open block `number` on `parent_hash` with the txs ready now, if there are any."""
        limit = self.genesis.block_gas_limit
        txs = self.front.select(nonce_of, plan.max_txs, limit)
        if not txs:
            return None
        ctx = BlockContext(number, plan.timestamp_ms // 1000, plan.proposer, limit)
        opened = OpenNext(parent_hash, plan, self.executor.open_block(ctx, self._gas_budget(plan.max_gas)))
        self._send(opened, txs)
        return opened

    def _fill(self, opened: OpenNext, nonce_of: Callable[[bytes], int]) -> bool:
        """Send the open block the txs that became ready since it last took some, within its limits; False if
        the executor no longer holds it open (it ran or applied another block meanwhile)."""
        if not self.executor.is_open(opened.handle):  # type: ignore[arg-type]
            return False
        room = opened.plan.max_txs - len(opened.txs)
        if room <= 0:
            return True
        sent = opened.next_nonce

        def next_nonce(sender: bytes) -> int:
            nonce = sent.get(sender)
            return nonce if nonce is not None else nonce_of(sender)

        txs = self.front.select(next_nonce, room, self.genesis.block_gas_limit - opened.declared_gas)
        if txs:
            self._send(opened, txs)
        return True

    def _send(self, opened: OpenNext, txs: list[Transaction]) -> None:
        self.executor.extend_block(opened.handle, txs)  # type: ignore[arg-type]
        opened.sent(txs)

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
        this node will propose next, to open at once and execute while this one is written (node/engine/next_block.py)."""
        with self.lock:
            out = pending.execution
            if pending.header.parent_hash != self.head_hash:
                raise ChainIntegrityError("pending block no longer extends the head")
            block = Block(pending.header, tuple(out.included), tuple(seals))
            self._open = None  # whatever was open extends the old head
            sent_diff = False
            if then is not None:
                try:
                    sent_diff = self._open_after(block, pending, then)
                except Exception:  # commit goes on without an open block
                    self._open_block_failed(block.number + 1)
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

    def _open_after(self, block: Block, pending: PendingBlock, then: NextBlock) -> bool:
        """Send the executor this block's diff and open the next block on it with the txs ready, so that it
        executes them while this one is written; True once the diff is sent (commit must not send it again).
        The block is final (a quorum committed it), so the executor may run on its state before the store has
        it; should the write fail, the engine rebuilds the executor from the store anyway."""
        if then.timestamp_ms <= block.header.timestamp_ms:
            return False
        after = pending.diff.accounts

        def nonce_after(sender: bytes) -> int:
            record = after.get(sender)
            return record.nonce if record is not None else self._nonce(sender)

        self.executor.block_committed(pending.diff, self.store.code)
        self._open = self._open_next(block.number + 1, block.hash, then, nonce_after)
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
