from eth_abi import decode

from node.execution.evm import create_address
from tests.node.store_contract import SET_TOPIC, STORE_BYTECODE, call_data, slot_of
from tests.node.support import BANK_A, addr, mine, open_engine, tx


def test_receipts_logs_reverts_and_nonces(tmp_path):
    chain = open_engine(tmp_path / "db")
    a = addr(BANK_A)
    store = create_address(a, 0)
    block = mine(chain, [
        tx(BANK_A, 0, None, STORE_BYTECODE),
        tx(BANK_A, 1, store, call_data("set(uint256,uint256)", 7, 42)),
        tx(BANK_A, 2, store, call_data("set(uint256,uint256)", 8, 0)),  # reverts "zero value"
        tx(BANK_A, 3, store, call_data("setMany(uint256,uint256)", 100, 3)),
    ])
    receipts = [chain.store.tx(t.hash).receipt for t in block.txs]
    assert [r.status for r in receipts] == [1, 1, 0, 1]
    assert receipts[0].contract_address == store
    assert receipts[1].logs[0].address == store
    assert receipts[1].logs[0].topics == (SET_TOPIC, a.rjust(32, b"\0"), (7).to_bytes(32, "big"))
    assert decode(["uint256"], receipts[1].logs[0].data) == (42,)
    assert decode(["string"], receipts[2].revert_data[4:]) == ("zero value",)
    assert len(receipts[3].logs) == 3
    assert receipts[3].cumulative_gas_used == sum(r.gas_used for r in receipts)
    assert all(r.gas_used > 21_000 for r in receipts)
    assert chain.read_view.account(a).nonce == 4  # the reverted tx consumed its nonce
    assert chain.executor.nonce(a) == 4
    assert chain.store.slot(store, slot_of(7)) == 42
    assert chain.store.slot(store, slot_of(8)) == 0
    assert chain.store.tx(block.txs[3].hash).first_log_index == 1


def test_evm_sees_block_number_and_timestamp_not_the_wall_clock(tmp_path):
    chain = open_engine(tmp_path / "db")
    store = create_address(addr(BANK_A), 0)
    mine(chain, [tx(BANK_A, 0, None, STORE_BYTECODE)])
    block = mine(chain, [tx(BANK_A, 1, store, call_data("set(uint256,uint256)", 1, 1))])
    out = chain.executor.call(addr(BANK_A), store, call_data("now_()"))
    assert decode(["uint256", "uint256"], out.output) == (2, block.header.timestamp_ms // 1000)


def test_eth_call_leaves_no_trace(tmp_path):
    chain = open_engine(tmp_path / "db")
    store = create_address(addr(BANK_A), 0)
    mine(chain, [tx(BANK_A, 0, None, STORE_BYTECODE)])
    result = chain.executor.call(addr(BANK_A), store, call_data("set(uint256,uint256)", 5, 9))
    assert result.success
    assert chain.executor.storage(store, slot_of(5)) == 0
    reverted = chain.executor.call(addr(BANK_A), store, call_data("set(uint256,uint256)", 5, 0))
    assert not reverted.success and reverted.output[:4] == bytes.fromhex("08c379a0")
    assert chain.executor.evm.journal_depth == 0
    estimate = chain.executor.estimate_gas(addr(BANK_A), store, call_data("set(uint256,uint256)", 5, 9))
    assert estimate.success and estimate.gas_used >= result.gas_used


def test_a_create_after_calls_in_the_same_block_uses_the_senders_nonce_at_that_point(tmp_path):
    """Nonces are written once per block, so a CREATE must still see the nonce its tx carries."""
    chain = open_engine(tmp_path / "db")
    a = addr(BANK_A)
    first = create_address(a, 0)
    mine(chain, [tx(BANK_A, 0, None, STORE_BYTECODE)])
    block = mine(chain, [tx(BANK_A, 1, first, call_data("set(uint256,uint256)", 1, 1)),
                          tx(BANK_A, 2, first, call_data("set(uint256,uint256)", 2, 2)),
                          tx(BANK_A, 3, None, STORE_BYTECODE), tx(BANK_A, 4, None, STORE_BYTECODE)])
    receipts = [chain.store.tx(t.hash).receipt for t in block.txs]
    assert [r.contract_address for r in receipts[2:]] == [create_address(a, 3), create_address(a, 4)]
    assert chain.executor.code(create_address(a, 3)) and chain.executor.code(create_address(a, 4))
    assert chain.read_view.account(a).nonce == chain.executor.nonce(a) == 5
