from node.chain.block import Block
from node.chain.header import BlockHeader
from node.chain.receipt import Log, Receipt
from node.chain.state import AccountRecord, StateDiff
from node.store.chain_store import ChainStore
from node.tx.decode import DecodeLimits, decode_transaction
from node.tx.signing import sign_dynamic_fee
from tests.node.support import BANK_A, CHAIN_ID

LIMITS = DecodeLimits(CHAIN_ID, 30_000_000)
A, B = b"\xaa" * 20, b"\xbb" * 20
T1, T2 = b"\x01" * 32, b"\x02" * 32


def block(n: int, parent: bytes, nonce: int) -> tuple[Block, list[Receipt]]:
    tx = decode_transaction(sign_dynamic_fee(BANK_A, CHAIN_ID, nonce, b"\x22" * 20), LIMITS)
    header = BlockHeader(n, parent, 1000 * n, b"\x00" * 20, b"\x00" * 32, b"\x00" * 32, bytes([n]) * 32, 10**9, 1, b"")
    logs = (Log(A if n % 2 else B, (T1, T2) if n == 3 else (T1,), b"d"),)
    return Block(header, (tx,)), [Receipt(1, 21_000, 21_000, logs, None)]


def test_blocks_txs_logs_index_and_state_rows(tmp_path):
    store = ChainStore(str(tmp_path / "db"), LIMITS)
    parent = b"\x00" * 32
    for n in range(1, 6):
        blk, receipts = block(n, parent, n - 1)
        diff = StateDiff({A: AccountRecord(nonce=n)}, {(A, 7): n % 2}, {})
        store.commit_block(blk, receipts, diff)
        parent = blk.hash
    assert store.head() == (5, parent)
    assert store.block(parent).header.number == 5
    stored = store.tx(store.block(store.hash_by_number(2)).txs[0].hash)
    assert (stored.block_number, stored.index, stored.receipt.logs[0].address) == (2, 0, B)
    assert store.blocks_with_logs(0, 5, [A], []) == [1, 3, 5]
    assert store.blocks_with_logs(2, 4, [A], []) == [3]
    assert store.blocks_with_logs(0, 5, [], [None, [T2]]) == [3]
    assert store.blocks_with_logs(0, 5, [B], [[T1]]) == [2, 4]
    assert store.blocks_with_logs(0, 5, [], []) == [1, 2, 3, 4, 5]
    assert store.account(A).nonce == 5 and store.slot(A, 7) == 1
    store.commit_block(*block(6, parent, 5), StateDiff({A: AccountRecord()}, {(A, 7): 0}, {}))
    assert store.slot(A, 7) == 0 and list(store.storage()) == [] and list(store.accounts()) == []
    store.close()
    reopened = ChainStore(str(tmp_path / "db"), LIMITS)
    assert reopened.head()[0] == 6
