"""Block production: this node's next block, built from the pool, or executed early as its txs arrive.

propose() executes the block a proposer puts to consensus, or seals the one open for that very request;
prepare() runs txs that arrived while the proposer waits for its period into the open next block;
commit_opening_next() commits a block with the next one opened on it at once. The plan types and why the next
block runs early are in node/engine/next_block.py; the engine (node/engine/chain_engine.py) executes, imports and
commits. Everything here runs under the engine's `lock`, as execution does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from node.chain.block import Block
from node.engine.chain_engine import ChainEngine, PendingBlock
from node.engine.next_block import NextBlock, OpenNext
from node.execution.abc import BlockContext, ExecutedBlock, Executor
from node.execution.read_view import CommittedState
from node.tx.model import Transaction
from node.txpool.front import PoolFront


class BlockProducer:
    def __init__(self, engine: ChainEngine, executor: Executor, front: PoolFront, read_view: CommittedState) -> None:
        """`executor`: the engine's, which runs the open block; `read_view`: the committed nonces."""
        self._engine = engine
        self._executor = executor
        self._front = front
        self._read_view = read_view
        self._gas_limit = engine.genesis.block_gas_limit
        self._open: OpenNext | None = None  # the next block, executing as its txs arrive

    def _nonce(self, address: bytes) -> int:
        return self._read_view.account(address).nonce

    def propose(self, timestamp_ms: int, proposer: bytes, max_txs: int, allow_empty: bool = False,
                extra_data: bytes = b"", max_gas: int | None = None) -> PendingBlock | None:
        """Execute the next block from the pool, or seal the one open for this very request (node/engine/next_block.py);
        None when there is nothing to put in it. `max_gas` caps the gas
        the block uses (below the chain's block gas limit), so that it executes well within a round: txs go in
        while their gas limit fits in what is left after the gas the block's txs actually used, as geth packs
        (declared limits run far above use: bench.network's postEntry declares 400k and uses 57k, and packing
        by declared gas held a 150M-gas block to 375 of them)."""
        engine = self._engine
        budget = self._gas_budget(max_gas)
        with engine.lock:
            engine.check_running()
            opened, self._open = self._open, None
            executed: ExecutedBlock | None = None
            if opened is not None and opened.serves(engine.head_hash, timestamp_ms, proposer, max_txs, max_gas,
                                                    extra_data):
                executed = self._seal(opened)
            if executed is not None:
                assert opened is not None
                txs, timestamp_ms = opened.txs, opened.plan.timestamp_ms
            else:
                txs = self._front.select(self._nonce, max_txs, self._gas_limit)
                if not txs and not allow_empty:
                    return None
                timestamp_ms = max(timestamp_ms, engine.head.timestamp_ms + 1)
            pending = engine.execute(timestamp_ms, proposer, extra_data, txs, strict=False, gas_budget=budget,
                                     executed=executed)
            if not pending.execution.included and not allow_empty:
                engine.abandon(pending)
                engine.drop_skipped(pending.execution)
                return None
            return pending

    def prepare(self, plan: NextBlock) -> None:
        """Txs arrived while this node waits to propose the next block: run what is ready into the block open for
        `plan`, opening it if need be. A failure here costs only the open block."""
        engine = self._engine
        with engine.lock:
            if engine.halted:
                return
            try:
                opened, head = self._open, engine.head
                plan = replace(plan, timestamp_ms=max(plan.timestamp_ms, head.timestamp_ms + 1))
                if (opened is not None and opened.serves(engine.head_hash, plan.timestamp_ms, plan.proposer,
                                                         plan.max_txs, plan.max_gas, b"")
                        and self._fill(opened, self._nonce)):
                    return
                self._open = self._open_next(head.number + 1, engine.head_hash, plan, self._nonce)
            except Exception:
                self._failed(engine.head.number + 1)

    def commit_opening_next(self, pending: PendingBlock, seals: list[bytes] | tuple[bytes, ...],
                            then: NextBlock | None) -> Block:
        """Commit `pending` (ChainEngine.commit). `then`: the block this node will propose next, to open at once
        and execute while this one is written (node/engine/next_block.py)."""
        engine = self._engine
        with engine.lock:
            self._open = None  # whatever was open extends the old head
            if then is None or then.timestamp_ms <= pending.header.timestamp_ms:
                return engine.commit(pending, seals)
            return engine.commit(pending, seals, lambda block: self._open_after(block, pending, then))

    def _open_after(self, block: Block, pending: PendingBlock, then: NextBlock) -> None:
        """Open the next block on `block`, whose diff the engine has just sent the executor, with the txs ready, so
        that the executor runs them while `block` is written."""
        after = pending.diff.accounts

        def nonce_after(sender: bytes) -> int:
            record = after.get(sender)
            return record.nonce if record is not None else self._nonce(sender)

        self._open = self._open_next(block.number + 1, block.hash, then, nonce_after)

    def _gas_budget(self, max_gas: int | None) -> int | None:
        """A proposer's cap on the gas its block uses; None when the chain's block gas limit is the only one."""
        return None if max_gas is None or max_gas >= self._gas_limit else max_gas

    def _seal(self, opened: OpenNext) -> ExecutedBlock | None:
        """The open block, executed; None if it cannot serve after all (discarded meanwhile, or a failed child,
        which is rebuilt: the block is then built afresh)."""
        try:
            self._fill(opened, self._nonce)
            return self._executor.seal_block(opened.handle)
        except Exception:
            self._failed(self._engine.head.number + 1)
            return None

    def _failed(self, number: int) -> None:
        """Called in an except block: the open block is lost, and the engine rebuilds the executor."""
        self._open = None
        self._engine.open_block_failed(number)

    def _open_next(self, number: int, parent_hash: bytes, plan: NextBlock, nonce_of: Callable[[bytes], int]
                   ) -> OpenNext | None:
        """Open block `number` on `parent_hash` with the txs ready now, if there are any."""
        limit = self._gas_limit
        txs = self._front.select(nonce_of, plan.max_txs, limit)
        if not txs:
            return None
        ctx = BlockContext(number, plan.timestamp_ms // 1000, plan.proposer, limit)
        opened = OpenNext(parent_hash, plan, self._executor.open_block(ctx, self._gas_budget(plan.max_gas)))
        self._send(opened, txs)
        return opened

    def _fill(self, opened: OpenNext, nonce_of: Callable[[bytes], int]) -> bool:
        """Send the open block the txs that became ready since it last took some, within its limits; False if
        the executor no longer holds it open (it ran or applied another block meanwhile)."""
        if not self._executor.is_open(opened.handle):
            return False
        room = opened.plan.max_txs - len(opened.txs)
        if room <= 0:
            return True
        sent = opened.next_nonce

        def next_nonce(sender: bytes) -> int:
            nonce = sent.get(sender)
            return nonce if nonce is not None else nonce_of(sender)

        txs = self._front.select(next_nonce, room, self._gas_limit - opened.declared_gas)
        if txs:
            self._send(opened, txs)
        return True

    def _send(self, opened: OpenNext, txs: list[Transaction]) -> None:
        self._executor.extend_block(opened.handle, txs)
        opened.sent(txs)
