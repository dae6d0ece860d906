"""The pool journal on its own: records in arrival order, deletions, replay, the group-commit barrier."""

from __future__ import annotations

import threading

import pytest
import rlp

from node.errors import NonceTooLow, PoolJournalWriteFailed
from node.store.chain_store import ChainStore, JournalOp
from node.tx.decode import DecodeLimits, decode_transaction
from node.tx.model import Transaction
from node.tx.signing import sign_dynamic_fee
from node.txpool.journal import PoolJournal
from tests.node.support import BANK_A, BANK_B, CHAIN_ID

DECODE = DecodeLimits(CHAIN_ID, 30_000_000)
TO = b"\x22" * 20


def tx(key: bytes, nonce: int, data: bytes = b"") -> Transaction:
    return decode_transaction(sign_dynamic_fee(key, CHAIN_ID, nonce, TO, data, gas=100_000), DECODE)


def replayed(store: ChainStore, refuse: frozenset[bytes] = frozenset()) -> list[tuple[bytes, int]]:
    """(tx hash, seq) in the order a fresh journal over `store` hands them back to a pool that admits all but
    `refuse` (and records each admitted tx, as PoolFront.submit_tx does)."""
    out: list[tuple[bytes, int]] = []
    journal = PoolJournal(store)

    def admit(t: Transaction, seq: int) -> None:
        if t.hash in refuse:
            raise NonceTooLow("nonce too low")
        journal.added(t, seq=seq)
        out.append((t.hash, seq))

    assert journal.replay(DECODE, admit) == len(out)
    return out


def test_records_come_back_in_arrival_order_without_the_removed_or_replaced_ones(tmp_path):
    store = ChainStore(str(tmp_path / "db"))
    journal = PoolJournal(store)
    b0, a1, a0, a0_again, b1 = tx(BANK_B, 0), tx(BANK_A, 1), tx(BANK_A, 0), tx(BANK_A, 0, b"\x01"), tx(BANK_B, 1)
    for t in (b0, a1, a0):
        journal.added(t)
    journal.added(a0_again, replaced=a0.hash)
    journal.added(b1)
    journal.removed([b0.hash, b"\x00" * 32])  # a hash never journaled is ignored
    journal.sync()
    assert [h for h, _ in replayed(store)] == [a1.hash, a0_again.hash, b1.hash]
    assert [seq for _, seq in replayed(store)] == [2, 4, 5]
    later = PoolJournal(store)
    later.added(tx(BANK_B, 2))
    later.sync()
    assert replayed(store)[-1][1] == 6  # numbering continues after a restart: arrival order holds across it


def test_what_replay_refuses_or_cannot_decode_leaves_the_journal(tmp_path, caplog):
    store = ChainStore(str(tmp_path / "db"))
    journal = PoolJournal(store)
    stale, fresh = tx(BANK_A, 0), tx(BANK_A, 1)
    journal.added(stale)
    journal.added(fresh)
    journal.sync()
    store.write_pool_journal([(9, b"\xc3not"), (10, rlp.encode([b"\x01\x02", b"\x00" * 20]))])
    caplog.set_level("INFO", logger="colend.txpool")
    assert replayed(store, refuse=frozenset({stale.hash})) == [(fresh.hash, 2)]
    dropped = [r.getMessage() for r in caplog.records if "event=pool_journal_dropped" in r.getMessage()]
    assert len(dropped) == 3 and f"tx=0x{stale.hash.hex()} code=node.nonce_too_low" in dropped[0]
    assert "seq=9 tx=- code=node.store_corrupted" in dropped[1]  # the store's record, not a client's input
    assert "entries=4 restored=1 dropped=3" in caplog.records[-1].getMessage()
    assert [seq for seq, _ in store.pool_journal()] == [2]


class GatedStore:
    """A store whose journal writes wait for `release`, so a test can hold one write in flight."""

    def __init__(self) -> None:
        self.batches: list[list[JournalOp]] = []
        self.writing = threading.Event()
        self.release = threading.Event()
        self.fail: Exception | None = None

    def last_pool_journal_seq(self) -> int:
        return 0

    def write_pool_journal(self, ops: list[JournalOp]) -> None:
        self.writing.set()
        assert self.release.wait(10)
        if self.fail is not None:
            raise self.fail
        self.batches.append(list(ops))


def test_a_sync_waits_for_the_write_in_flight_and_then_carries_every_record_queued_meanwhile():
    store = GatedStore()
    journal = PoolJournal(store)  # type: ignore[arg-type]
    t1, t2, t3 = tx(BANK_A, 0), tx(BANK_A, 1), tx(BANK_B, 0)
    journal.added(t1)
    first = threading.Thread(target=journal.sync)
    first.start()
    assert store.writing.wait(10)  # t1's write is in flight
    journal.added(t2)
    journal.added(t3)
    done = [threading.Event(), threading.Event()]
    others = [threading.Thread(target=lambda e=e: (journal.sync(), e.set())) for e in done]
    for thread in others:
        thread.start()
    assert not done[0].wait(0.1) and not done[1].is_set()  # t2 and t3 are not durable yet: nobody returns
    store.release.set()
    for thread in (first, *others):
        thread.join(10)
    assert all(e.is_set() for e in done)
    assert [[seq for seq, _ in batch] for batch in store.batches] == [[1], [2, 3]]  # one write for both waiters
    journal.sync()
    assert len(store.batches) == 2  # nothing new queued: no write at all


def test_a_failed_write_raises_and_its_records_wait_for_the_next_one():
    store = GatedStore()
    store.release.set()
    store.fail = OSError("disk full")
    journal = PoolJournal(store)  # type: ignore[arg-type]
    journal.added(tx(BANK_A, 0))
    with pytest.raises(PoolJournalWriteFailed, match="disk full"):
        journal.sync()
    store.fail = None
    journal.added(tx(BANK_A, 1))
    journal.sync()
    assert [[seq for seq, _ in batch] for batch in store.batches] == [[1, 2]]


def test_a_block_batch_carries_the_queue_and_deletes_its_own_txs(tmp_path):
    store = GatedStore()
    store.release.set()
    journal = PoolJournal(store)  # type: ignore[arg-type]
    included, waiting = tx(BANK_A, 0), tx(BANK_A, 5)
    journal.added(included)
    journal.sync()
    journal.added(waiting)
    with journal.for_block([included]) as ops:
        assert [(seq, record is None) for seq, record in ops] == [(2, False), (1, True)]
    journal.sync()  # the block's batch wrote the queue: nothing left to write
    assert len(store.batches) == 1 and len(journal) == 1
    with pytest.raises(OSError), journal.for_block([waiting]):
        raise OSError("the block's write failed")
    assert len(journal) == 1  # the tx is still pooled and still journaled
