"""The node's exception hierarchy: every error has a stable machine code and the JSON-RPC code it maps to."""

from __future__ import annotations


class NodeError(Exception):
    """Base of every error the node reports to a caller."""

    code: str = "node.error"
    rpc_code: int = -32000

    def __init__(self, message: str, *, data: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class InvalidParams(NodeError):
    code = "node.invalid_params"
    rpc_code = -32602


class MalformedRlp(NodeError):
    """Bytes that are not one canonical RLP item (node.rlp_codec.decode)."""

    code = "node.malformed_rlp"
    rpc_code = -32602


class MalformedTransaction(NodeError):
    """Raw bytes that are not a decodable, signed Ethereum transaction."""

    code = "node.malformed_tx"
    rpc_code = -32602


class TxRejected(NodeError):
    """A well-formed transaction the pool or the permission check refuses (nonce, chain id, account...)."""

    code = "node.tx_rejected"
    rpc_code = -32000


class NotPermitted(TxRejected):
    """The sender is not an active consortium member account allowed to write."""

    code = "node.not_permitted"
    rpc_code = -32000


class ExecutionReverted(NodeError):
    """eth_call / eth_estimateGas reverted; `data` carries the revert bytes as 0x-hex."""

    code = "node.execution_reverted"
    rpc_code = 3


class BlockNotFound(NodeError):
    code = "node.block_not_found"
    rpc_code = -32001


class StateCommitmentMismatch(NodeError):
    """This node computed a different post-state than the block commits to: halt rather than fork."""

    code = "node.state_commitment_mismatch"
    rpc_code = -32603


class NonceTooLow(TxRejected):
    code = "node.nonce_too_low"


class AlreadyKnown(TxRejected):
    code = "node.already_known"


class InsufficientFunds(TxRejected):
    code = "node.insufficient_funds"


class PoolFull(TxRejected):
    """The pool (or the sender's share of it) has no room; the caller may retry later."""

    code = "node.txpool_full"


class NonceGapTooLarge(TxRejected):
    """The nonce is so far ahead of the account that holding it would only tie up pool room."""

    code = "node.nonce_gap_too_large"


class WrongChainId(TxRejected):
    code = "node.wrong_chain_id"


class GasLimitExceeded(TxRejected):
    code = "node.gas_limit_exceeded"


class OversizedTransaction(TxRejected):
    code = "node.oversized_tx"


class HistoricalStateUnavailable(InvalidParams):
    """The node keeps the latest state only; older blocks' state is rebuilt by replay, not served."""

    code = "node.historical_state_unavailable"


class ChainIntegrityError(NodeError):
    """A block that does not extend the head (parent, number, timestamp, roots or seals)."""

    code = "node.chain_integrity"
    rpc_code = -32603


class StoreCorrupted(NodeError):
    """The chain store is missing a record it must have (genesis, head block, account), or holds one that does
    not decode."""

    code = "node.store_corrupted"
    rpc_code = -32603


class NodeHalted(NodeError):
    """The node stopped accepting blocks after a state commitment mismatch; an operator must intervene."""

    code = "node.node_halted"
    rpc_code = -32603


class PoolJournalWriteFailed(NodeError):
    """The pool journal could not make an admitted tx durable: the tx is not acknowledged (and left the pool)."""

    code = "node.pool_journal_write_failed"
    rpc_code = -32603


class ReadOnlyNode(NodeError):
    """An observer (regulator) node serves reads only: it never accepts a transaction or any other write."""

    code = "node.read_only_node"
    rpc_code = -32000


class RpcExposedWithoutAuth(NodeError):
    """The node's RPC would listen beyond loopback with no caller authentication: it refuses to start."""

    code = "node.rpc_exposed_without_auth"
