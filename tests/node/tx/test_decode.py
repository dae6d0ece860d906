import pytest
import rlp
from eth_account import Account

from node.errors import (
    GasLimitExceeded,
    MalformedTransaction,
    OversizedTransaction,
    TxRejected,
    WrongChainId,
)
from node.tx.decode import SECP256K1_N, DecodeLimits, decode_transaction
from node.tx.model import DYNAMIC_FEE, LEGACY
from node.tx.signing import sign_dynamic_fee, sign_legacy
from tests.node.support import BANK_A, CHAIN_ID, addr, legacy_tx

LIMITS = DecodeLimits(chain_id=CHAIN_ID, block_gas_limit=30_000_000)
TO = bytes.fromhex("22" * 20)


def test_legacy_eip155_signed_by_eth_account():
    raw = legacy_tx(BANK_A, 5, TO, b"\x01\x02", gas=60_000)
    tx = decode_transaction(raw, LIMITS)
    assert (tx.type, tx.nonce, tx.to, tx.data, tx.gas_limit, tx.chain_id) == (LEGACY, 5, TO, b"\x01\x02", 60_000, CHAIN_ID)
    assert tx.sender == addr(BANK_A)


def test_dynamic_fee_signed_by_eth_account_with_access_list():
    signed = Account.from_key(BANK_A).sign_transaction({
        "type": 2, "nonce": 1, "maxFeePerGas": 7, "maxPriorityFeePerGas": 3, "gas": 100_000, "to": "0x" + TO.hex(),
        "value": 0, "data": b"", "chainId": CHAIN_ID,
        "accessList": [{"address": "0x" + "33" * 20, "storageKeys": ["0x" + "00" * 31 + "01"]}]})
    tx = decode_transaction(bytes(signed.raw_transaction), LIMITS)
    assert tx.type == DYNAMIC_FEE and tx.sender == addr(BANK_A) and tx.hash == bytes(signed.hash)
    assert tx.access_list == ((bytes.fromhex("33" * 20), (1,)),)
    assert (tx.gas_price, tx.max_priority_fee) == (7, 3)


def test_access_list_type_1_and_contract_creation():
    signed = Account.from_key(BANK_A).sign_transaction({
        "type": 1, "nonce": 0, "gasPrice": 0, "gas": 100_000, "to": None, "value": 0, "data": b"\x60\x00",
        "chainId": CHAIN_ID, "accessList": []})
    tx = decode_transaction(bytes(signed.raw_transaction), LIMITS)
    assert tx.type == 1 and tx.is_create and tx.sender == addr(BANK_A)


def test_fast_signers_agree_with_eth_account():
    for raw in (sign_dynamic_fee(BANK_A, CHAIN_ID, 3, TO, b"\xaa"), sign_legacy(BANK_A, CHAIN_ID, 3, TO, b"\xaa")):
        tx = decode_transaction(raw, LIMITS)
        assert tx.sender == addr(BANK_A)
        assert Account.recover_transaction(raw) == Account.from_key(BANK_A).address


def test_wrong_chain_id_rejected_for_both_types():
    with pytest.raises(WrongChainId, match="chain id"):
        decode_transaction(legacy_tx(BANK_A, 0, TO, chain_id=1), LIMITS)
    with pytest.raises(WrongChainId):
        decode_transaction(sign_dynamic_fee(BANK_A, 1, 0, TO), LIMITS)


def test_unprotected_pre_eip155_rejected():
    fields = [0, 0, 50_000, TO, 0, b""]
    raw = rlp.encode([*fields, 27, 1, 1])
    with pytest.raises(MalformedTransaction, match="pre-EIP-155"):
        decode_transaction(raw, LIMITS)


def test_bad_signature_rejected_or_recovers_other_sender():
    raw = bytearray(sign_dynamic_fee(BANK_A, CHAIN_ID, 0, TO))
    fields = rlp.decode(bytes(raw[1:]))
    fields[-1] = (int.from_bytes(fields[-1], "big") ^ 1).to_bytes(32, "big")  # tamper with s
    tampered = b"\x02" + rlp.encode(fields)
    try:
        tx = decode_transaction(tampered, LIMITS)
    except MalformedTransaction:
        return
    assert tx.sender != addr(BANK_A)


def test_high_s_rejected():
    fields = rlp.decode(sign_dynamic_fee(BANK_A, CHAIN_ID, 0, TO)[1:])
    s = int.from_bytes(fields[-1], "big")
    fields[-1] = (SECP256K1_N - s).to_bytes(32, "big")
    fields[-3] = b"" if fields[-3] == b"\x01" else b"\x01"
    with pytest.raises(MalformedTransaction, match="high s"):
        decode_transaction(b"\x02" + rlp.encode(fields), LIMITS)


@pytest.mark.parametrize("raw", [b"", b"\xc0", b"\x02\xc0", b"\x05\xc0", b"\xf8\xff\x00", b"\x02" + b"\x83abc"])
def test_malformed_rlp_and_shapes(raw):
    with pytest.raises(MalformedTransaction):
        decode_transaction(raw, LIMITS)


def test_non_canonical_integer_rejected():
    fields = rlp.decode(sign_dynamic_fee(BANK_A, CHAIN_ID, 0, TO)[1:])
    fields[1] = b"\x00\x01"  # nonce with a leading zero
    with pytest.raises(MalformedTransaction, match="leading zero"):
        decode_transaction(b"\x02" + rlp.encode(fields), LIMITS)


def test_gas_limit_above_block_limit_and_intrinsic_gas():
    with pytest.raises(GasLimitExceeded):
        decode_transaction(sign_dynamic_fee(BANK_A, CHAIN_ID, 0, TO, gas=30_000_001), LIMITS)
    with pytest.raises(MalformedTransaction, match="intrinsic gas"):
        decode_transaction(sign_dynamic_fee(BANK_A, CHAIN_ID, 0, TO, gas=20_000), LIMITS)


def test_size_limit():
    small = DecodeLimits(CHAIN_ID, 30_000_000, max_tx_bytes=1024)
    raw = sign_dynamic_fee(BANK_A, CHAIN_ID, 0, TO, b"\x01" * 2000, gas=1_000_000)
    with pytest.raises(OversizedTransaction):
        decode_transaction(raw, small)
    assert issubclass(OversizedTransaction, TxRejected)


def test_any_gas_price_accepted():
    tx = decode_transaction(sign_dynamic_fee(BANK_A, CHAIN_ID, 0, TO, max_fee=10**18, max_priority_fee=10**9), LIMITS)
    assert tx.gas_price == 10**18
