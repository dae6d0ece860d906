"""A real node's answers, read at its group endpoint, checked against the execution-apis result schemas
(tests/node/rpc/execution_schemas.py): blocks with and without txs, every tx type, receipts (also a failed one and
a creation), eth_getBlockReceipts by tag, number and hash, logs, filters, state reads and calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from eth_account import Account
from eth_utils import to_checksum_address

from node.engine.chain_parts import ChainParts
from node.execution.evm import create_address
from node.rpc.backend.engine_backend import EngineBackend
from node.rpc.server import create_app
from node.tx.signing import sign_dynamic_fee
from tests.node.rpc.execution_schemas import BLOCK_WITH_TX_HASHES, BLOCK_WITH_TXS, PENDING_TX, RESULTS, problems, ref
from tests.node.store_contract import SET_TOPIC, STORE_BYTECODE, call_data, slot_of
from tests.node.support import BANK_A, BANK_B, CHAIN_ID, addr, legacy_tx, mine, open_engine, tx

GROUP = "WEBANK+MYBANK"
PATH = f"/g/{GROUP}"


@dataclass
class Node:
    client: TestClient
    chain: ChainParts
    store: bytes  # the Store contract's address
    next_id: int = 0

    async def reply(self, method: str, *params: object, path: str = PATH) -> dict:
        self.next_id += 1
        resp = await self.client.post(path, json={"jsonrpc": "2.0", "id": self.next_id, "method": method,
                                                  "params": list(params)})
        assert resp.status == 200
        return await resp.json()

    async def conforming(self, method: str, *params: object) -> object:
        """The method's result, once it is checked against the method's execution-apis result schema."""
        reply = await self.reply(method, *params)
        assert "error" not in reply, (method, reply)
        assert problems(RESULTS[method], reply["result"]) == [], (method, params, reply["result"])
        return reply["result"]


def access_list_tx(key: bytes, nonce: int, to: bytes, data: bytes) -> bytes:
    """A type-1 (EIP-2930) tx, signed by eth-account."""
    signed = Account.from_key(key).sign_transaction(
        {"type": 1, "chainId": CHAIN_ID, "nonce": nonce, "gasPrice": 0, "gas": 1_000_000,
         "to": to_checksum_address(to), "value": 0, "data": data,
         "accessList": [{"address": to_checksum_address(to), "storageKeys": ["0x" + slot_of(9).to_bytes(32, "big").hex()]}]})
    return bytes(signed.raw_transaction)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    """Block 1 deploys Store; block 2 holds a tx that logs, one that logs three times, one that reverts, a legacy
    tx and an access-list tx. The node serves its one group at /g/WEBANK+MYBANK and /."""
    chain = open_engine(tmp_path / "db")
    store = create_address(addr(BANK_A), 0)
    mine(chain, [tx(BANK_A, 0, None, STORE_BYTECODE)])
    mine(chain, [tx(BANK_A, 1, store, call_data("set(uint256,uint256)", 1, 2)),
                 tx(BANK_A, 2, store, call_data("setMany(uint256,uint256)", 10, 3)),
                 tx(BANK_A, 3, store, call_data("set(uint256,uint256)", 5, 0)),
                 legacy_tx(BANK_B, 0, store, call_data("set(uint256,uint256)", 9, 9)),
                 access_list_tx(BANK_B, 1, store, call_data("set(uint256,uint256)", 9, 8))])
    try:
        async with TestClient(TestServer(create_app(EngineBackend(chain), group=GROUP))) as client:
            yield Node(client, chain, store)
    finally:
        chain.store.close()


async def test_blocks_and_their_txs_conform_with_and_without_full_txs(node: Node) -> None:
    for tag in ("latest", "0x1", "0x0"):
        hashes = await node.conforming("eth_getBlockByNumber", tag, False)
        full = await node.conforming("eth_getBlockByNumber", tag, True)
        assert problems(BLOCK_WITH_TX_HASHES, hashes) == problems(BLOCK_WITH_TXS, full) == []
        assert [t["hash"] for t in full["transactions"]] == hashes["transactions"]
        assert await node.conforming("eth_getBlockByHash", hashes["hash"], True) == full
        assert await node.conforming("eth_getBlockByHash", hashes["hash"], False) == hashes
        assert {"timestampMs", "stateCommitment", "commitSeals"} <= set(full)  # Colend's extras beside the standard
    block = await node.conforming("eth_getBlockByNumber", "latest", True)
    assert [t["type"] for t in block["transactions"]] == ["0x2", "0x2", "0x2", "0x0", "0x1"]
    assert {t["blockTimestamp"] for t in block["transactions"]} == {block["timestamp"]}
    for i, full_tx in enumerate(block["transactions"]):
        assert await node.conforming("eth_getTransactionByHash", full_tx["hash"]) == full_tx
        assert await node.conforming("eth_getTransactionByBlockHashAndIndex", block["hash"], hex(i)) == full_tx
        assert await node.conforming("eth_getTransactionByBlockNumberAndIndex", block["number"], hex(i)) == full_tx
    assert await node.conforming("eth_getTransactionByBlockNumberAndIndex", "latest", "0x5") is None
    assert await node.conforming("eth_getBlockTransactionCountByHash", block["hash"]) == "0x5"
    assert await node.conforming("eth_getBlockTransactionCountByNumber", "0x9") is None
    for unknown in ("eth_getBlockByHash", "eth_getBlockByNumber"):
        assert await node.conforming(unknown, "0x" + "ab" * 32 if unknown.endswith("Hash") else "0x9", False) is None
    assert await node.conforming("eth_getTransactionByHash", "0x" + "ab" * 32) is None


async def test_a_pending_tx_is_the_signed_tx_with_null_block_fields(node: Node) -> None:
    raw = sign_dynamic_fee(BANK_A, CHAIN_ID, 4, node.store, call_data("set(uint256,uint256)", 3, 3), max_fee=7,
                           max_priority_fee=2)
    tx_hash = await node.conforming("eth_sendRawTransaction", "0x" + raw.hex())
    pending = (await node.reply("eth_getTransactionByHash", tx_hash))["result"]
    assert problems(PENDING_TX, pending) == [], pending
    assert pending["gasPrice"] == pending["maxFeePerGas"] == "0x7"  # while pending: the max fee (execution-apis)
    assert await node.conforming("eth_getTransactionReceipt", tx_hash) is None
    assert await node.conforming("eth_getTransactionCount", to_checksum_address(addr(BANK_A)), "pending") == "0x5"
    mine(node.chain, [])
    assert (await node.conforming("eth_getTransactionByHash", tx_hash))["gasPrice"] == "0x2"  # mined: what was paid


async def test_receipts_conform_one_by_one_and_by_block(node: Node) -> None:
    block = await node.conforming("eth_getBlockByNumber", "latest", False)
    receipts = [await node.conforming("eth_getTransactionReceipt", h) for h in block["transactions"]]
    assert [r["status"] for r in receipts] == ["0x1", "0x1", "0x0", "0x1", "0x1"]
    assert [len(r["logs"]) for r in receipts] == [1, 3, 0, 1, 1]
    assert [lg["logIndex"] for r in receipts for lg in r["logs"]] == [hex(i) for i in range(6)]
    assert receipts[2]["revertData"].startswith("0x08c379a0")  # Error("zero value")
    by_ref = [block["hash"], "latest", "finalized", block["number"], {"blockHash": block["hash"]},
              {"blockNumber": block["number"]}, {"blockHash": block["hash"], "requireCanonical": True}]
    for block_id in by_ref:
        assert await node.conforming("eth_getBlockReceipts", block_id) == receipts, block_id
    (creation,) = await node.conforming("eth_getBlockReceipts", "0x1")
    assert creation["contractAddress"] == to_checksum_address(node.store) and creation["to"] is None
    assert await node.conforming("eth_getBlockReceipts", "0x0") == []
    assert await node.conforming("eth_getBlockReceipts", "0x9") is None
    assert await node.conforming("eth_getBlockReceipts", "0x" + "ab" * 32) is None
    for bad in ("0x" + "ab" * 31, "0x01", "newest", {"blockHash": "0x12"}, None):
        reply = await node.reply("eth_getBlockReceipts", bad)
        assert reply["error"]["code"] == -32602, (bad, reply)


async def test_logs_and_filters_conform(node: Node) -> None:
    store = to_checksum_address(node.store)
    logs = await node.conforming("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest", "address": store})
    assert len(logs) == 6 and {lg["topics"][0] for lg in logs} == {"0x" + SET_TOPIC.hex()}
    block_hash = logs[0]["blockHash"]
    assert await node.conforming("eth_getLogs", {"blockHash": block_hash, "topics": [None]}) == logs
    log_filter = await node.conforming("eth_newFilter", {"fromBlock": "0x0", "address": store})
    block_filter = await node.conforming("eth_newBlockFilter")
    assert await node.conforming("eth_getFilterLogs", log_filter) == logs
    mine(node.chain, [tx(BANK_A, 4, node.store, call_data("set(uint256,uint256)", 4, 4))])
    assert len(await node.conforming("eth_getFilterChanges", log_filter)) == 1
    assert len(await node.conforming("eth_getFilterChanges", block_filter)) == 1
    assert await node.conforming("eth_uninstallFilter", log_filter) is True


async def test_state_reads_calls_fees_and_client_answers_conform(node: Node) -> None:
    bank = to_checksum_address(addr(BANK_A))
    store = to_checksum_address(node.store)
    read = {"from": bank, "to": store, "data": "0x" + call_data("vals(uint256)", 1).hex()}
    assert await node.conforming("eth_call", read, "latest") == "0x" + (2).to_bytes(32, "big").hex()
    assert int(str(await node.conforming("eth_estimateGas", read)), 16) > 21_000
    assert await node.conforming("eth_getTransactionCount", bank, "latest") == "0x4"
    assert await node.conforming("eth_getBalance", bank, "latest") == "0x0"
    assert len(str(await node.conforming("eth_getCode", store, "latest"))) > 2
    assert await node.conforming("eth_getStorageAt", store, hex(slot_of(1)), "latest") == "0x" + "00" * 31 + "02"
    assert await node.conforming("eth_chainId") == hex(CHAIN_ID)
    assert await node.conforming("net_version") == str(CHAIN_ID)
    assert await node.conforming("eth_blockNumber") == "0x2"
    for constant in ("eth_gasPrice", "eth_maxPriorityFeePerGas", "eth_syncing", "eth_accounts"):
        await node.conforming(constant)
    history = await node.conforming("eth_feeHistory", "0x4", "latest", [25, 75])
    assert history["oldestBlock"] == "0x0" and len(history["reward"]) == 3
    for method, params in (("eth_chainId", ()), ("eth_getBlockReceipts", ("latest",)), ("eth_getLogs", ({},))):
        assert (await node.reply(method, *params, path="/"))["result"] == (await node.reply(method, *params))["result"]


async def test_the_schemas_refuse_what_execution_apis_refuses(node: Node) -> None:
    """The checks above would catch a deviation: each of these breaks the schema it is checked against."""
    block = await node.conforming("eth_getBlockByNumber", "latest", True)
    mined = block["transactions"][0]
    (receipt, *_) = await node.conforming("eth_getBlockReceipts", "latest")
    log = receipt["logs"][0]
    broken = [
        ("eth_blockNumber", "0x02"), ("eth_chainId", "0xAB"), ("eth_newFilter", "0x0abc"), ("net_version", "0x1"),
        ("eth_getTransactionByHash", {k: v for k, v in mined.items() if k != "blockTimestamp"}),
        ("eth_getTransactionByHash", {**mined, "hash": mined["hash"].upper().replace("0X", "0x")}),
        ("eth_getTransactionByHash", {**mined, "type": "0x7"}),
        ("eth_getTransactionReceipt", {**receipt, "gasPrice": "0x0"}),  # a receipt is a closed object
        ("eth_getTransactionReceipt", {k: v for k, v in receipt.items() if k != "effectiveGasPrice"}),
        ("eth_getLogs", [{**log, "blockTime": "0x1"}]),
        ("eth_getBlockByNumber", {**block, "logsBloom": "0x00"}),
        ("eth_feeHistory", {"oldestBlock": "0x0", "baseFeePerGas": [], "gasUsedRatio": [1.5]}),
        ("eth_getBlockReceipts", {}),
    ]
    for method, value in broken:
        assert problems(RESULTS[method], value), (method, value)
    assert problems(PENDING_TX, mined) and problems(ref("Log"), {"address": log["address"]})
