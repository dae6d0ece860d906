"""JSON-RPC protocol errors, in the node's one hierarchy so the dispatcher maps every error the same way."""

from __future__ import annotations

from node.errors import ExecutionReverted, NodeError

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000
RESPONSE_TOO_LARGE = -32003
LIMIT_EXCEEDED = -32005


class RpcError(NodeError):
    """An error of the JSON-RPC layer itself rather than of the node behind it."""

    code = "node.rpc_error"
    rpc_code = SERVER_ERROR


class ParseError(RpcError):
    code = "node.parse_error"
    rpc_code = PARSE_ERROR


class InvalidRequest(RpcError):
    code = "node.invalid_request"
    rpc_code = INVALID_REQUEST


class MethodNotFound(RpcError):
    code = "node.method_not_found"
    rpc_code = METHOD_NOT_FOUND


class InternalError(RpcError):
    """Something failed inside the node; details go to the log, not to the caller."""

    code = "node.internal_error"
    rpc_code = INTERNAL_ERROR


class LimitExceeded(RpcError):
    """A query or a resource a caller asked for is larger than the server's limits allow."""

    code = "node.limit_exceeded"
    rpc_code = LIMIT_EXCEEDED


class ResponseTooLarge(RpcError):
    """A batch whose replies grew past the response limit; the calls left were not run."""

    code = "node.response_too_large"
    rpc_code = RESPONSE_TOO_LARGE


class FilterNotFound(RpcError):
    code = "node.filter_not_found"
    rpc_code = SERVER_ERROR


class UnknownGroup(RpcError):
    """A request for a ledger group this node does not hold (HTTP 404): nothing of any other group answers it."""

    code = "node.unknown_group"
    rpc_code = METHOD_NOT_FOUND  # like a path with no endpoint behind it

    @classmethod
    def named(cls, name: str) -> UnknownGroup:
        shown = name[:64]
        return cls(f"unknown group {shown!r}: this node holds no such ledger group", data={"group": shown})


class InvalidGroupName(RpcError):
    code = "node.invalid_group_name"


class GroupAlreadyServed(RpcError):
    code = "node.group_already_served"


def error_data(exc: NodeError) -> object:
    """The error object's `data`: revert bytes stay the bare 0x-hex clients decode; any other error carries its
    stable string code (`package.reason`), beside whatever details it has."""
    if isinstance(exc, ExecutionReverted):
        return exc.data
    if isinstance(exc.data, dict):
        return {"code": exc.code, **exc.data}
    return {"code": exc.code} if exc.data is None else {"code": exc.code, "detail": exc.data}
