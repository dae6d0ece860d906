"""A batch of eth_sendRawTransaction calls prepared off the node's GIL, in a worker process.

bench.node's profile put most of admitting a tx on the node's GIL in the request itself: the JSON of a
100-tx batch (150 KB: nesting check and decode), then the hex, RLP and hashes of each raw tx. A worker
(node/proc/workers.py) now does all of that, signature recovery included, and hands back each call that
passed every check the normal path makes, as (id, decoded tx fields); the node then only admits and answers.
Every other item (other methods, notifications, malformed calls, txs that do not decode) comes back as the
parsed item and takes the normal path, which answers it exactly as before; a body that is not a non-empty
batch within limits yields None and is handled from its bytes. Pure, so tests run it in-process.
"""

from __future__ import annotations

from typing import TypeAlias

from node.errors import NodeError
from node.rpc.json_text import parse_json, valid_id
from node.rpc.limits import RpcLimits
from node.rpc.params import parse_data
from node.tx.decode import DecodeLimits, decode_transaction

SEND_RAW = "eth_sendRawTransaction"
MIN_BODY_BYTES = 16_384  # below this (a few txs) the hand-off to a worker costs more than it saves

PreparedItem: TypeAlias = "tuple[bool, object]"  # (True, (id, fields)) or (False, the parsed item)


def prepare_batch(decode_limits: DecodeLimits, body: bytes, limits: RpcLimits) -> list[PreparedItem] | None:
    """Each item of a JSON batch: (True, (id, tx fields)) for a send the normal path would decode alike,
    else (False, item). None when the body is not a non-empty batch within the limits."""
    try:
        payload = parse_json(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(payload, list) or not payload or len(payload) > limits.max_batch:
        return None
    return [_prepare_one(item, limits, decode_limits) for item in payload]


def _prepare_one(item: object, limits: RpcLimits, decode_limits: DecodeLimits) -> PreparedItem:
    if not (isinstance(item, dict) and item.get("jsonrpc") == "2.0" and item.get("method") == SEND_RAW):
        return False, item
    params = item.get("params")
    if "id" not in item or not valid_id(item["id"]) or not isinstance(params, list) or len(params) != 1:
        return False, item  # notifications and malformed calls: the normal path answers (or not) as it does
    value = params[0]
    if not isinstance(value, str) or len(value) > 2 + 2 * limits.max_raw_tx_bytes:
        return False, item
    try:
        tx = decode_transaction(parse_data(value, "transaction"), decode_limits)
    except NodeError:
        return False, item
    return True, (item["id"], tx.field_values())

