"""The pool's front door: decode, permission check and admission of raw txs, under a lock of their own.

Admission reads the committed state (node.execution.read_view) and never the engine's lock, so txs keep arriving
while a block executes; the engine takes txs out of the pool through select/prune/remove. Every change to the
pool is mirrored, under the same lock, in the pool journal (node/txpool/journal.py), which `durable` makes
crash-proof before a tx is acknowledged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext

from node.errors import PoolJournalWriteFailed
from node.execution.read_view import CommittedState
from node.proc.workers import WorkerPool
from node.tx.decode import DecodeLimits, decode_transaction
from node.tx.model import Transaction
from node.txpool.admission import PoolLimits
from node.txpool.journal import PoolJournal
from node.txpool.permissions import PermissionCache
from node.txpool.pool import TxPool


class PoolFront:
    def __init__(self, committed: CommittedState, limits: DecodeLimits, pool_limits: PoolLimits | None,
                 journal: PoolJournal) -> None:
        self.committed = committed
        self.limits = limits
        self.pool = TxPool(pool_limits)
        self.lock = threading.Lock()  # the pool alone
        self.permissions = PermissionCache(committed.can_write)
        self.tx_arrived = threading.Event()
        self.workers: WorkerPool | None = None  # the node's processes on other cores (senders, whole batches)
        self.journal = journal

    def prefetch(self, raws: Sequence[bytes]) -> AbstractContextManager[None]:
        """Start recovering the senders of a batch of raw txs about to be submitted (see node.proc.workers)."""
        return self.workers.prefetch(raws) if self.workers is not None else nullcontext()

    def submit(self, raw: bytes) -> bytes:
        """Decode, verify and admit a raw tx; returns its hash or raises MalformedTransaction/TxRejected."""
        sender = self.workers.take(raw) if self.workers is not None else None
        return self.submit_tx(decode_transaction(raw, self.limits, trusted_sender=sender))

    def submit_tx(self, tx: Transaction, journal_seq: int | None = None) -> bytes:
        """Admit a decoded tx; `journal_seq`: the journal record it is replayed from. Not durable until `durable`."""
        allowed = self.permissions.permitted(tx.sender)
        with self.lock:
            account = self.committed.account(tx.sender)
            replaced = self.pool.add(tx, account.nonce, allowed, account.balance)
            self.journal.added(tx, replaced, journal_seq)
        if not self.tx_arrived.is_set():  # set() takes the event's lock every time; a batch needs it once
            self.tx_arrived.set()
        return tx.hash

    def durable(self, admitted: Sequence[bytes] = ()) -> None:
        """The barrier before an acknowledgement: returns once every tx admitted so far is in the journal on disk.
        If that fails, the `admitted` txs leave the pool (their callers get an error, and a retry starts afresh)
        and PoolJournalWriteFailed is raised."""
        try:
            self.journal.sync()
        except PoolJournalWriteFailed:
            self.remove(list(admitted))
            raise

    def restore(self) -> int:
        """Re-admit the journal's txs in arrival order against the committed state (at start); how many it holds."""
        return self.journal.replay(self.limits, self.submit_tx)

    def pending_nonce(self, sender: bytes) -> int:
        with self.lock:
            return self.pool.pending_nonce(sender, self.committed.account(sender).nonce)

    def get(self, tx_hash: bytes) -> Transaction | None:
        with self.lock:
            return self.pool.get(tx_hash)

    def select(self, nonce_of: Callable[[bytes], int], max_txs: int, max_gas: int) -> list[Transaction]:
        with self.lock:
            return self.pool.select(nonce_of, max_txs, max_gas)

    def prune(self, included: list[Transaction]) -> None:
        """Drop what a committed block included (and anything its senders' nonces overtook)."""
        with self.lock:
            pruned = self.pool.prune({tx.sender: self.committed.account(tx.sender).nonce for tx in included})
            self.journal.removed(pruned)  # the block's own txs left the journal in its batch already

    def remove(self, tx_hashes: list[bytes]) -> None:
        with self.lock:
            removed = self.pool.remove(tx_hashes)
            self.journal.removed(removed)

    def __len__(self) -> int:
        return len(self.pool)
