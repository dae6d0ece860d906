"""Each method's parameters and result shape, against the in-memory chain."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount

from node.rpc.dispatch import Dispatcher
from node.rpc.limits import RpcLimits
from tests.node.rpc.conftest import CHAIN_ID, FUNDED, Rpc
from tests.node.rpc.memory_backend import MemoryBackend, create_address, log_data

TO = "0x" + "22" * 20
OTHER = "0x" + "33" * 20
TOPIC_A = b"\xaa" * 32
TOPIC_B = b"\xbb" * 32
TOPIC_C = b"\xcc" * 32


def send(rpc: Rpc, key: LocalAccount, nonce: int, to: str | None = TO, data: bytes = b"", value: int = 1) -> str:
    tx = {"chainId": CHAIN_ID, "nonce": nonce, "value": value, "gas": 200_000, "gasPrice": 0, "data": data}
    if to is not None:
        tx["to"] = to
    raw = key.sign_transaction(tx).raw_transaction
    return rpc.result("eth_sendRawTransaction", "0x" + raw.hex())


def test_constants_and_identity(rpc: Rpc) -> None:
    assert rpc.result("eth_chainId") == hex(CHAIN_ID)
    assert rpc.result("net_version") == str(CHAIN_ID)
    assert rpc.result("web3_clientVersion") == "colend-memory/0.1"
    assert rpc.result("eth_gasPrice") == "0x0"
    assert rpc.result("eth_maxPriorityFeePerGas") == "0x0"
    assert rpc.result("eth_accounts") == []
    assert rpc.result("net_listening") is True
    assert rpc.result("net_peerCount") == "0x0"
    assert rpc.result("eth_syncing") is False
    assert rpc.result("colend_status")["chainId"] == hex(CHAIN_ID)


def test_tx_lifecycle_pending_then_mined(rpc: Rpc, backend: MemoryBackend, key: LocalAccount) -> None:
    tx_hash = send(rpc, key, 0, value=5)
    pending = rpc.result("eth_getTransactionByHash", tx_hash)
    assert pending["hash"] == tx_hash and pending["blockHash"] is None
    assert rpc.result("eth_getTransactionReceipt", tx_hash) is None
    assert rpc.result("eth_getTransactionCount", key.address, "pending") == "0x1"
    assert rpc.result("eth_getTransactionCount", key.address, "latest") == "0x0"
    backend.mine()
    assert rpc.result("eth_blockNumber") == "0x1"
    receipt = rpc.result("eth_getTransactionReceipt", tx_hash)
    assert receipt["status"] == "0x1" and receipt["blockNumber"] == "0x1"
    assert rpc.result("eth_getTransactionCount", key.address) == "0x1"
    assert rpc.result("eth_getBalance", TO, "latest") == "0x5"
    assert rpc.result("eth_getBalance", key.address) == hex(FUNDED - 5)

    by_number = rpc.result("eth_getBlockByNumber", "0x1", False)
    assert by_number["transactions"] == [tx_hash]
    full = rpc.result("eth_getBlockByHash", by_number["hash"], True)
    assert full["transactions"][0]["hash"] == tx_hash
    assert rpc.result("eth_getBlockByNumber", "latest") == by_number  # fullTransactions defaults to false
    assert rpc.result("eth_getBlockByNumber", "0x99", False) is None
    assert rpc.result("eth_getBlockByHash", "0x" + "00" * 32, False) is None
    assert rpc.result("eth_getBlockTransactionCountByNumber", "0x1") == "0x1"
    assert rpc.result("eth_getBlockTransactionCountByHash", by_number["hash"]) == "0x1"
    assert rpc.result("eth_getBlockTransactionCountByNumber", "0x5") is None
    assert rpc.result("eth_getUncleCountByBlockNumber", "0x1") == "0x0"
    assert rpc.result("eth_getUncleCountByBlockHash", by_number["hash"]) == "0x0"
    assert rpc.result("eth_getUncleCountByBlockNumber", "0x7") is None
    assert rpc.result("eth_getTransactionByBlockNumberAndIndex", "0x1", "0x0")["hash"] == tx_hash
    assert rpc.result("eth_getTransactionByBlockHashAndIndex", by_number["hash"], "0x0")["hash"] == tx_hash
    assert rpc.result("eth_getTransactionByBlockNumberAndIndex", "0x1", "0x1") is None


def test_contract_reads(rpc: Rpc, backend: MemoryBackend, key: LocalAccount) -> None:
    send(rpc, key, 0, to=None, data=b"\x60\x00")
    backend.mine()
    contract = "0x" + create_address(bytes.fromhex(key.address[2:]), 0).hex()
    assert rpc.result("eth_getCode", contract) == "0x6000"
    assert rpc.result("eth_getCode", contract, {"blockNumber": "0x1"}) == "0x6000"
    head_hash = rpc.result("eth_getBlockByNumber", "latest", False)["hash"]
    assert rpc.result("eth_getCode", contract, {"blockHash": head_hash}) == "0x6000"
    missing = rpc.error("eth_getCode", contract, {"blockHash": "0x" + "01" * 32})
    assert missing["code"] == -32001 and "not found" in missing["message"]
    assert rpc.result("eth_getStorageAt", contract, "0x0") == "0x" + "00" * 32
    assert rpc.result("eth_getStorageAt", contract, "0x" + "00" * 32, "latest") == "0x" + "00" * 32
    assert rpc.result("eth_call", {"to": contract, "data": "0xdeadbeef"}, "latest") == "0xdeadbeef"
    assert rpc.result("eth_call", {"to": contract, "input": "0xbeef"}) == "0xbeef"
    assert rpc.result("eth_estimateGas", {"to": contract, "data": "0x0001"}) == hex(21_000 + 4 + 16)
    older = rpc.error("eth_getBalance", contract, "0x0")
    assert older["code"] == -32602 and "only the latest state" in older["message"]


def test_revert_carries_code_3_and_data(rpc: Rpc, backend: MemoryBackend, key: LocalAccount) -> None:
    send(rpc, key, 0, to=None, data=b"\xfd\x08\xc3\x79\xa0")
    backend.mine()
    contract = "0x" + create_address(bytes.fromhex(key.address[2:]), 0).hex()
    for method in ("eth_call", "eth_estimateGas"):
        error = rpc.error(method, {"to": contract})
        assert error == {"code": 3, "message": "execution reverted", "data": "0x08c379a0"}


def test_fee_history(rpc: Rpc, backend: MemoryBackend) -> None:
    backend.mine()
    history = rpc.result("eth_feeHistory", "0x2", "latest", [25, 75])
    assert history["oldestBlock"] == "0x0"
    assert history["baseFeePerGas"] == ["0x0"] * 3 and len(history["reward"]) == 2
    assert rpc.result("eth_feeHistory", 1, "latest")["oldestBlock"] == "0x1"  # JSON integer count accepted
    assert "ascending" in rpc.error("eth_feeHistory", "0x1", "latest", [50, 10])["message"]
    assert "percentile" in rpc.error("eth_feeHistory", "0x1", "latest", [101])["message"]
    assert rpc.error("eth_feeHistory", "0x1")["message"].startswith("missing value for required argument 1")


def test_get_logs_filters_by_address_topics_and_range(rpc: Rpc, backend: MemoryBackend, key: LocalAccount) -> None:
    send(rpc, key, 0, data=log_data([TOPIC_A, TOPIC_B]))
    backend.mine()
    send(rpc, key, 1, to=OTHER, data=log_data([TOPIC_A, TOPIC_C], b"\x01"))
    send(rpc, key, 2, data=log_data([TOPIC_C]))
    backend.mine()

    def logs(**criteria: object) -> list[tuple[str, int]]:
        return [(log["address"], int(log["blockNumber"], 16)) for log in rpc.result("eth_getLogs", criteria)]

    assert logs(fromBlock="earliest") == [(TO, 1), (OTHER, 2), (TO, 2)]
    assert logs() == logs(fromBlock="latest", toBlock="latest")
    assert {a for a, _ in logs()} == {TO, OTHER}
    assert logs(fromBlock="0x1", toBlock="0x1") == [(TO, 1)]
    assert logs(fromBlock="0x0", address=OTHER) == [(OTHER, 2)]
    assert sorted(logs(fromBlock="0x0", address=[OTHER, TO.upper().replace("0X", "0x")])) == [(TO, 1), (TO, 2), (OTHER, 2)]
    a, b, c = ("0x" + t.hex() for t in (TOPIC_A, TOPIC_B, TOPIC_C))
    assert logs(fromBlock="0x0", topics=[a]) == [(TO, 1), (OTHER, 2)]
    assert logs(fromBlock="0x0", topics=[None, [b, c]]) == [(TO, 1), (OTHER, 2)]
    assert logs(fromBlock="0x0", topics=[[a, c], None]) == logs(fromBlock="0x0")
    assert logs(fromBlock="0x0", topics=[c]) == [(TO, 2)]
    block1 = rpc.result("eth_getBlockByNumber", "0x1", False)["hash"]
    assert logs(blockHash=block1) == [(TO, 1)]
    assert logs(fromBlock="0x10") == []  # beyond the head: nothing yet, not an error


@pytest.mark.parametrize(
    ("criteria", "fragment"),
    [
        ({"fromBlock": "0x2", "toBlock": "0x1"}, "invalid block range"),
        ({"blockHash": "0x" + "00" * 32, "fromBlock": "0x1"}, "both blockHash and fromBlock"),
        ({"topics": ["0x12"]}, r"topics[0]"),
        ({"topics": [None] * 5}, "too many topics"),
        ({"topics": "0x" + "00" * 32}, "expected an array"),
        ({"address": ["0x12"]}, "address[0]"),
        ({"address": 5}, "address"),
        ({"fromBlock": "newest"}, "unknown block tag"),
        ({"bogus": 1}, "unknown filter field(s) bogus"),
    ],
)
def test_get_logs_rejects_bad_criteria(rpc: Rpc, backend: MemoryBackend, criteria: dict, fragment: str) -> None:
    backend.mine()
    backend.mine()
    error = rpc.error("eth_getLogs", criteria)
    assert error["code"] == -32602 and fragment in error["message"], error


def test_get_logs_limits_range_and_results(backend: MemoryBackend, key: LocalAccount) -> None:
    rpc = Rpc(Dispatcher(backend, RpcLimits(max_log_block_range=3, max_log_results=2, filter_idle_blocks=3)))
    for nonce in range(3):
        send(rpc, key, nonce, data=log_data([TOPIC_A]))
        backend.mine()
    backend.mine()
    too_wide = rpc.error("eth_getLogs", {"fromBlock": "0x0", "toBlock": "0x3"})
    assert too_wide["code"] == -32005 and "block range too large: 4 blocks, limit 3" in too_wide["message"]
    assert "get_logs" not in backend.calls  # refused before touching the store
    too_many = rpc.error("eth_getLogs", {"fromBlock": "0x1", "toBlock": "0x3"})
    assert too_many["code"] == -32005 and "more than 2 results" in too_many["message"]
    assert len(rpc.result("eth_getLogs", {"fromBlock": "0x2", "toBlock": "latest"})) == 2


def test_send_raw_transaction_rejections(rpc: Rpc, backend: MemoryBackend, key: LocalAccount) -> None:
    raw = key.sign_transaction(
        {"chainId": CHAIN_ID, "nonce": 0, "to": TO, "value": 1, "gas": 21_000, "gasPrice": 0}
    ).raw_transaction
    rpc.result("eth_sendRawTransaction", "0x" + raw.hex())
    assert rpc.error("eth_sendRawTransaction", "0x" + raw.hex()) == {
        "code": -32000, "message": "already known", "data": {"code": "node.already_known"},
    }
    backend.mine()
    stale = key.sign_transaction(
        {"chainId": CHAIN_ID, "nonce": 0, "to": TO, "value": 2, "gas": 21_000, "gasPrice": 0}
    ).raw_transaction
    error = rpc.error("eth_sendRawTransaction", "0x" + stale.hex())
    assert error["code"] == -32000 and error["message"].startswith("nonce too low")
    backend.permitted = set()
    fresh = key.sign_transaction(
        {"chainId": CHAIN_ID, "nonce": 1, "to": TO, "value": 2, "gas": 21_000, "gasPrice": 0}
    ).raw_transaction
    error = rpc.error("eth_sendRawTransaction", "0x" + fresh.hex())
    assert error["code"] == -32000 and "not permitted" in error["message"]


def test_subscribe_needs_a_websocket(rpc: Rpc) -> None:
    error = rpc.error("eth_subscribe", "newHeads")
    assert error["code"] == -32601 and "notifications not supported" in error["message"]
    assert rpc.error("eth_unsubscribe", "0x01")["code"] == -32601
