import pyrevm
from eth_hash.auto import keccak

from node.execution.bytecode import copying_constructor, fresh_contract_info, unpadded
from node.execution.evm import EVM_SPEC, create_address
from tests.node.store_contract import STORE_BYTECODE, call_data, slot_of
from tests.node.support import BANK_A, addr, mine, open_engine, tx

CALLER = "0x" + "11" * 20


def deployed_runtime(initcode: bytes) -> tuple[bytes, bytes]:
    """(code as pyrevm returns it, padded; the account's code hash) after revm deploys `initcode`."""
    evm = pyrevm.EVM(spec_id=EVM_SPEC)
    address = evm.deploy(CALLER, initcode)
    return evm.get_code(address), bytes(evm.basic(address).code_hash)


def test_unpadded_gives_back_the_code_as_deployed():
    runtime = bytes.fromhex("6001600055")  # SSTORE(0, 1)
    padded, code_hash = deployed_runtime(copying_constructor(runtime))
    assert len(padded) > len(runtime) and padded.startswith(runtime)  # revm's padding, as pyrevm returns it
    assert code_hash == keccak(runtime) and unpadded(padded, code_hash) == runtime
    ending_in_zeros = runtime + b"\x00\x00"  # code may end in zero bytes of its own
    assert unpadded(ending_in_zeros + b"\x00" * 33, keccak(ending_in_zeros)) == ending_in_zeros
    assert unpadded(b"\x01\x02", keccak(b"other")) == b"\x01\x02"  # not padding: left alone


def test_eth_get_code_and_the_store_hold_the_code_as_deployed(tmp_path):
    runtime = bytes.fromhex("60016000550000")  # ends in zeros, like code with trailing data
    chain = open_engine(tmp_path / "db")
    contract = create_address(addr(BANK_A), 0)
    mine(chain, [tx(BANK_A, 0, None, copying_constructor(runtime))])
    assert chain.executor.code(contract) == runtime
    record = chain.read_view.account(contract)
    assert record.code_hash == keccak(runtime) and chain.store.code(record.code_hash) == runtime
    chain.store.close()
    reopened = open_engine(tmp_path / "db")  # restart: loaded from the store, analysed, same bytes
    assert reopened.executor.code(contract) == runtime


def test_analysed_accounts_run_exactly_like_raw_code():
    """Same output, gas and storage whether the code is inserted raw or as revm analysed it."""
    padded, code_hash = deployed_runtime(STORE_BYTECODE)
    runtime = unpadded(padded, code_hash)
    analysed = fresh_contract_info(code_hash, runtime, EVM_SPEC)
    assert analysed is not None and bytes(analysed.code_hash) == code_hash
    raw = pyrevm.AccountInfo(nonce=1, balance=0, code_hash=code_hash, code=runtime)
    address = "0x" + "22" * 20
    outcomes = []
    for info in (raw, analysed):
        evm = pyrevm.EVM(spec_id=EVM_SPEC)
        evm.insert_account_info(address, info)
        results = []
        for data in (call_data("set(uint256,uint256)", 7, 42), call_data("setMany(uint256,uint256)", 100, 3)):
            results.append((bytes(evm.message_call(CALLER, address, data)), evm.result.gas_used))
        outcomes.append((results, evm.storage(address, slot_of(7)), evm.storage(address, slot_of(101))))
    assert outcomes[0] == outcomes[1] and outcomes[0][1] == 42
