"""The next block, executed as its txs arrive: a proposer keeps its execution process busy while it waits.

A proposer used to execute its whole block once the block period had passed: through the period the execution
process sat idle while txs piled up in the pool, and a loaded node then spent a block's execution (113-350 ms
for 1,500 txs) before it could propose. Instead, the node that will propose the next block opens it in the
execution process as soon as it knows (when the block before commits, or when the first tx arrives while it
waits for its period) and sends each batch of ready txs there as it is admitted: the child executes them on
the head's state while the node goes on. When consensus asks for the block, what is left to do is the txs of
the last moments, the block's roots and the state it touched.

The open block is used only for the request it was opened for: the same parent, proposer and limits, no extra
data, and a timestamp no later than the one asked (the header takes the open block's, which the EVM already
saw). Anything else (another proposer's block, a round change to other limits, a lost child) discards it, and
the block is built from the pool as before. Txs run in the order they reached the block, which is an order the
pool could have chosen (each sender's nonces in turn, senders by arrival).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from node.tx.model import Transaction


@dataclass(frozen=True, slots=True)
class NextBlock:
    """What the proposer of the next height would build: when, by whom, and within which limits."""

    timestamp_ms: int
    proposer: bytes
    max_txs: int
    max_gas: int | None

    def serves(self, timestamp_ms: int, proposer: bytes, max_txs: int, max_gas: int | None, extra_data: bytes
               ) -> bool:
        """Whether a block opened for this plan is the block a proposer now asks for (on the same parent)."""
        return (proposer == self.proposer and max_txs == self.max_txs and max_gas == self.max_gas
                and not extra_data and self.timestamp_ms <= timestamp_ms)


@dataclass(slots=True)
class OpenNext:
    """The next block, open in the executor on `parent_hash` under `handle`, with every tx sent into it so far."""

    parent_hash: bytes
    plan: NextBlock
    handle: object  # the executor's: an OpenBlock in process, a ticket for the execution process
    txs: list[Transaction] = field(default_factory=list)
    next_nonce: dict[bytes, int] = field(default_factory=dict)  # each sender's nonce after the txs sent
    declared_gas: int = 0  # the sent txs' gas limits, which the block gas limit bounds as the pool's select does

    def serves(self, parent_hash: bytes, timestamp_ms: int, proposer: bytes, max_txs: int, max_gas: int | None,
               extra_data: bytes) -> bool:
        return parent_hash == self.parent_hash and self.plan.serves(timestamp_ms, proposer, max_txs, max_gas,
                                                                     extra_data)

    def sent(self, txs: list[Transaction]) -> None:
        self.txs.extend(txs)
        for tx in txs:
            self.next_nonce[tx.sender] = tx.nonce + 1
            self.declared_gas += tx.gas_limit
