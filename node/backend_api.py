"""What the JSON-RPC layer needs from a node: one Protocol, so the RPC server, tests and simulators wire alike.

Every value crossing this boundary is already in Ethereum JSON-RPC shape (0x-hex quantities and data,
checksummed or lower-case 0x addresses), so the RPC layer only dispatches, validates and maps errors.
Methods raise `node.errors.NodeError` subclasses; anything else is an internal error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

JsonDict = dict[str, Any]
BlockTag = str  # "latest" | "earliest" | "pending" | "safe" | "finalized" | 0x-quantity


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
        """A mined tx (with blockHash/blockNumber/transactionIndex) or a pending one (those three null)."""

    def get_transaction_receipt(self, tx_hash: bytes) -> JsonDict | None: ...

    def send_raw_transaction(self, raw: bytes) -> bytes:
        """Admit a signed tx to the pool; returns its hash. Raises MalformedTransaction / TxRejected."""

    def call(self, tx: JsonDict, tag: BlockTag) -> bytes:
        """Execute without committing; raises ExecutionReverted with the revert data on revert."""

    def estimate_gas(self, tx: JsonDict, tag: BlockTag) -> int: ...

    def get_transaction_count(self, address: bytes, tag: BlockTag) -> int:
        """Next nonce; with tag "pending" it counts the sender's txs waiting in the pool."""

    def get_balance(self, address: bytes, tag: BlockTag) -> int: ...

    def get_code(self, address: bytes, tag: BlockTag) -> bytes: ...

    def get_storage_at(self, address: bytes, slot: int, tag: BlockTag) -> bytes:
        """32 bytes, big-endian."""

    def get_logs(self, criteria: JsonDict) -> list[JsonDict]:
        """criteria: fromBlock, toBlock, blockHash, address (one or list), topics (with null and OR-lists)."""

    def fee_history(self, block_count: int, newest: BlockTag, percentiles: list[float]) -> JsonDict: ...

    def syncing(self) -> JsonDict | bool: ...

    def status(self) -> JsonDict:
        """colend_status: node id, chain id, head number/hash, state commitment, pool size, peers, validators."""

    def subscribe_new_heads(self, callback: Callable[[JsonDict], None]) -> Callable[[], None]:
        """Call `callback(header)` for every new block; returns an unsubscribe function."""

    def subscribe_logs(self, criteria: JsonDict, callback: Callable[[JsonDict], None]) -> Callable[[], None]:
        """Call `callback(log)` for every new log matching address/topics; returns an unsubscribe function."""
