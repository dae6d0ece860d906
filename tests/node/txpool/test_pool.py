from node.tx.decode import DecodeLimits, decode_transaction
from node.tx.signing import sign_dynamic_fee
from node.txpool.admission import PoolLimits
from node.txpool.pool import TxPool
from tests.node.support import BANK_A, BANK_B, CHAIN_ID, addr

DECODE = DecodeLimits(CHAIN_ID, 30_000_000)
TO = b"\x22" * 20


def tx(key, nonce, data=b"", gas=100_000):
    return decode_transaction(sign_dynamic_fee(key, CHAIN_ID, nonce, TO, data, gas=gas), DECODE)


def test_select_is_nonce_ordered_per_sender_and_arrival_ordered_across():
    pool = TxPool(PoolLimits())
    a1, b0, a0, a3 = tx(BANK_A, 1), tx(BANK_B, 0), tx(BANK_A, 0), tx(BANK_A, 3)
    for t in (a1, b0, a0, a3):
        pool.add(t, 0, True)
    chosen = pool.select(lambda s: 0, 100, 10**9)
    assert [c.hash for c in chosen] == [b0.hash, a0.hash, a1.hash]  # a3 waits behind the gap at nonce 2
    assert pool.pending_nonce(addr(BANK_A), 0) == 2


def test_select_respects_gas_and_count():
    pool = TxPool()
    for n in range(5):
        pool.add(tx(BANK_A, n, gas=400_000), 0, True)
    assert len(pool.select(lambda s: 0, 100, 1_000_000)) == 2
    assert len(pool.select(lambda s: 0, 3, 10**9)) == 3


def test_replacement_and_prune():
    pool = TxPool()
    first, second = tx(BANK_A, 0, b"\x01"), tx(BANK_A, 0, b"\x02")
    pool.add(first, 0, True)
    assert pool.add(second, 0, True) == first.hash
    assert first.hash not in pool and second.hash in pool and len(pool) == 1
    pool.add(tx(BANK_A, 1), 0, True)
    pool.prune({addr(BANK_A): 1})
    assert len(pool) == 1 and second.hash not in pool
