"""The node's component interfaces in one place (py-evm's abc style): what consensus, sync, RPC and tests
may rely on, whatever concrete class sits behind. Concrete classes live beside what they implement:
ChainEngine (engine.py), ChainStore (store/chain_store.py), EvmExecutor (execution/executor.py),
ResumeFile (resume_file.py); ConsensusRunner (consensus_runner.py) is the asyncio TimersAPI. The transport
the consensus driver talks through is network.transport.Transport."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from network.qbft import ResumeState
    from node.chain.block import Block
    from node.chain.header import BlockHeader
    from node.chain.receipt import Receipt
    from node.chain.state import AccountRecord, StateDiff
    from node.engine import PendingBlock
    from node.execution.executor import BlockContext, BlockExecution, CallResult
    from node.tx.model import Transaction


class ChainStoreAPI(Protocol):
    """Durable chain: one atomic write per block; state rows always belong to the head."""

    def commit_block(self, block: Block, receipts: Sequence[Receipt], diff: StateDiff,
                     genesis_doc: bytes | None = None, encoded_receipts: Sequence[bytes] | None = None) -> None: ...

    def head(self) -> tuple[int, bytes] | None: ...

    def block(self, block_hash: bytes) -> Block | None: ...

    def hash_by_number(self, number: int) -> bytes | None: ...

    def account(self, address: bytes) -> AccountRecord: ...

    def slot(self, address: bytes, slot: int) -> int: ...

    def accounts(self) -> Iterator[tuple[bytes, AccountRecord]]: ...

    def storage(self) -> Iterator[tuple[bytes, int, int]]: ...


class ExecutorAPI(Protocol):
    """Runs txs against the head state; the node owns nonces and re-checks permission per tx."""

    def load(self, accounts: Sequence[tuple[bytes, AccountRecord]], code_of: Callable[[bytes], bytes],
             storage: Iterator[tuple[bytes, int, int]]) -> None: ...

    def execute_block(self, ctx: BlockContext, txs: Sequence[Transaction], strict: bool) -> BlockExecution: ...

    def block_committed(self, out: BlockExecution) -> None: ...

    def can_write(self, sender: bytes) -> bool: ...

    def call(self, sender: bytes, to: bytes | None, data: bytes, value: int = 0, gas: int | None = None) -> CallResult: ...


class ChainAPI(Protocol):
    """What the consensus driver (QBFT) drives: propose -> execute -> commit with seals, validate a peer's
    proposal, or import a block finalised elsewhere. A StateCommitmentMismatch on import halts the node."""

    head: BlockHeader
    head_hash: bytes

    def propose(self, timestamp_ms: int, proposer: bytes, max_txs: int, allow_empty: bool = False,
                extra_data: bytes = b"") -> PendingBlock | None: ...

    def commit(self, pending: PendingBlock, seals: Sequence[bytes]) -> Block: ...

    def abandon(self, pending: PendingBlock) -> None: ...

    def import_block(self, block: Block) -> Block: ...

    def validate_block(self, block: Block) -> PendingBlock: ...

    def validators_for(self, number: int) -> tuple[bytes, ...]: ...

    def verify_seals(self, block: Block) -> None: ...

    def on_block(self, listener: Callable[[Block, list[Receipt]], None]) -> Callable[[], None]: ...


class TimersAPI(Protocol):
    """Consensus round timers, the only clock the QBFT core sees: fire on_timeout(height, round) later."""

    def set_timer(self, height: int, round_: int, delay_ms: int) -> None: ...


class ResumeStoreAPI(Protocol):
    """Where a validator keeps its consensus ResumeState; save() is durable when it returns."""

    def load(self) -> ResumeState | None: ...

    def save(self, state: ResumeState) -> None: ...
