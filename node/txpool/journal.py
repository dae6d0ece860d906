"""The pool journal: every tx the pool holds, recorded in the chain store, so that a node killed with kill -9
restarts with every tx it acknowledged (DESIGN.md: "crash at any point loses no acknowledged data").

Admission only queues a record, under the pool's lock, so the journal's order is the pool's. `sync()` is the
durability barrier a reply waits for: it writes everything queued in one synced batch, and a caller whose
records another thread's batch already carried returns at once (group commit: at most one fsync per JSON-RPC
request, fewer under load). A block takes the queue into its own batch and deletes its txs' records there
(`for_block`), so block and journal never disagree after a crash. On start, `replay` hands the records back in
arrival order for the pool to re-admit against the committed state; a record it refuses leaves the journal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

from node.errors import MalformedRlp, NodeError, PoolJournalWriteFailed, StoreCorrupted
from node.rlp_codec import decode as rlp_decode
from node.rlp_codec import encode_bytes, encode_list_of_encoded
from node.store.chain_store import ChainStore, JournalOp
from node.tx.decode import DecodeLimits, decode_transaction
from node.tx.model import Transaction

log = logging.getLogger("colend.txpool")


class PoolJournal:
    """Records keyed by arrival sequence number: rlp [raw tx, sender], so replay need not recover signatures."""

    def __init__(self, store: ChainStore) -> None:
        self._store = store
        self._lock = threading.Lock()  # the queue, the counters and _seq_of; held for list and dict operations only
        self._write_lock = threading.Lock()  # one journal write at a time (a sync's or a block's): _written stays exact
        self._queue: list[JournalOp] = []
        self._queued = 0  # records ever queued
        self._written = 0  # how many of those are on disk: always the first ones, in queue order
        self._seq_of: dict[bytes, int] = {}  # tx hash -> sequence number of its record
        self._next_seq = store.last_pool_journal_seq() + 1

    def __len__(self) -> int:
        return len(self._seq_of)

    # -- what the pool did (the caller holds the pool's lock) ------------------------------------------

    def added(self, tx: Transaction, replaced: bytes | None = None, seq: int | None = None) -> None:
        """Record a tx the pool admitted, and drop the record of the one it replaced. `seq`: the record a
        replayed tx already has."""
        with self._lock:
            if seq is None:
                seq = self._next_seq
                self._next_seq += 1
                self._push(seq, encode_list_of_encoded([encode_bytes(tx.raw), encode_bytes(tx.sender)]))
            self._seq_of[tx.hash] = seq
            if replaced is not None:
                self._drop(replaced)

    def removed(self, tx_hashes: Iterable[bytes]) -> None:
        """Drop the records of txs that left the pool (nonce overtaken, skipped by a proposer, not acknowledged)."""
        with self._lock:
            for tx_hash in tx_hashes:
                self._drop(tx_hash)

    def _drop(self, tx_hash: bytes) -> None:
        seq = self._seq_of.pop(tx_hash, None)
        if seq is not None:
            self._push(seq, None)

    def _push(self, seq: int, record: bytes | None) -> None:
        self._queue.append((seq, record))
        self._queued += 1

    # -- writes ----------------------------------------------------------------------------------------

    def sync(self) -> None:
        """Return once every record queued before this call is on disk; PoolJournalWriteFailed if it cannot be."""
        with self._lock:
            target = self._queued
        with self._write_lock:
            if self._written >= target:
                return  # another caller's batch, or a block's, carried these records
            ops, upto = self._take()
            try:
                self._store.write_pool_journal(ops)
            except Exception as exc:  # whatever the cause, these records are not durable and no reply may say so
                self._put_back(ops)
                raise PoolJournalWriteFailed(f"the tx pool journal could not be written: {exc}") from exc
            self._written = upto

    @contextmanager
    def for_block(self, included: Sequence[Transaction]) -> Iterator[list[JournalOp]]:
        """The journal's part of a block's write batch: every queued record, then the deletion of the block's txs.
        The write lock is held across the block's write, so no journal batch lands after it and revives a record."""
        with self._write_lock:
            ops, upto = self._take()
            with self._lock:
                deleted = {self._seq_of[tx.hash] for tx in included if tx.hash in self._seq_of}
            try:
                yield ops + [(seq, None) for seq in sorted(deleted)]
            except BaseException:
                self._put_back(ops)
                raise
            self._written = upto
            with self._lock:
                for tx in included:
                    seq = self._seq_of.pop(tx.hash, None)
                    if seq is not None and seq not in deleted:  # recorded while the block was being written
                        self._push(seq, None)

    def _take(self) -> tuple[list[JournalOp], int]:
        with self._lock:
            ops, self._queue = self._queue, []
            return ops, self._queued

    def _put_back(self, ops: list[JournalOp]) -> None:
        """Failed records go back in front: a later sync or block writes them, in their order."""
        with self._lock:
            self._queue[:0] = ops

    # -- start-up --------------------------------------------------------------------------------------

    def replay(self, limits: DecodeLimits, admit: Callable[[Transaction, int], object]) -> int:
        """Hand each record to `admit(tx, seq)` in arrival order (once, at start, before any other admission);
        a record that no longer decodes or that `admit` refuses (stale nonce, sender no longer permitted...)
        leaves the journal. Returns how many txs the journal holds afterwards."""
        entries = dropped = 0
        for seq, record in self._store.pool_journal():
            entries += 1
            tx: Transaction | None = None
            try:
                raw, sender = _record_fields(record)
                tx = decode_transaction(raw, limits, trusted_sender=sender)
                admit(tx, seq)
            except (NodeError, ValueError) as exc:
                dropped += 1
                with self._lock:
                    self._push(seq, None)
                code, reason = (exc.code, exc.message) if isinstance(exc, NodeError) else ("node.store_corrupted", exc)
                log.info("event=pool_journal_dropped seq=%d tx=%s code=%s reason=%s", seq,
                         f"0x{tx.hash.hex()}" if tx is not None else "-", code, reason)
        self.sync()
        log.info("event=pool_journal_replayed entries=%d restored=%d dropped=%d", entries, len(self), dropped)
        return len(self)


def _record_fields(record: bytes) -> tuple[bytes, bytes]:
    """[raw tx, sender] of a journal record, by the node's strict RLP decoder; a record that is not one is
    the store's corruption (node.store_corrupted), not a client's malformed input."""
    try:
        fields = rlp_decode(record)
    except MalformedRlp as exc:
        raise StoreCorrupted(f"pool journal record: {exc.message}") from exc
    if not (isinstance(fields, list) and len(fields) == 2 and all(isinstance(f, bytes) for f in fields)):
        raise StoreCorrupted("pool journal record is not [raw tx, sender]")
    return fields[0], fields[1]
