"""Rendering chain objects in Ethereum JSON-RPC shape (0x-hex quantities/data, checksummed addresses).

Pure functions of stored values; the backend decides what to fetch. Colend-only fields (timestampMs,
commitSeals, stateCommitment, revertData) sit beside the standard ones, which tooling expects unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from eth_utils import to_checksum_address

from node.chain.block import Block
from node.chain.bloom import logs_bloom
from node.chain.header import BlockHeader
from node.chain.receipt import Log, Receipt
from node.rpc.backend.api import JsonDict
from node.tx.model import ACCESS_LIST, DYNAMIC_FEE, Transaction

EMPTY_UNCLES_HASH = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"
ZERO_NONCE = "0x0000000000000000"
ZERO_HASH_HEX = "0x" + "00" * 32


def qty(n: int) -> str:
    return hex(n)


def data(b: bytes) -> str:
    return "0x" + b.hex()


@functools.lru_cache(maxsize=65_536)
def addr(a: bytes) -> str:
    """EIP-55 checksummed; cached, since a chain's receipts and logs name the same few accounts over and over."""
    return to_checksum_address(a)


def header_json(header: BlockHeader, block_hash: bytes, seals: Sequence[bytes], size: int) -> JsonDict:
    return {
        "number": qty(header.number),
        "hash": data(block_hash),
        "parentHash": data(header.parent_hash),
        "nonce": ZERO_NONCE,
        "sha3Uncles": EMPTY_UNCLES_HASH,
        "logsBloom": data(header.logs_bloom),
        "transactionsRoot": data(header.tx_root),
        "stateRoot": data(header.state_root),
        "receiptsRoot": data(header.receipts_root),
        "miner": addr(header.proposer),
        "difficulty": "0x0",
        "totalDifficulty": "0x0",
        "extraData": data(header.extra_data),
        "size": qty(size),
        "gasLimit": qty(header.gas_limit),
        "gasUsed": qty(header.gas_used),
        "timestamp": qty(header.timestamp),
        "baseFeePerGas": "0x0",
        "mixHash": ZERO_HASH_HEX,
        "uncles": [],
        "timestampMs": qty(header.timestamp_ms),
        "stateCommitment": data(header.state_root),
        "commitSeals": [data(s) for s in seals],
    }


def block_json(block: Block, full_txs: bool) -> JsonDict:
    out = header_json(block.header, block.hash, block.seals, len(block.encode()))
    if full_txs:
        timestamp = block.header.timestamp
        out["transactions"] = [tx_json(tx, block.hash, block.number, i, timestamp) for i, tx in enumerate(block.txs)]
    else:
        out["transactions"] = [data(tx.hash) for tx in block.txs]
    return out


def tx_json(tx: Transaction, block_hash: bytes | None, number: int | None, index: int | None,
            timestamp: int | None) -> JsonDict:
    """A mined tx (execution-apis' TransactionInfo) or, with the block fields None, a pending one (null there)."""
    out: JsonDict = {
        "blockHash": data(block_hash) if block_hash is not None else None,
        "blockNumber": qty(number) if number is not None else None,
        "blockTimestamp": qty(timestamp) if timestamp is not None else None,
        "transactionIndex": qty(index) if index is not None else None,
        "hash": data(tx.hash),
        "from": addr(tx.sender),
        "to": addr(tx.to) if tx.to is not None else None,
        "nonce": qty(tx.nonce),
        "gas": qty(tx.gas_limit),
        "gasPrice": qty(_gas_price(tx, mined=block_hash is not None)),
        "value": qty(tx.value),
        "input": data(tx.data),
        "type": qty(tx.type),
        "chainId": qty(tx.chain_id),
        "v": qty(tx.v),
        "r": qty(tx.r),
        "s": qty(tx.s),
    }
    if tx.type in (ACCESS_LIST, DYNAMIC_FEE):
        out["yParity"] = qty(tx.v)
        out["accessList"] = [{"address": addr(a), "storageKeys": ["0x" + k.to_bytes(32, "big").hex() for k in keys]}
                             for a, keys in tx.access_list]
    if tx.type == DYNAMIC_FEE:
        out["maxFeePerGas"] = qty(tx.gas_price)
        out["maxPriorityFeePerGas"] = qty(tx.max_priority_fee)
    return out


def _gas_price(tx: Transaction, *, mined: bool) -> int:
    """A dynamic-fee tx's price as execution-apis says: paid (the base fee is zero: the tip, capped by the max
    fee) once mined; the max fee while pending."""
    if tx.type != DYNAMIC_FEE:
        return tx.gas_price
    return min(tx.gas_price, tx.max_priority_fee) if mined else tx.gas_price


def log_json(log: Log, block_hash: bytes, number: int, tx_hash: bytes, tx_index: int, log_index: int) -> JsonDict:
    return {
        "address": addr(log.address),
        "topics": [data(t) for t in log.topics],
        "data": data(log.data),
        "blockNumber": qty(number),
        "blockHash": data(block_hash),
        "transactionHash": data(tx_hash),
        "transactionIndex": qty(tx_index),
        "logIndex": qty(log_index),
        "removed": False,
    }


def receipt_json(tx: Transaction, receipt: Receipt, block_hash: bytes, number: int, index: int,
                 first_log_index: int) -> JsonDict:
    out: JsonDict = {
        "transactionHash": data(tx.hash),
        "transactionIndex": qty(index),
        "blockHash": data(block_hash),
        "blockNumber": qty(number),
        "from": addr(tx.sender),
        "to": addr(tx.to) if tx.to is not None else None,
        "cumulativeGasUsed": qty(receipt.cumulative_gas_used),
        "gasUsed": qty(receipt.gas_used),
        "effectiveGasPrice": "0x0",
        "contractAddress": addr(receipt.contract_address) if receipt.contract_address else None,
        "logs": [log_json(lg, block_hash, number, tx.hash, index, first_log_index + i)
                 for i, lg in enumerate(receipt.logs)],
        "logsBloom": data(logs_bloom(receipt.logs)),
        "type": qty(tx.type),
        "status": qty(receipt.status),
    }
    if not receipt.status:
        out["revertData"] = data(receipt.revert_data)
    return out
