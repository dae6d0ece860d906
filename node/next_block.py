"""The next block, executed while this one is written: a proposer that is behind keeps its execution process busy.

A loaded node builds blocks back to back: each one executes in the execution process, then the node writes it
(a synced LevelDB batch, 15-30 ms for 1,500 txs), publishes it to its read view and prunes the pool, and only then
selects and executes the next. The child sat idle through all of that. Once consensus has decided a block, its
state is final, so nothing stops the child from running the next block on it while the node writes: the node
sends the block's diff, then the next block's txs, and goes on to write. When consensus asks this node for the
next block (at the next height, past the block period), the executed block is there; if anything changed in
between (another proposer's block, a different timestamp or limits), its answer is thrown away and the block
is built as before.

Only a node that is behind does this: one whose next block is already due when this one commits, and already full
(the pool holds at least a block's worth of txs ready to go). Otherwise the next block is selected after the
write as before, so that a tx arriving meanwhile still makes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.tx.model import Transaction


@dataclass(frozen=True, slots=True)
class NextBlock:
    """What the proposer of the next height would build now: when, by whom, and within which limits."""

    timestamp_ms: int
    proposer: bytes
    max_txs: int
    max_gas: int | None


@dataclass(frozen=True, slots=True)
class RunAhead:
    """A next block sent to the execution process: on top of `parent_hash`, with these txs, under `ticket`."""

    parent_hash: bytes
    plan: NextBlock
    txs: tuple[Transaction, ...]
    ticket: int

    def serves(self, parent_hash: bytes, timestamp_ms: int, proposer: bytes, max_txs: int, max_gas: int | None,
               extra_data: bytes) -> bool:
        """Whether this is the block a proposer now asks for: the same parent, proposer and limits, no extra data,
        and a timestamp no later than the one asked (it was chosen past the block period already)."""
        plan = self.plan
        return (parent_hash == self.parent_hash and proposer == plan.proposer and max_txs == plan.max_txs
                and max_gas == plan.max_gas and not extra_data and plan.timestamp_ms <= timestamp_ms)
