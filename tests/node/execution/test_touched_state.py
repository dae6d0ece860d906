import pyrevm

from node.execution.touched_state import entry_vectors, touched_in
from tests.node.store_contract import STORE_BYTECODE, call_data, slot_of

A = "0x" + "11" * 20


def test_touched_accounts_and_present_values():
    evm = pyrevm.EVM(spec_id="SHANGHAI")
    store = evm.deploy(A, STORE_BYTECODE)
    evm.message_call(A, store, call_data("set(uint256,uint256)", 3, 4))
    evm.message_call(A, store, call_data("set(uint256,uint256)", 3, 5))
    evm.message_call(A, store, call_data("vals(uint256)", 9))
    s = evm.journal_str
    assert len(entry_vectors(s)) == evm.journal_len
    touched = touched_in(s)
    store_b = bytes.fromhex(store[2:].lower())
    assert touched.slots[(store_b, slot_of(3))] == 5
    assert touched.slots[(store_b, slot_of(9))] == 0  # read only
    assert touched.changed == {(store_b, slot_of(3)): (0, 5)}  # value at first load (not the previous 4), present
    assert {bytes.fromhex(A[2:]), store_b} <= touched.accounts


def test_an_evm_that_ran_nothing_touched_nothing():
    evm = pyrevm.EVM()
    assert entry_vectors(evm.journal_str) == [""]
    assert touched_in(evm.journal_str).slots == {}
    assert touched_in(evm.journal_str).changed == {}


def test_changed_slots_compare_with_the_value_at_first_load():
    evm = pyrevm.EVM(spec_id="SHANGHAI")
    store = evm.deploy(A, STORE_BYTECODE)
    evm.message_call(A, store, call_data("set(uint256,uint256)", 1, 7))
    evm.message_call(A, store, call_data("set(uint256,uint256)", 2, 8))
    store_b = bytes.fromhex(store[2:].lower())
    evm2 = pyrevm.EVM(spec_id="SHANGHAI")  # the same state in the database layer, an empty journal
    evm2.insert_account_info(store, evm.basic(store))
    for slot, value in ((slot_of(1), 7), (slot_of(2), 8)):
        checkpoint = evm2.snapshot()
        evm2.insert_account_storage(store, slot, value)
        evm2.revert(checkpoint)
    assert touched_in(evm2.journal_str).changed == {}
    evm2.message_call(A, store, call_data("set(uint256,uint256)", 1, 9))  # changed
    evm2.message_call(A, store, call_data("set(uint256,uint256)", 2, 3))
    evm2.message_call(A, store, call_data("set(uint256,uint256)", 2, 8))  # back to its first value: unchanged
    evm2.message_call(A, store, call_data("clear(uint256)", 4))  # 0 -> 0
    touched = touched_in(evm2.journal_str)
    assert touched.changed == {(store_b, slot_of(1)): (7, 9)}
    assert touched.slots[(store_b, slot_of(2))] == 8 and touched.slots[(store_b, slot_of(4))] == 0
