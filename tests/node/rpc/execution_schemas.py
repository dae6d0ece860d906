"""JSON Schemas of the results Colend serves, written after Ethereum's execution-apis (src/schemas/*.yaml for the
types, src/eth/*.yaml for each method's result), field by field: the same required fields, the same hex
patterns (uint, bytes, address, hash), the same closed objects (receipts, logs, fee history).

Where Colend adds to an open object the extra is allowed, as execution-apis allows it: the header's
timestampMs, stateCommitment and commitSeals, and the totalDifficulty clients still read. Its one addition to a
closed object is named here (RECEIPT_EXTRAS). execution-apis has no schema for a tx still in the pool; a pending
tx is the signed tx with null block fields, as geth answers it.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs

Schema = dict[str, Any]

# A receipt's revertData: a failed tx's revert bytes (Besu serves them as revertReason). Only the latest state
# is kept, so a tx cannot be replayed later to learn why it failed; the receipt is where that reason stays.
RECEIPT_EXTRAS = ("revertData",)


def ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


def hex_string(pattern: str) -> Schema:
    return {"type": "string", "pattern": pattern}


def nullable(schema: Schema) -> Schema:
    return {"oneOf": [{"type": "null"}, schema]}


def array_of(schema: Schema) -> Schema:
    return {"type": "array", "items": schema}


def obj(required: tuple[str, ...], properties: dict[str, Schema], *, closed: bool = False) -> Schema:
    schema: Schema = {"type": "object", "required": list(required), "properties": properties}
    if closed:
        schema["additionalProperties"] = False
    return schema


BASE: dict[str, Schema] = {
    "address": hex_string(r"^0x[0-9a-fA-F]{40}$"),  # mixed case: EIP-55 checksums are welcome
    "byte": hex_string(r"^0x[0-9a-f]{1,2}$"),
    "bytes": hex_string(r"^0x[0-9a-f]*$"),
    "bytes8": hex_string(r"^0x[0-9a-f]{16}$"),
    "bytes256": hex_string(r"^0x[0-9a-f]{512}$"),
    "hash32": hex_string(r"^0x[0-9a-f]{64}$"),
    "uint": hex_string(r"^0x(0|[1-9a-f][0-9a-f]*)$"),
    "uint64": hex_string(r"^0x(0|[1-9a-f][0-9a-f]{0,15})$"),
    "uint256": hex_string(r"^0x(0|[1-9a-f][0-9a-f]{0,63})$"),
    "uintDecimal": hex_string(r"^(0|[1-9][0-9]*)$"),
    "ratio": {"type": "number", "minimum": 0, "maximum": 1},
}

TO = nullable(ref("address"))  # null: a contract creation

ACCESS_LIST = array_of(obj(("address", "storageKeys"), {"address": ref("address"), "storageKeys": array_of(ref("hash32"))},
                           closed=True))


def unsigned(tx_type: str, required: tuple[str, ...], fees: dict[str, Schema]) -> Schema:
    """One typed tx's unsigned fields (TransactionLegacyUnsigned, Transaction2930Unsigned, ...1559...)."""
    return obj(("type", "nonce", "gas", "value", "input", *required), {
        "type": {"type": "string", "pattern": f"^{tx_type}$"},
        "nonce": ref("uint"), "to": TO, "gas": ref("uint"), "value": ref("uint"), "input": ref("bytes"),
        "chainId": ref("uint"), **fees,
    })


def signed(tx: Schema, parity: str) -> Schema:
    """A typed tx and its signature: yParity (v optional) for typed txs, v for legacy ones."""
    if parity == "v":
        signature = obj(("v", "r", "s"), {"v": ref("uint"), "r": ref("uint"), "s": ref("uint")})
    else:
        signature = obj(("yParity", "r", "s"), {"yParity": ref("byte"), "v": ref("byte"), "r": ref("uint"),
                                                "s": ref("uint")})
    return {"allOf": [tx, signature]}


TYPES: dict[str, Schema] = {
    "TransactionLegacySigned": signed(unsigned("0x0", ("gasPrice",), {"gasPrice": ref("uint")}), "v"),
    "Transaction2930Signed": signed(unsigned("0x1", ("gasPrice", "chainId", "accessList"), {
        "gasPrice": ref("uint"), "accessList": ACCESS_LIST}), "yParity"),
    "Transaction1559Signed": signed(unsigned("0x2", ("maxFeePerGas", "maxPriorityFeePerGas", "gasPrice", "chainId",
                                                     "accessList"), {
        "maxFeePerGas": ref("uint"), "maxPriorityFeePerGas": ref("uint"), "gasPrice": ref("uint"),
        "accessList": ACCESS_LIST}), "yParity"),
    "TransactionSigned": {"oneOf": [ref("Transaction1559Signed"), ref("Transaction2930Signed"),
                                    ref("TransactionLegacySigned")]},
    # execution-apis' TransactionInfo: a mined tx, where it was mined and who sent it.
    "TransactionInfo": {"allOf": [obj(
        ("blockHash", "blockNumber", "blockTimestamp", "from", "hash", "transactionIndex"),
        {"blockHash": ref("hash32"), "blockNumber": ref("uint"), "blockTimestamp": ref("uint"), "from": ref("address"),
         "hash": ref("hash32"), "transactionIndex": ref("uint")}), ref("TransactionSigned")]},
    "PendingTransaction": {"allOf": [obj(
        ("blockHash", "blockNumber", "blockTimestamp", "from", "hash", "transactionIndex"),
        {"blockHash": {"type": "null"}, "blockNumber": {"type": "null"}, "blockTimestamp": {"type": "null"},
         "from": ref("address"), "hash": ref("hash32"), "transactionIndex": {"type": "null"}}),
        ref("TransactionSigned")]},
    "Log": obj(("transactionHash",), {
        "removed": {"type": "boolean"}, "logIndex": ref("uint"), "transactionIndex": ref("uint"),
        "transactionHash": ref("hash32"), "blockHash": ref("hash32"), "blockNumber": ref("uint"),
        "blockTimestamp": ref("uint"), "address": ref("address"), "data": ref("bytes"),
        "topics": array_of(ref("hash32"))}, closed=True),
    "ReceiptInfo": obj(
        ("blockHash", "blockNumber", "from", "cumulativeGasUsed", "gasUsed", "logs", "logsBloom", "transactionHash",
         "transactionIndex", "effectiveGasPrice"),
        {"type": ref("byte"), "transactionHash": ref("hash32"), "transactionIndex": ref("uint"),
         "blockHash": ref("hash32"), "blockNumber": ref("uint"), "from": ref("address"), "to": TO,
         "cumulativeGasUsed": ref("uint"), "gasUsed": ref("uint"), "blobGasUsed": ref("uint"),
         "contractAddress": nullable(ref("address")), "logs": array_of(ref("Log")), "logsBloom": ref("bytes256"),
         "root": ref("hash32"), "status": ref("uint"), "effectiveGasPrice": ref("uint"), "blobGasPrice": ref("uint"),
         **{extra: ref("bytes") for extra in RECEIPT_EXTRAS}},
        closed=True),
    "FeeHistory": obj(("oldestBlock", "baseFeePerGas", "gasUsedRatio"), {
        "oldestBlock": ref("uint"), "baseFeePerGas": array_of(ref("uint")), "baseFeePerBlobGas": array_of(ref("uint")),
        "gasUsedRatio": array_of(ref("ratio")), "blobGasUsedRatio": array_of(ref("ratio")),
        "reward": array_of(array_of(ref("uint")))}, closed=True),
    "SyncingStatus": {"oneOf": [
        {"type": "object", "additionalProperties": False, "properties": {
            "startingBlock": ref("uint"), "currentBlock": ref("uint"), "highestBlock": ref("uint")}},
        {"type": "boolean"}]},
}


def block(transactions: Schema) -> Schema:
    """execution-apis' Block, with its transactions as hashes or as full txs."""
    hashes = ("hash", "parentHash", "sha3Uncles", "stateRoot", "transactionsRoot", "receiptsRoot", "mixHash",
              "withdrawalsRoot", "parentBeaconBlockRoot", "requestsHash")
    quantities = ("difficulty", "number", "gasLimit", "gasUsed", "timestamp", "baseFeePerGas", "blobGasUsed",
                  "excessBlobGas", "size")
    return obj(
        ("hash", "parentHash", "sha3Uncles", "miner", "stateRoot", "transactionsRoot", "receiptsRoot", "logsBloom",
         "number", "gasLimit", "gasUsed", "timestamp", "extraData", "mixHash", "nonce", "size", "transactions",
         "uncles"),
        {**{name: ref("hash32") for name in hashes}, **{name: ref("uint") for name in quantities},
         "miner": ref("address"), "logsBloom": ref("bytes256"), "extraData": ref("bytes"), "nonce": ref("bytes8"),
         "transactions": array_of(transactions), "uncles": array_of(ref("hash32"))})


TYPES["BlockWithTxHashes"] = block(ref("hash32"))
TYPES["BlockWithTxs"] = block(ref("TransactionInfo"))

LOGS_OR_HASHES = {"oneOf": [array_of(ref("hash32")), array_of(ref("Log"))]}  # FilterResults

# Each method's result, as src/eth/*.yaml has it (null: not found).
RESULTS: dict[str, Schema] = {
    "eth_chainId": ref("uint"),
    "eth_blockNumber": ref("uint"),
    "net_version": ref("uintDecimal"),
    "eth_syncing": ref("SyncingStatus"),
    "eth_accounts": array_of(ref("address")),
    "eth_gasPrice": ref("uint"),
    "eth_maxPriorityFeePerGas": ref("uint"),
    "eth_feeHistory": ref("FeeHistory"),
    "eth_getBalance": ref("uint"),
    "eth_getTransactionCount": ref("uint"),
    "eth_getCode": ref("bytes"),
    "eth_getStorageAt": ref("bytes"),
    "eth_call": ref("bytes"),
    "eth_estimateGas": ref("uint"),
    "eth_sendRawTransaction": ref("hash32"),
    "eth_getBlockByNumber": nullable({"anyOf": [ref("BlockWithTxHashes"), ref("BlockWithTxs")]}),
    "eth_getBlockByHash": nullable({"anyOf": [ref("BlockWithTxHashes"), ref("BlockWithTxs")]}),
    "eth_getBlockTransactionCountByNumber": nullable(ref("uint")),
    "eth_getBlockTransactionCountByHash": nullable(ref("uint")),
    "eth_getTransactionByHash": nullable(ref("TransactionInfo")),
    "eth_getTransactionByBlockHashAndIndex": nullable(ref("TransactionInfo")),
    "eth_getTransactionByBlockNumberAndIndex": nullable(ref("TransactionInfo")),
    "eth_getTransactionReceipt": nullable(ref("ReceiptInfo")),
    "eth_getBlockReceipts": nullable(array_of(ref("ReceiptInfo"))),
    "eth_getLogs": LOGS_OR_HASHES,
    "eth_getFilterLogs": LOGS_OR_HASHES,
    "eth_getFilterChanges": LOGS_OR_HASHES,
    "eth_newFilter": ref("uint"),
    "eth_newBlockFilter": ref("uint"),
    "eth_uninstallFilter": {"type": "boolean"},
}

PENDING_TX = ref("PendingTransaction")  # eth_getTransactionByHash of a tx in the pool
BLOCK_WITH_TX_HASHES = ref("BlockWithTxHashes")
BLOCK_WITH_TXS = ref("BlockWithTxs")

DEFS = {**BASE, **TYPES}


def problems(schema: Schema, value: object) -> list[str]:
    """Every way `value` breaks `schema`, each as 'path: message' (empty when it conforms)."""
    validator = jsonschema_rs.Draft202012Validator({**schema, "$defs": DEFS})
    return [f"{'/'.join(map(str, e.instance_path)) or '.'}: {e.message[:300]}" for e in validator.iter_errors(value)]


jsonschema_rs.meta.validate({"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": DEFS})
