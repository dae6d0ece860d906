"""The executor's interface, and the types it speaks: what the engine asks of whatever executes blocks.

Two implementations hold the head state and run blocks on it: node/execution/evm.py `EvmExecutor` (pyrevm in
this process: tests and tools) and node/execution/process.py `ExecutionProcess` (the same EvmExecutor in a child
process, as a running node executes). The engine (node/engine/) speaks to either through `Executor` alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from node.chain.receipt import Receipt
from node.chain.roots import BlockRoots
from node.chain.state import AccountRecord, StateDiff, TouchedAccount
from node.tx.model import Transaction


@dataclass(frozen=True, slots=True)
class BlockContext:
    number: int
    timestamp: int  # seconds, as TIMESTAMP returns
    proposer: bytes
    gas_limit: int


@dataclass(slots=True)
class BlockExecution:
    included: list[Transaction] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    skipped: list[tuple[Transaction, str]] = field(default_factory=list)
    accounts: dict[bytes, TouchedAccount] = field(default_factory=dict)
    slot_changes: dict[tuple[bytes, int], tuple[int, int]] = field(default_factory=dict)  # (block start, end)
    codes: dict[bytes, bytes] = field(default_factory=dict)
    gas_used: int = 0


@dataclass(frozen=True, slots=True)
class ExecutedBlock:
    """A block's execution with what its header and store need from the receipts, computed where it ran."""

    execution: BlockExecution
    encoded_receipts: tuple[bytes, ...]
    roots: BlockRoots


class TxSkipped(Exception):
    """Raised in strict (import) mode when a block carries a tx this node would never have included."""


@dataclass(frozen=True, slots=True, eq=False)
class BlockTicket:
    """The handle of a block an executor holds open (Executor.open_block), which is_open, extend_block and
    seal_block take: one per opening, equal only to itself."""

    number: int


class Executor(Protocol):
    """Executes blocks on the head state it holds; not thread-safe (the engine's lock serialises its callers).

    Execution leaves the head state as it was: a block's effects go in with block_committed() once it is
    durable. A block may also be opened and run as its txs come (open_block, extend_block, seal_block); any
    other call in between discards it."""

    def loading(self, accounts: Iterable[tuple[bytes, AccountRecord]], code_of: Callable[[bytes], bytes],
                storage: Iterable[tuple[bytes, int, int]]) -> Iterator[tuple[bytes, int, int]]:
        """Replace the head state with exactly this one, yielding `storage` on the way: a caller that also loads
        the state (the read view) reads the store once for both. Loaded once the iterator is exhausted."""
        ...

    def run_block(self, ctx: BlockContext, txs: Sequence[Transaction], strict: bool,
                  gas_budget: int | None = None) -> ExecutedBlock:
        """Run txs in order. Non-strict (proposer) skips txs that may not run; strict (import) raises TxSkipped.
        `gas_budget` (proposer only): stop before the first tx whose gas limit no longer fits in what the block
        has actually used so far (geth's rule), leaving it and the rest to the pool."""
        ...

    def open_block(self, ctx: BlockContext, gas_budget: int | None = None) -> BlockTicket:
        """A proposer's block, run as its txs come (non-strict); the one open before, if any, is discarded."""
        ...

    def is_open(self, ticket: BlockTicket) -> bool:
        """Whether the block opened under `ticket` is still open: anything else run or written since discarded it."""
        ...

    def extend_block(self, ticket: BlockTicket, txs: Sequence[Transaction]) -> None:
        """Run more txs into the open block, after its earlier ones; ignored if it was discarded."""
        ...

    def seal_block(self, ticket: BlockTicket) -> ExecutedBlock | None:
        """The open block, executed (as run_block of all its txs gives); None if it was discarded meanwhile."""
        ...

    def block_committed(self, diff: StateDiff, code_of: Callable[[bytes], bytes]) -> None:
        """The block is durable: write its net effects into the head state (execution was reverted)."""
        ...

    def close(self) -> None:
        """Release what executes blocks (a child process); nothing runs on it after."""
        ...
