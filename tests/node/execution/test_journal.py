import pyrevm

from node.execution.journal import journal_vectors, touched_in
from tests.node.store_contract import STORE_BYTECODE, call_data, slot_of

A = "0x" + "11" * 20


def test_touched_accounts_and_present_values():
    evm = pyrevm.EVM(spec_id="SHANGHAI")
    store = evm.deploy(A, STORE_BYTECODE)
    evm.message_call(A, store, call_data("set(uint256,uint256)", 3, 4))
    evm.message_call(A, store, call_data("set(uint256,uint256)", 3, 5))
    evm.message_call(A, store, call_data("vals(uint256)", 9))
    s = evm.journal_str
    assert len(journal_vectors(s)) == evm.journal_len
    touched = touched_in(s)
    store_b = bytes.fromhex(store[2:].lower())
    assert touched.slots[(store_b, slot_of(3))] == 5
    assert touched.slots[(store_b, slot_of(9))] == 0  # read only: filtered later against the store
    assert {bytes.fromhex(A[2:]), store_b} <= touched.accounts


def test_empty_journal():
    evm = pyrevm.EVM()
    assert journal_vectors(evm.journal_str) == [""]
    assert touched_in(evm.journal_str).slots == {}
