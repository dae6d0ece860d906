"""What the JSON-RPC layer needs from a node: one Protocol, so the RPC server, tests and simulators wire alike.

One typed boundary: node/rpc parses every parameter once, at the edge, into the values below (ints, bytes,
CallRequest, LogQuery, LogCriteria), and the node never parses JSON-RPC text again. Results go back in
JSON-RPC shape (blocks, txs, receipts, logs as 0x-hex dicts), which the RPC layer passes through.
Methods raise `node.errors.NodeError` subclasses; anything else is an internal error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from node.rpc.log_filter import LogCriteria
from node.tx.model import Transaction

JsonDict = dict[str, Any]
BLOCK_TAGS = frozenset({"latest", "earliest", "pending", "safe", "finalized"})
BlockTag = int | str  # a block number, or one of BLOCK_TAGS
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CallRequest:
    """eth_call / eth_estimateGas: what execution needs of the call object (fee fields are checked, then unused:
    gas is priced at zero)."""

    sender: bytes | None = None
    to: bytes | None = None
    data: bytes = b""
    value: int = 0
    gas: int | None = None


@dataclass(frozen=True, slots=True)
class LogQuery:
    """eth_getLogs over a resolved range [first, last] or one block by hash, and what its logs must match."""

    criteria: LogCriteria
    first: int = 0
    last: int = 0
    block_hash: bytes | None = None


class NodeBackend(Protocol):
    """A node as seen by JSON-RPC. Blocks are final when they exist (BFT finality): safe == finalized == latest."""

    @property
    def chain_id(self) -> int: ...

    @property
    def client_version(self) -> str: ...

    def block_number(self) -> int: ...

    def get_block_by_number(self, tag: BlockTag, full_txs: bool) -> JsonDict | None: ...

    def get_block_by_hash(self, block_hash: bytes, full_txs: bool) -> JsonDict | None: ...

    def get_transaction_by_hash(self, tx_hash: bytes) -> JsonDict | None:
        """A mined tx (with blockHash/blockNumber/blockTimestamp/transactionIndex) or a pending one (those null)."""

    def get_transaction_receipt(self, tx_hash: bytes) -> JsonDict | None: ...

    def get_block_receipts(self, block: BlockTag | bytes) -> list[JsonDict] | None:
        """The receipts of a block (by number, tag or hash), in block order; None for a block not held."""

    def send_raw_transaction(self, raw: bytes | Transaction) -> bytes:
        """Admit a signed tx to the pool, as raw bytes or as a worker decoded them from such bytes (offload);
        returns its hash. Raises MalformedTransaction / TxRejected."""

    def offload(self, fn: Callable[..., T], *args: object) -> T | None:
        """fn(decode limits, *args) on another core (a module-level fn), or None when this node has no workers."""

    def prefetch_raw_transactions(self, raws: Sequence[bytes]) -> AbstractContextManager[None]:
        """A batch is about to send these raw txs: the node may start verifying them ahead (on other cores)."""

    def make_durable(self, tx_hashes: Sequence[bytes]) -> None:
        """The barrier before a request that admitted `tx_hashes` is answered: returns once they survive a crash.
        On failure it raises a NodeError, and those txs are no longer pending: the replies must be errors."""

    def call(self, request: CallRequest, tag: BlockTag) -> bytes:
        """Execute without committing; raises ExecutionReverted with the revert data on revert."""

    def estimate_gas(self, request: CallRequest, tag: BlockTag) -> int: ...

    def get_transaction_count(self, address: bytes, tag: BlockTag) -> int:
        """Next nonce; with tag "pending" it counts the sender's txs waiting in the pool."""

    def get_balance(self, address: bytes, tag: BlockTag) -> int: ...

    def get_code(self, address: bytes, tag: BlockTag) -> bytes: ...

    def get_storage_at(self, address: bytes, slot: int, tag: BlockTag) -> bytes:
        """32 bytes, big-endian."""

    def get_logs(self, query: LogQuery) -> list[JsonDict]:
        """The matching logs of the query's blocks; BlockNotFound for an unknown block hash."""

    def fee_history(self, block_count: int, newest: BlockTag, percentiles: list[float]) -> JsonDict: ...

    def syncing(self) -> JsonDict | bool: ...

    def status(self) -> JsonDict:
        """colend_status: node id, chain id, head number/hash, state commitment, pool size, peers, validators."""

    def subscribe_new_heads(self, callback: Callable[[JsonDict], None]) -> Callable[[], None]:
        """Call `callback(header)` for every new block; returns an unsubscribe function."""

    def subscribe_logs(self, criteria: LogCriteria, callback: Callable[[JsonDict], None]) -> Callable[[], None]:
        """Call `callback(log)` for every new log matching address/topics; returns an unsubscribe function."""
