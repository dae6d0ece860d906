"""The node's chain engine: head state, tx pool, block execution and the atomic commit of each block.

Consensus-agnostic: a proposer calls propose() then commit(pending, seals); a follower (QBFT, sync) calls
import_block(). A re-entrant lock serialises the EVM, the store's head and the account table; a separate
pool lock lets admission proceed while a block executes. Execution runs in a reverted snapshot and only
commit() writes a block's effects back into the EVM, after the store has made them durable, so an abandoned
or failed block leaves nothing behind; on an unexpected error the EVM is rebuilt from the store anyway.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from eth_abi import decode as abi_decode
from eth_hash.auto import keccak

from network.qbft.seals import commit_seal_problem
from node.chain.block import Block
from node.chain.commitment import StateCommitment
from node.chain.genesis import DeployFn, Genesis, deploy_colend_suite
from node.chain.header import ZERO_ADDRESS, ZERO_HASH, BlockHeader
from node.chain.receipt import Receipt
from node.chain.roots import receipts_root, receipts_root_encoded, tx_root
from node.chain.state import AccountRecord, StateDiff, diff_from_changes
from node.errors import ChainIntegrityError, NodeHalted, StateCommitmentMismatch, StoreCorrupted
from node.execution.executor import BlockContext, BlockExecution, EvmExecutor, TxSkipped
from node.store.chain_store import ChainStore
from node.tx.decode import DEFAULT_MAX_TX_BYTES, DecodeLimits, decode_transaction
from node.tx.model import Transaction
from node.txpool.admission import PoolLimits
from node.txpool.pool import TxPool

log = logging.getLogger("colend.engine")
VALIDATORS_SELECTOR = keccak(b"validators()")[:4]
_EMPTY = AccountRecord()
MAX_PERMISSION_CACHE = 4_096


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
                 max_tx_bytes: int = DEFAULT_MAX_TX_BYTES, deploy: DeployFn = deploy_colend_suite) -> None:
        self.lock = threading.RLock()  # the EVM, the store's head and the account table
        self.pool_lock = threading.Lock()  # the pool alone, so admission never waits for a block to execute
        self.store = store
        stored = store.genesis_doc()
        if stored is not None:
            persisted = Genesis.from_json(json.loads(stored))
            if (genesis.contracts and genesis.contracts != persisted.contracts) or genesis.chain_id != persisted.chain_id:
                raise StoreCorrupted("the data directory holds a different chain than this genesis document")
            genesis = persisted
        self.genesis = genesis
        self.limits = DecodeLimits(genesis.chain_id, genesis.block_gas_limit, max_tx_bytes)
        store.limits = self.limits
        self.executor = EvmExecutor(genesis.chain_id, genesis.block_gas_limit, genesis.contracts.get("Consortium"))
        self.pool = TxPool(pool_limits)
        self.tx_arrived = threading.Event()
        self.halted: str | None = None
        self._accounts: dict[bytes, AccountRecord] = {}
        self._commitment = StateCommitment()
        self._permitted: dict[bytes, bool] = {}
        self._listeners: list[BlockListener] = []
        self._validator_cache: tuple[bytes, tuple[bytes, ...]] | None = None  # (head hash, its validators)
        if store.head() is None:
            self._init_genesis(deploy)
        self._restore()

    # -- startup --------------------------------------------------------------------------------------

    def _init_genesis(self, deploy: DeployFn) -> None:
        g = self.genesis
        self.executor.set_context(BlockContext(0, g.timestamp_ms // 1000, ZERO_ADDRESS, g.block_gas_limit))
        contracts = deploy(self.executor.evm, g)
        if g.contracts and g.contracts != contracts:
            raise StoreCorrupted("genesis deployment produced other contract addresses than the document pins")
        g = self.genesis = g.with_contracts(contracts)
        self.executor.consortium = contracts.get("Consortium")
        out = BlockExecution()
        self.executor.collect_touched(out, set(), from_empty=True)
        diff = diff_from_changes(out.accounts, out.slot_changes, out.codes, lambda _a: _EMPTY)
        root = StateCommitment(diff.accounts.items()).root()
        header = BlockHeader(0, ZERO_HASH, g.timestamp_ms, ZERO_ADDRESS, tx_root([]), receipts_root([]), root,
                             g.block_gas_limit, 0, g.digest())
        self.store.commit_block(Block(header, ()), [], diff, genesis_doc=json.dumps(g.to_json(), indent=2).encode())
        log.info("event=genesis_committed hash=0x%s state=0x%s", header.hash().hex(), root.hex())

    def _restore(self) -> None:
        """Load the durable head state into a fresh EVM and check it against the head's commitment."""
        head = self.store.head()
        if head is None:
            raise StoreCorrupted("no head block")
        found = self.store.header_and_hashes(head[1])
        if found is None:
            raise StoreCorrupted(f"head block 0x{head[1].hex()} is not stored")
        self.head = found[0]
        self.head_hash = head[1]
        self._accounts = dict(self.store.accounts())
        self._commitment = StateCommitment(self._accounts.items())
        if self._commitment.root() != self.head.state_root:
            raise StateCommitmentMismatch(
                f"stored state does not match head {self.head.number}: 0x{self._commitment.root().hex()} != "
                f"0x{self.head.state_root.hex()}")
        self.executor.load(self._accounts.items(), self.store.code, self.store.storage())
        self._permitted.clear()

    # -- reads ----------------------------------------------------------------------------------------

    def account(self, address: bytes) -> AccountRecord:
        return self._accounts.get(address, _EMPTY)

    def state_root(self) -> bytes:
        return self.head.state_root

    def on_block(self, listener: BlockListener) -> Callable[[], None]:
        with self.lock:
            self._listeners.append(listener)
        return lambda: self._remove_listener(listener)

    def _remove_listener(self, listener: BlockListener) -> None:
        with self.lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    # -- pool -----------------------------------------------------------------------------------------

    def permitted(self, sender: bytes) -> bool:
        """Admission-time permission, cached until a block writes the Consortium's storage (canWrite is a
        view of that storage alone). Execution re-checks every tx, so a stale answer never reaches a block."""
        allowed = self._permitted.get(sender)
        if allowed is None:
            with self.lock:
                allowed = self.executor.can_write(sender)
                if len(self._permitted) >= MAX_PERMISSION_CACHE:
                    self._permitted.clear()
                self._permitted[sender] = allowed
        return allowed

    def submit(self, raw: bytes) -> bytes:
        """Decode, verify and admit a raw tx; returns its hash or raises MalformedTransaction/TxRejected."""
        tx = decode_transaction(raw, self.limits)
        return self.submit_tx(tx)

    def submit_tx(self, tx: Transaction) -> bytes:
        allowed = self.permitted(tx.sender)
        with self.pool_lock:
            account = self.account(tx.sender)
            self.pool.add(tx, account.nonce, allowed, account.balance)
        self.tx_arrived.set()
        return tx.hash

    def pending_nonce(self, sender: bytes) -> int:
        with self.pool_lock:
            return self.pool.pending_nonce(sender, self.account(sender).nonce)

    # -- blocks ---------------------------------------------------------------------------------------

    def propose(self, timestamp_ms: int, proposer: bytes, max_txs: int, allow_empty: bool = False,
                extra_data: bytes = b"") -> PendingBlock | None:
        """Execute the next block from the pool; None when there is nothing to put in it."""
        with self.lock:
            self._check_running()
            with self.pool_lock:
                txs = self.pool.select(lambda s: self.account(s).nonce, max_txs, self.genesis.block_gas_limit)
            if not txs and not allow_empty:
                return None
            timestamp_ms = max(timestamp_ms, self.head.timestamp_ms + 1)
            pending = self._execute(timestamp_ms, proposer, extra_data, txs, strict=False)
            if not pending.execution.included and not allow_empty:
                self.abandon(pending)
                self._drop_skipped(pending.execution)
                return None
            return pending

    def _execute(self, timestamp_ms: int, proposer: bytes, extra: bytes, txs: list[Transaction] | tuple[Transaction, ...],
                 strict: bool) -> PendingBlock:
        number = self.head.number + 1
        ctx = BlockContext(number, timestamp_ms // 1000, proposer, self.genesis.block_gas_limit)
        try:
            out = self.executor.execute_block(ctx, txs, strict)
            diff = diff_from_changes(out.accounts, out.slot_changes, out.codes, self.account)
        except BaseException:
            self._restore()
            raise
        encoded = tuple(r.encode() for r in out.receipts)
        header = BlockHeader(
            number=number, parent_hash=self.head_hash, timestamp_ms=timestamp_ms, proposer=proposer,
            tx_root=tx_root([tx.hash for tx in out.included]), receipts_root=receipts_root_encoded(encoded),
            state_root=self._commitment.root_with(diff.accounts.items()), gas_limit=self.genesis.block_gas_limit,
            gas_used=out.gas_used, extra_data=extra)
        return PendingBlock(header, out, diff, encoded)

    def abandon(self, pending: PendingBlock) -> None:
        """Throw away an executed block that will not be committed (e.g. a failed consensus round).

        Nothing to undo: execution ran in a reverted snapshot and only commit() writes effects back."""

    def commit(self, pending: PendingBlock, seals: list[bytes] | tuple[bytes, ...]) -> Block:
        """Make an executed block durable with its seals and move the head; notifies listeners."""
        with self.lock:
            out = pending.execution
            if pending.header.parent_hash != self.head_hash:
                raise ChainIntegrityError("pending block no longer extends the head")
            block = Block(pending.header, tuple(out.included), tuple(seals))
            try:
                self.store.commit_block(block, out.receipts, pending.diff, encoded_receipts=pending.encoded_receipts)
            except BaseException:
                self._restore()
                raise
            consortium = self.executor.consortium
            rewritten = pending.diff.accounts.get(consortium) if consortium else None
            permissions_may_change = consortium is None or (
                rewritten is not None and rewritten.storage_digest != self.account(consortium).storage_digest)
            for address, record in pending.diff.accounts.items():
                if record.is_empty():
                    self._accounts.pop(address, None)
                else:
                    self._accounts[address] = record
            self._commitment.apply(pending.diff.accounts.items())
            self.head, self.head_hash = pending.header, block.hash
            try:
                self.executor.block_committed(pending.diff, self.store.code)
            except BaseException:
                self._restore()  # the block is durable: rebuild the EVM from it
                raise
            with self.pool_lock:
                self.pool.prune({tx.sender: self.account(tx.sender).nonce for tx in out.included})
            self._drop_skipped(out)
            if permissions_may_change:
                self._permitted.clear()
            listeners = list(self._listeners)
        log.info("event=block_committed number=%d hash=0x%s txs=%d gas=%d state=0x%s", block.number,
                 block.hash.hex(), len(block.txs), pending.header.gas_used, pending.header.state_root.hex())
        for listener in listeners:
            try:
                listener(block, out.receipts)
            except Exception:
                log.exception("event=listener_failed number=%d", block.number)
        return block

    def _drop_skipped(self, out: BlockExecution) -> None:
        """Txs the proposer could not run (permission revoked, stale nonce) leave the pool, never a block."""
        with self.pool_lock:
            self.pool.remove([tx.hash for tx, _ in out.skipped])

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
            h = block.header
            if h.number != self.head.number + 1 or h.parent_hash != self.head_hash:
                raise ChainIntegrityError(f"block {h.number} does not extend head {self.head.number}")
            if h.timestamp_ms <= self.head.timestamp_ms:
                raise ChainIntegrityError("block timestamp is not after its parent's")
            if h.gas_limit != self.genesis.block_gas_limit:
                raise ChainIntegrityError("block gas limit differs from the chain's")
            try:
                pending = self._execute(h.timestamp_ms, h.proposer, h.extra_data, block.txs, strict=True)
            except TxSkipped as exc:
                raise ChainIntegrityError(f"block {h.number} carries an invalid tx: {exc}") from exc
            mine = pending.header
            if (mine.tx_root, mine.receipts_root, mine.gas_used) != (h.tx_root, h.receipts_root, h.gas_used):
                raise ChainIntegrityError(f"block {h.number}: transactions or receipts differ from the header")
            if mine.state_root != h.state_root:
                raise StateCommitmentMismatch(f"block {h.number}: computed state 0x{mine.state_root.hex()}, "
                                              f"block commits to 0x{h.state_root.hex()}")
            return pending

    def validators_for(self, number: int) -> tuple[bytes, ...]:
        """The validators that seal block `number`: Consortium.validators() in the state of block number - 1,
        since a change applies from effectiveFromBlock, the block after the one that made it. Only the head's
        state is kept, so any number gets the set in force after the head: consensus and sync ask for head + 1
        only, once the head is committed (network/abc.py ChainAPI.validators_at)."""
        with self.lock:
            cached = self._validator_cache
            if cached is None or cached[0] != self.head_hash:
                cached = self._validator_cache = (self.head_hash, self._read_validators())
            return cached[1]

    def _read_validators(self) -> tuple[bytes, ...]:
        consortium = self.executor.consortium
        if consortium is None:
            return self.genesis.validators  # a chain deployed without the suite (tests)
        result = self.executor.call(ZERO_ADDRESS, consortium, VALIDATORS_SELECTOR)
        if not result.success:
            raise StoreCorrupted("Consortium.validators() failed on the head state")
        (addresses,) = abi_decode(["address[]"], result.output)
        validators = tuple(bytes.fromhex(a[2:]) for a in addresses)
        if not validators:
            raise StoreCorrupted("Consortium lists no validators")
        return validators

    def verify_seals(self, block: Block) -> None:
        problem = commit_seal_problem(block.hash, block.seals, self.validators_for(block.number))
        if problem is not None:
            raise ChainIntegrityError(f"block {block.number} {problem}")

    def _check_running(self) -> None:
        if self.halted:
            raise NodeHalted(f"node halted: {self.halted}")
