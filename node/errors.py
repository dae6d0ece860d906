"""The node's exception hierarchy: every error has a stable machine code and the JSON-RPC code it maps to."""

from __future__ import annotations


class NodeError(Exception):
    """Base of every error the node reports to a caller."""

    code: str = "node_error"
    rpc_code: int = -32000

    def __init__(self, message: str, *, data: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class InvalidParams(NodeError):
    code = "invalid_params"
    rpc_code = -32602


class MalformedTransaction(NodeError):
    """Raw bytes that are not a decodable, signed Ethereum transaction."""

    code = "malformed_tx"
    rpc_code = -32602


class TxRejected(NodeError):
    """A well-formed transaction the pool or the permission check refuses (nonce, chain id, account...)."""

    code = "tx_rejected"
    rpc_code = -32000


class NotPermitted(TxRejected):
    """The sender is not an active consortium member account allowed to write."""

    code = "not_permitted"
    rpc_code = -32000


class ExecutionReverted(NodeError):
    """eth_call / eth_estimateGas reverted; `data` carries the revert bytes as 0x-hex."""

    code = "execution_reverted"
    rpc_code = 3


class BlockNotFound(NodeError):
    code = "block_not_found"
    rpc_code = -32001


class StateCommitmentMismatch(NodeError):
    """This node computed a different post-state than the block commits to: halt rather than fork."""

    code = "state_commitment_mismatch"
    rpc_code = -32603
