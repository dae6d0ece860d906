import pyrevm

from node.execution.journal import JournalCursor, journal_vectors
from tests.node.store_contract import STORE_BYTECODE, call_data, slot_of

A = "0x" + "11" * 20


def test_touched_slots_and_accounts_since_mark():
    evm = pyrevm.EVM()
    store = evm.deploy(A, STORE_BYTECODE)
    cursor = JournalCursor(evm.journal_str)
    evm.message_call(A, store, call_data("set(uint256,uint256)", 3, 4))
    s = evm.journal_str
    assert len(journal_vectors(s)) == evm.journal_len
    touched = cursor.touched(s)
    store_b = bytes.fromhex(store[2:].lower())
    assert (store_b, slot_of(3)) in touched.slots
    assert bytes.fromhex(A[2:]) in touched.accounts
    cursor.mark(s)
    checkpoint = evm.snapshot()  # an eth_call between blocks leaves the cursor valid
    evm.message_call(A, store, call_data("set(uint256,uint256)", 5, 6))
    evm.revert(checkpoint)
    evm.message_call(A, store, call_data("set(uint256,uint256)", 7, 8))
    later = cursor.touched(evm.journal_str)
    assert (store_b, slot_of(7)) in later.slots  # (slot 3 may reappear: the cursor overlaps one vector)
    assert (store_b, slot_of(5)) not in later.slots


def test_empty_journal_shapes():
    evm = pyrevm.EVM()
    assert journal_vectors(evm.journal_str) == [""]
    assert JournalCursor(evm.journal_str).touched(evm.journal_str).slots == frozenset()
