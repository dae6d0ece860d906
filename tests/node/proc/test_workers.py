"""Senders recovered in worker processes are the ones decode_transaction finds in-process, and a raw tx a worker
cannot decode is decoded again by the admitting thread, which reports why: admission behaves the same."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import pytest

from node.errors import MalformedTransaction
from node.proc.workers import MIN_BATCH, WorkerFailed, WorkerPool, _senders
from node.tx.decode import DecodeLimits, decode_transaction
from tests.node.support import BANK_A, BANK_B, CHAIN_ID, addr, tx

LIMITS = DecodeLimits(CHAIN_ID, 10**9)


@pytest.fixture(scope="module")
def recovery() -> Iterator[WorkerPool]:
    pool = WorkerPool(LIMITS, workers=1)
    yield pool
    pool.close()


def test_prefetched_senders_match_in_process_recovery(recovery: WorkerPool) -> None:
    raws = [tx(BANK_A if n % 2 else BANK_B, n, b"\x22" * 20) for n in range(MIN_BATCH * 5)]
    with recovery.prefetch(raws):
        senders = [recovery.take(raw) for raw in raws]
    assert senders == [decode_transaction(raw, LIMITS).sender for raw in raws]
    assert set(senders) == {addr(BANK_A), addr(BANK_B)}


def test_undecodable_or_unknown_raws_fall_back_to_in_process_decoding(recovery: WorkerPool) -> None:
    good = [tx(BANK_A, n, b"\x22" * 20) for n in range(MIN_BATCH)]
    bad = good[0][:-5]  # truncated: not RLP any more
    with recovery.prefetch([*good, bad]):
        assert recovery.take(bad) is None
        with pytest.raises(MalformedTransaction):
            decode_transaction(bad, LIMITS, trusted_sender=recovery.take(bad))
    assert recovery.take(good[1]) is None  # forgotten once the batch is done
    small = good[:2]
    with recovery.prefetch(small):  # too small a batch to hand off
        assert recovery.take(small[0]) is None


def _exit_worker(limits: DecodeLimits) -> None:
    os._exit(3)  # a worker that dies mid-call


def _raise_in_worker(limits: DecodeLimits) -> None:
    raise ValueError("refused")


def test_a_worker_that_dies_or_raises_is_reported_and_a_dead_one_replaced(recovery: WorkerPool) -> None:
    with pytest.raises(WorkerFailed, match="ValueError: refused"):
        recovery.call(_raise_in_worker)
    with pytest.raises(WorkerFailed):
        recovery.call(_exit_worker)
    raws = [tx(BANK_A, n, b"\x22" * 20) for n in range(MIN_BATCH)]
    assert recovery.call(_senders, raws) == [addr(BANK_A)] * MIN_BATCH  # a fresh worker took its place


def test_workers_stop_with_close() -> None:
    pool = WorkerPool(LIMITS, workers=2)
    processes = [w.process for w in pool._all]
    assert all(p.is_alive() for p in processes)
    pool.close()
    assert not any(p.is_alive() for p in processes)


def _imported(limits: DecodeLimits, module: str) -> bool:
    import sys

    return module in sys.modules


def test_preloaded_modules_are_imported_before_the_first_request() -> None:
    """The first client batch must not wait for a worker to import what prepares it (150 ms on this machine)."""
    plain, preloaded = WorkerPool(LIMITS, workers=1), WorkerPool(LIMITS, workers=1, preload=("colorsys",))
    try:
        assert not plain.call(_imported, "colorsys")  # nothing else in a worker imports it
        assert preloaded.call(_imported, "colorsys")
    finally:
        plain.close()
        preloaded.close()


def _frozen(_limits: DecodeLimits) -> int:
    return gc.get_freeze_count()


def test_a_worker_freezes_its_startup_heap(recovery: WorkerPool) -> None:
    """Full collections in a worker walk only what it made since start-up (node/proc/heap.py): no 25-40 ms pauses
    in the middle of a client's batch."""
    assert recovery.call(_frozen) > 10_000  # the imports alone are tens of thousands of objects
