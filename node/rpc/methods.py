"""The method table: every JSON-RPC method, its parameters (parsed strictly, in order) and its handler.

Handlers take a `CallContext` and the parsed arguments and return a JSON-ready value; the dispatcher owns
framing and error mapping. Values from the backend are already in JSON-RPC shape and pass through.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from node.errors import BlockNotFound, InvalidParams, TxRejected
from node.rpc.backend.api import BlockTag, CallRequest, JsonDict, NodeBackend
from node.rpc.errors import MethodNotFound
from node.rpc.filters import FilterRegistry
from node.rpc.limits import RpcLimits
from node.rpc.log_query import LogFilter, check_results, parse_log_filter, query_criteria
from node.rpc.params import (
    BlockHashRef,
    BlockRef,
    format_data,
    format_quantity,
    json_type,
    parse_address,
    parse_block_id,
    parse_block_number,
    parse_block_ref,
    parse_bool,
    parse_call_object,
    parse_count,
    parse_data,
    parse_hash,
    parse_storage_slot,
    parse_uint64,
)
from node.rpc.subscriptions import SubscriptionSession
from node.tx.model import Transaction

Parser = Callable[[object, str], Any]
MISSING = object()


@dataclass
class CallContext:
    """What one call may touch; `session` is set only on a WebSocket, which alone can carry notifications."""

    backend: NodeBackend
    limits: RpcLimits
    filters: FilterRegistry
    session: SubscriptionSession | None = None
    admitted: list[bytes] = field(default_factory=list)  # txs this request admitted: durable before any reply


@dataclass(frozen=True)
class Param:
    name: str
    parse: Parser
    default: object = MISSING  # MISSING: required; otherwise the value used when absent or null

    @property
    def required(self) -> bool:
        return self.default is MISSING


@dataclass(frozen=True)
class Method:
    name: str
    params: tuple[Param, ...]
    handler: Callable[..., object]

    def parse_args(self, raw: list[object]) -> list[object]:
        """Positional params per geth's rules: at most len(params); trailing optional ones may be absent or null."""
        if len(raw) > len(self.params):
            raise InvalidParams(f"too many arguments, want at most {len(self.params)}")
        args = []
        for index, param in enumerate(self.params):
            value = raw[index] if index < len(raw) else None
            if value is None and not param.required:
                args.append(param.default)
            elif index >= len(raw):
                raise InvalidParams(f"missing value for required argument {index} ({param.name})")
            else:
                args.append(param.parse(value, f"argument {index} ({param.name})"))
        return args


_HEX_ID = re.compile(r"0x[0-9a-fA-F]{1,64}")


def _hex_id(value: object, what: str) -> str:
    """Filter and subscription ids: ours are 0x + 32 hex digits; any short hex id is accepted, as geth does."""
    if not isinstance(value, str) or not _HEX_ID.fullmatch(value):
        shown = json_type(value) if not isinstance(value, str) else repr(value[:40])
        raise InvalidParams(f"invalid {what}: expected a 0x-prefixed hex id of at most 32 bytes, got {shown}")
    return value


def _any(value: object, what: str) -> object:
    """For a parameter whose meaning depends on another one; its handler parses it."""
    return value


def _raw_tx(limits: RpcLimits, value: object, what: str) -> bytes:
    if isinstance(value, str) and len(value) > 2 + 2 * limits.max_raw_tx_bytes:
        # geth's pool message; checked before decoding so a huge string costs nothing.
        raise TxRejected(
            f"oversized data: transaction size {(len(value) - 2) // 2}, limit {limits.max_raw_tx_bytes}"
        )
    return parse_data(value, what)


def _percentiles(value: object, what: str) -> list[float]:
    if not isinstance(value, list):
        raise InvalidParams(f"invalid {what}: expected an array, got {json_type(value)}")
    out: list[float] = []
    for i, p in enumerate(value):
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 100:
            raise InvalidParams(f"invalid {what}: invalid reward percentile at index {i}: {p!r}")
        if out and p < out[-1]:
            raise InvalidParams(f"invalid {what}: reward percentiles not in ascending order")
        out.append(float(p))
    return out


def _resolve(ctx: CallContext, ref: BlockRef) -> BlockTag:
    """A tag or number the backend takes; an EIP-1898 hash reference becomes that block's number."""
    if not isinstance(ref, BlockHashRef):
        return ref
    block = ctx.backend.get_block_by_hash(ref.block_hash, False)
    if block is None:
        raise BlockNotFound(f"header for hash {format_data(ref.block_hash)} not found")
    return int(str(block["number"]), 16)


# --- web3_ / net_ -----------------------------------------------------------------------------------------


def web3_client_version(ctx: CallContext) -> str:
    return ctx.backend.client_version


def net_version(ctx: CallContext) -> str:
    return str(ctx.backend.chain_id)


def net_listening(ctx: CallContext) -> bool:
    return True


def net_peer_count(ctx: CallContext) -> str:
    peers = ctx.backend.status().get("peers", 0)
    if isinstance(peers, list | tuple | dict):
        return format_quantity(len(peers))
    if isinstance(peers, str):
        return format_quantity(int(peers, 16) if peers.startswith("0x") else int(peers))
    return format_quantity(int(peers))


# --- chain reads --------------------------------------------------------------------------------------------


def eth_chain_id(ctx: CallContext) -> str:
    return format_quantity(ctx.backend.chain_id)


def eth_block_number(ctx: CallContext) -> str:
    return format_quantity(ctx.backend.block_number())


def eth_get_block_by_number(ctx: CallContext, tag: BlockTag, full: bool) -> JsonDict | None:
    return ctx.backend.get_block_by_number(tag, full)


def eth_get_block_by_hash(ctx: CallContext, block_hash: bytes, full: bool) -> JsonDict | None:
    return ctx.backend.get_block_by_hash(block_hash, full)


def _tx_count(block: JsonDict | None) -> str | None:
    return None if block is None else format_quantity(len(block.get("transactions", ())))


def eth_get_block_tx_count_by_number(ctx: CallContext, tag: BlockTag) -> str | None:
    return _tx_count(ctx.backend.get_block_by_number(tag, False))


def eth_get_block_tx_count_by_hash(ctx: CallContext, block_hash: bytes) -> str | None:
    return _tx_count(ctx.backend.get_block_by_hash(block_hash, False))


def _uncle_count(block: JsonDict | None) -> str | None:
    return None if block is None else "0x0"  # BFT chains have no uncles


def eth_get_uncle_count_by_number(ctx: CallContext, tag: BlockTag) -> str | None:
    return _uncle_count(ctx.backend.get_block_by_number(tag, False))


def eth_get_uncle_count_by_hash(ctx: CallContext, block_hash: bytes) -> str | None:
    return _uncle_count(ctx.backend.get_block_by_hash(block_hash, False))


def _tx_at(block: JsonDict | None, index: int) -> JsonDict | None:
    if block is None:
        return None
    txs = block.get("transactions", [])
    return txs[index] if index < len(txs) else None


def eth_get_tx_by_number_and_index(ctx: CallContext, tag: BlockTag, index: int) -> JsonDict | None:
    return _tx_at(ctx.backend.get_block_by_number(tag, True), index)


def eth_get_tx_by_hash_and_index(ctx: CallContext, block_hash: bytes, index: int) -> JsonDict | None:
    return _tx_at(ctx.backend.get_block_by_hash(block_hash, True), index)


def eth_get_transaction_by_hash(ctx: CallContext, tx_hash: bytes) -> JsonDict | None:
    return ctx.backend.get_transaction_by_hash(tx_hash)


def eth_get_transaction_receipt(ctx: CallContext, tx_hash: bytes) -> JsonDict | None:
    return ctx.backend.get_transaction_receipt(tx_hash)


def eth_get_block_receipts(ctx: CallContext, ref: BlockRef) -> list[JsonDict] | None:
    return ctx.backend.get_block_receipts(ref.block_hash if isinstance(ref, BlockHashRef) else ref)


def eth_syncing(ctx: CallContext) -> JsonDict | bool:
    return ctx.backend.syncing()


def eth_fee_history(ctx: CallContext, count: int, newest: BlockTag, percentiles: list[float]) -> JsonDict:
    if len(percentiles) > ctx.limits.max_reward_percentiles:
        raise InvalidParams(f"too many reward percentiles, at most {ctx.limits.max_reward_percentiles}")
    # geth caps the count silently rather than failing, and clients rely on that.
    return ctx.backend.fee_history(min(count, ctx.limits.max_fee_history_blocks), newest, percentiles)


# --- state reads --------------------------------------------------------------------------------------------


def eth_get_balance(ctx: CallContext, address: bytes, ref: BlockRef) -> str:
    return format_quantity(ctx.backend.get_balance(address, _resolve(ctx, ref)))


def eth_get_transaction_count(ctx: CallContext, address: bytes, ref: BlockRef) -> str:
    return format_quantity(ctx.backend.get_transaction_count(address, _resolve(ctx, ref)))


def eth_get_code(ctx: CallContext, address: bytes, ref: BlockRef) -> str:
    return format_data(ctx.backend.get_code(address, _resolve(ctx, ref)))


def eth_get_storage_at(ctx: CallContext, address: bytes, slot: int, ref: BlockRef) -> str:
    return format_data(ctx.backend.get_storage_at(address, slot, _resolve(ctx, ref)))


def eth_call(ctx: CallContext, request: CallRequest, ref: BlockRef) -> str:
    return format_data(ctx.backend.call(request, _resolve(ctx, ref)))


def eth_estimate_gas(ctx: CallContext, request: CallRequest, ref: BlockRef) -> str:
    return format_quantity(ctx.backend.estimate_gas(request, _resolve(ctx, ref)))


# --- writes -------------------------------------------------------------------------------------------------


def eth_send_raw_transaction(ctx: CallContext, raw: bytes | Transaction) -> str:
    """`raw` is the parsed param, or the tx a worker already decoded from it (node/rpc/prepare.py)."""
    tx_hash = ctx.backend.send_raw_transaction(raw)
    ctx.admitted.append(tx_hash)
    return format_data(tx_hash)


# --- logs, filters, subscriptions ---------------------------------------------------------------------------


def eth_get_logs(ctx: CallContext, spec: LogFilter) -> list[JsonDict]:
    criteria = query_criteria(spec, ctx.backend.block_number(), ctx.limits)
    return [] if criteria is None else check_results(ctx.backend.get_logs(criteria), ctx.limits)


def eth_new_filter(ctx: CallContext, spec: LogFilter) -> str:
    if spec.block_hash is not None:
        raise InvalidParams("invalid argument 0 (filter): blockHash is not supported by eth_newFilter, use eth_getLogs")
    return ctx.filters.new_log_filter(spec)


def eth_new_block_filter(ctx: CallContext) -> str:
    return ctx.filters.new_block_filter()


def eth_get_filter_changes(ctx: CallContext, filter_id: str) -> list[Any]:
    return ctx.filters.changes(filter_id)


def eth_get_filter_logs(ctx: CallContext, filter_id: str) -> list[JsonDict]:
    return ctx.filters.logs(filter_id)


def eth_uninstall_filter(ctx: CallContext, filter_id: str) -> bool:
    return ctx.filters.uninstall(filter_id)


def _session(ctx: CallContext) -> SubscriptionSession:
    if ctx.session is None:
        raise MethodNotFound("notifications not supported: use a WebSocket connection for eth_subscribe")
    return ctx.session


def eth_subscribe(ctx: CallContext, kind: object, options: object) -> str:
    return _session(ctx).subscribe(kind, options)


def eth_unsubscribe(ctx: CallContext, sub_id: str) -> bool:
    return _session(ctx).unsubscribe(sub_id)


def colend_status(ctx: CallContext) -> JsonDict:
    return ctx.backend.status()


def _constant(value: object) -> Callable[[CallContext], object]:
    def handler(ctx: CallContext) -> object:
        return value

    return handler


def build_methods(limits: RpcLimits) -> dict[str, Method]:
    """The method table; `limits` shapes parameter checks that depend on them."""
    address = Param("address", parse_address)
    block_ref = Param("block", parse_block_ref, default="latest")
    tag = Param("block", parse_block_number)
    block_hash = Param("blockHash", parse_hash)
    full = Param("fullTransactions", parse_bool, default=False)
    tx_hash = Param("transactionHash", parse_hash)
    index = Param("index", parse_uint64)
    call = Param("transaction", parse_call_object)
    filter_id = Param("filterId", _hex_id)
    table = [
        Method("web3_clientVersion", (), web3_client_version),
        Method("net_version", (), net_version),
        Method("net_listening", (), net_listening),
        Method("net_peerCount", (), net_peer_count),
        Method("eth_chainId", (), eth_chain_id),
        Method("eth_blockNumber", (), eth_block_number),
        Method("eth_syncing", (), eth_syncing),
        Method("eth_accounts", (), _constant([])),  # the node holds no user keys; clients sign
        Method("eth_gasPrice", (), _constant("0x0")),  # gas is metered, priced at zero
        Method("eth_maxPriorityFeePerGas", (), _constant("0x0")),
        Method(
            "eth_feeHistory",
            (
                Param("blockCount", parse_count),
                Param("newestBlock", parse_block_number),
                Param("rewardPercentiles", _percentiles, default=[]),
            ),
            eth_fee_history,
        ),
        Method("eth_getBlockByNumber", (tag, full), eth_get_block_by_number),
        Method("eth_getBlockByHash", (block_hash, full), eth_get_block_by_hash),
        Method("eth_getBlockTransactionCountByNumber", (tag,), eth_get_block_tx_count_by_number),
        Method("eth_getBlockTransactionCountByHash", (block_hash,), eth_get_block_tx_count_by_hash),
        Method("eth_getUncleCountByBlockNumber", (tag,), eth_get_uncle_count_by_number),
        Method("eth_getUncleCountByBlockHash", (block_hash,), eth_get_uncle_count_by_hash),
        Method("eth_getTransactionByBlockNumberAndIndex", (tag, index), eth_get_tx_by_number_and_index),
        Method("eth_getTransactionByBlockHashAndIndex", (block_hash, index), eth_get_tx_by_hash_and_index),
        Method("eth_getTransactionByHash", (tx_hash,), eth_get_transaction_by_hash),
        Method("eth_getTransactionReceipt", (tx_hash,), eth_get_transaction_receipt),
        Method("eth_getBlockReceipts", (Param("block", parse_block_id),), eth_get_block_receipts),
        Method("eth_getBalance", (address, block_ref), eth_get_balance),
        Method("eth_getTransactionCount", (address, block_ref), eth_get_transaction_count),
        Method("eth_getCode", (address, block_ref), eth_get_code),
        Method(
            "eth_getStorageAt", (address, Param("slot", parse_storage_slot), block_ref), eth_get_storage_at
        ),
        Method("eth_call", (call, block_ref), eth_call),
        Method("eth_estimateGas", (call, block_ref), eth_estimate_gas),
        Method(
            "eth_sendRawTransaction",
            (Param("transaction", partial(_raw_tx, limits)),),
            eth_send_raw_transaction,
        ),
        Method("eth_getLogs", (Param("filter", parse_log_filter),), eth_get_logs),
        Method("eth_newFilter", (Param("filter", parse_log_filter),), eth_new_filter),
        Method("eth_newBlockFilter", (), eth_new_block_filter),
        Method("eth_getFilterChanges", (filter_id,), eth_get_filter_changes),
        Method("eth_getFilterLogs", (filter_id,), eth_get_filter_logs),
        Method("eth_uninstallFilter", (filter_id,), eth_uninstall_filter),
        Method(
            "eth_subscribe",
            (Param("subscriptionType", _any), Param("options", _any, default=None)),
            eth_subscribe,
        ),
        Method("eth_unsubscribe", (Param("subscriptionId", _hex_id),), eth_unsubscribe),
        Method("colend_status", (), colend_status),
    ]
    return {method.name: method for method in table}
