"""The pool's front door: decode, permission check and admission of raw txs, under a lock of their own.

Admission reads the committed state (node.committed_state) and never the engine's lock, so txs keep arriving
while a block executes; the engine takes txs out of the pool through select/prune/remove.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext

from node.committed_state import CommittedState
from node.permissions import PermissionCache
from node.tx.decode import DecodeLimits, decode_transaction
from node.tx.model import Transaction
from node.tx.recovery import SenderRecovery
from node.txpool.admission import PoolLimits
from node.txpool.pool import TxPool


class PoolFront:
    def __init__(self, committed: CommittedState, limits: DecodeLimits, pool_limits: PoolLimits | None) -> None:
        self.committed = committed
        self.limits = limits
        self.pool = TxPool(pool_limits)
        self.lock = threading.Lock()  # the pool alone
        self.permissions = PermissionCache(committed.can_write)
        self.tx_arrived = threading.Event()
        self.recovery: SenderRecovery | None = None  # the node process recovers senders on other cores

    def prefetch(self, raws: Sequence[bytes]) -> AbstractContextManager[None]:
        """Start recovering the senders of a batch of raw txs about to be submitted (see node.tx.recovery)."""
        return self.recovery.prefetch(raws) if self.recovery is not None else nullcontext()

    def submit(self, raw: bytes) -> bytes:
        """Decode, verify and admit a raw tx; returns its hash or raises MalformedTransaction/TxRejected."""
        sender = self.recovery.take(raw) if self.recovery is not None else None
        return self.submit_tx(decode_transaction(raw, self.limits, trusted_sender=sender))

    def submit_tx(self, tx: Transaction) -> bytes:
        allowed = self.permissions.permitted(tx.sender)
        with self.lock:
            account = self.committed.account(tx.sender)
            self.pool.add(tx, account.nonce, allowed, account.balance)
        self.tx_arrived.set()
        return tx.hash

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
            self.pool.prune({tx.sender: self.committed.account(tx.sender).nonce for tx in included})

    def remove(self, tx_hashes: list[bytes]) -> None:
        with self.lock:
            self.pool.remove(tx_hashes)

    def __len__(self) -> int:
        return len(self.pool)
