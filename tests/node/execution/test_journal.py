import pyrevm

from node.execution.journal import journal_vectors, touched_since
from tests.node.store_contract import STORE_BYTECODE, call_data, slot_of

A = "0x" + "11" * 20


def test_touched_slots_and_accounts_since_mark():
    evm = pyrevm.EVM()
    store = evm.deploy(A, STORE_BYTECODE)
    mark = evm.journal_len
    evm.message_call(A, store, call_data("set(uint256,uint256)", 3, 4))
    s = evm.journal_str
    assert len(journal_vectors(s)) == evm.journal_len
    touched = touched_since(s, mark, evm.journal_len)
    store_b = bytes.fromhex(store[2:].lower())
    assert (store_b, slot_of(3)) in touched.slots
    assert bytes.fromhex(A[2:]) in touched.accounts


def test_empty_journal_shapes():
    evm = pyrevm.EVM()
    assert journal_vectors(evm.journal_str) == [""]
    assert touched_since(evm.journal_str, 0, evm.journal_len).slots == frozenset()
