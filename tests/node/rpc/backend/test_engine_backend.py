import pytest
from eth_utils import to_checksum_address

from node.errors import BlockNotFound, ExecutionReverted, HistoricalStateUnavailable, NonceTooLow
from node.execution.evm import create_address
from node.rpc.backend.api import CallRequest, LogQuery
from node.rpc.backend.engine_backend import EngineBackend
from node.rpc.log_filter import LogCriteria
from tests.node.store_contract import SET_TOPIC, STORE_BYTECODE, call_data, slot_of
from tests.node.support import BANK_A, BANK_B, CHAIN_ID, addr, open_engine, producer, tx


@pytest.fixture
def node(tmp_path):
    chain = open_engine(tmp_path / "db")
    backend = EngineBackend(chain, node_id="test")
    heads, logs = [], []
    backend.subscribe_new_heads(heads.append)
    backend.subscribe_logs(LogCriteria(frozenset([create_address(addr(BANK_A), 0)])), logs.append)
    yield backend, heads, logs, chain
    chain.store.close()


def test_tx_lifecycle_in_json_rpc_shape(node):
    backend, heads, logs, chain = node
    store = create_address(addr(BANK_A), 0)
    h0 = backend.send_raw_transaction(tx(BANK_A, 0, None, STORE_BYTECODE))
    h1 = backend.send_raw_transaction(tx(BANK_A, 1, store, call_data("set(uint256,uint256)", 1, 2)))
    pending = backend.get_transaction_by_hash(h1)
    assert pending["blockHash"] is None and pending["from"] == to_checksum_address(addr(BANK_A))
    assert backend.get_transaction_count(addr(BANK_A), "pending") == 2
    assert backend.get_transaction_count(addr(BANK_A), "latest") == 0
    assert backend.get_transaction_receipt(h1) is None
    producer(chain).produce_once()
    r0, r1 = backend.get_transaction_receipt(h0), backend.get_transaction_receipt(h1)
    assert r0["contractAddress"] == to_checksum_address(store) and r0["status"] == "0x1"
    assert r1["blockNumber"] == "0x1" and r1["transactionIndex"] == "0x1" and r1["logs"][0]["logIndex"] == "0x0"
    assert r1["logs"][0]["topics"][0] == "0x" + SET_TOPIC.hex()
    block = backend.get_block_by_number("latest", True)
    assert block["hash"] == r1["blockHash"] and [t["hash"] for t in block["transactions"]] == ["0x" + h0.hex(), "0x" + h1.hex()]
    assert backend.get_block_by_hash(bytes.fromhex(block["hash"][2:]), False)["transactions"][1] == "0x" + h1.hex()
    assert block["stateRoot"] == backend.status()["stateCommitment"] and len(block["commitSeals"]) == 1
    assert backend.get_transaction_by_hash(h1)["blockNumber"] == "0x1"
    assert backend.get_storage_at(store, slot_of(1), "latest") == (2).to_bytes(32, "big")
    assert backend.get_code(store, "latest") and backend.get_code(addr(BANK_B), "latest") == b""
    assert [h["number"] for h in heads] == ["0x1"] and len(logs) == 1
    with pytest.raises(NonceTooLow):
        backend.send_raw_transaction(tx(BANK_A, 0, None, b"\x00"))
    assert backend.chain_id == CHAIN_ID and backend.block_number() == 1


def test_calls_reverts_and_state_tags(node):
    backend, _, _, chain = node
    store = create_address(addr(BANK_A), 0)
    backend.send_raw_transaction(tx(BANK_A, 0, None, STORE_BYTECODE))
    producer(chain).produce_once()
    data = call_data("set(uint256,uint256)", 1, 0)
    call = CallRequest(sender=addr(BANK_A), to=store, data=data)
    with pytest.raises(ExecutionReverted, match="zero value") as info:
        backend.call(call, "latest")
    assert info.value.data.startswith("0x08c379a0")
    call = CallRequest(sender=addr(BANK_A), to=store, data=call_data("vals(uint256)", 1))
    assert backend.call(call, "latest") == b"\x00" * 32
    assert backend.estimate_gas(call, "latest") > 21_000
    with pytest.raises(HistoricalStateUnavailable):
        backend.get_balance(addr(BANK_A), 0)
    with pytest.raises(BlockNotFound):
        backend.get_balance(addr(BANK_A), 9)
    assert backend.get_block_by_number(9, False) is None


def test_get_logs_by_address_topic_and_range(node):
    backend, _, _, chain = node
    store = create_address(addr(BANK_A), 0)
    backend.send_raw_transaction(tx(BANK_A, 0, None, STORE_BYTECODE))
    producer(chain).produce_once()
    for n, k in enumerate((5, 6, 5), start=1):
        backend.send_raw_transaction(tx(BANK_A, n, store, call_data("set(uint256,uint256)", k, 1)))
        producer(chain).produce_once()
    topic_k5 = (5).to_bytes(32, "big")
    match = LogCriteria(frozenset([store]), (frozenset([SET_TOPIC]), None, frozenset([topic_k5])))
    found = backend.get_logs(LogQuery(match, 0, 4))
    assert [lg["blockNumber"] for lg in found] == ["0x2", "0x4"]
    assert len(backend.get_logs(LogQuery(LogCriteria(), 3, 3))) == 1
    assert backend.get_logs(LogQuery(LogCriteria(frozenset([b"\x11" * 20])), 0, 4)) == []
    by_hash = backend.get_logs(LogQuery(LogCriteria(), block_hash=bytes.fromhex(found[0]["blockHash"][2:])))
    assert by_hash == [found[0]]
    assert backend.fee_history(2, "latest", [50.0])["oldestBlock"] == "0x3"
