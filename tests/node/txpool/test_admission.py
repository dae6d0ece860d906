"""Admission is a pure function: these tests need no EVM, store or clock."""

import pytest

from node.errors import AlreadyKnown, NonceGapTooLarge, NonceTooLow, NotPermitted, PoolFull
from node.tx.decode import DecodeLimits, decode_transaction
from node.tx.signing import sign_dynamic_fee
from node.txpool.admission import PoolLimits, SenderView, admit, contiguous_end
from tests.node.support import BANK_A, CHAIN_ID

LIMITS = PoolLimits(max_total=10, max_per_sender=5, max_queued_per_sender=2, max_nonce_ahead=50)
DECODE = DecodeLimits(CHAIN_ID, 30_000_000)
TO = b"\x22" * 20


def tx(nonce: int, data: bytes = b""):
    return decode_transaction(sign_dynamic_fee(BANK_A, CHAIN_ID, nonce, TO, data), DECODE)


def view(nonce=0, permitted=True, pooled=None):
    return SenderView(nonce, permitted, pooled or {})


def test_fresh_tx_admitted():
    assert admit(tx(0), view(), False, 0, LIMITS).replaces is None


def test_already_known():
    with pytest.raises(AlreadyKnown, match="already known"):
        admit(tx(0), view(), True, 1, LIMITS)


def test_not_permitted_checked_before_nonce():
    with pytest.raises(NotPermitted, match="not permitted"):
        admit(tx(0), view(permitted=False), False, 0, LIMITS)


def test_nonce_too_low():
    with pytest.raises(NonceTooLow, match="nonce too low"):
        admit(tx(2), view(nonce=3), False, 0, LIMITS)


def test_same_nonce_replaces():
    assert admit(tx(4, b"\x01"), view(nonce=3, pooled={3: b"a", 4: b"b"}), False, 2, LIMITS).replaces == b"b"


def test_total_and_sender_limits():
    with pytest.raises(PoolFull, match="txpool is full"):
        admit(tx(0), view(), False, 10, LIMITS)
    pooled = {n: bytes([n]) for n in range(5)}
    with pytest.raises(PoolFull, match="sender"):
        admit(tx(5), view(pooled=pooled), False, 5, LIMITS)


def test_gapped_txs_are_held_but_bounded():
    pooled = {0: b"0", 5: b"5", 6: b"6"}
    assert contiguous_end(0, pooled) == 1
    assert admit(tx(1), view(pooled=pooled), False, 3, LIMITS).replaces is None  # fills the gap: always fine
    with pytest.raises(PoolFull, match="gap"):
        admit(tx(8), view(pooled=pooled), False, 3, LIMITS)


def test_nonce_far_ahead():
    with pytest.raises(NonceGapTooLarge):
        admit(tx(51), view(), False, 0, LIMITS)


def test_value_needs_balance_but_gas_is_free():
    from node.errors import InsufficientFunds

    value_tx = decode_transaction(sign_dynamic_fee(BANK_A, CHAIN_ID, 0, TO, value=5, max_fee=10**9), DECODE)
    with pytest.raises(InsufficientFunds, match="insufficient funds"):
        admit(value_tx, view(), False, 0, LIMITS)
    assert admit(value_tx, SenderView(0, True, {}, balance=5), False, 0, LIMITS).replaces is None
