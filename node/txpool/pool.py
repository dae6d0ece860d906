"""Holds admitted txs per sender in nonce order and hands the proposer ready runs in arrival order.

Not thread-safe by itself; the node serialises access. What ends up in a block is the proposer's choice,
so selection order may use arrival sequence numbers without touching consensus determinism.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from node.tx.model import Transaction
from node.txpool.admission import PoolLimits, SenderView, admit, contiguous_end


@dataclass(slots=True)
class _Entry:
    tx: Transaction
    seq: int


class _HashesByNonce(Mapping[int, bytes]):
    """A sender's pooled tx hashes by nonce, viewed in place: admission must not copy the run on every add."""

    __slots__ = ("_mine",)

    def __init__(self, mine: dict[int, _Entry]) -> None:
        self._mine = mine

    def __getitem__(self, nonce: int) -> bytes:
        return self._mine[nonce].tx.hash

    def get(self, nonce: int, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        """Mapping.get raises and catches a KeyError on a miss, the usual case at admission."""
        entry = self._mine.get(nonce)
        return default if entry is None else entry.tx.hash

    def __contains__(self, nonce: object) -> bool:
        return nonce in self._mine

    def __iter__(self) -> Iterator[int]:
        return iter(self._mine)

    def __len__(self) -> int:
        return len(self._mine)


class TxPool:
    def __init__(self, limits: PoolLimits | None = None) -> None:
        self.limits = limits or PoolLimits()
        self._by_hash: dict[bytes, _Entry] = {}
        self._by_sender: dict[bytes, dict[int, _Entry]] = {}
        self._ready_end: dict[bytes, tuple[int, int]] = {}  # sender -> (account nonce, first nonce not pooled)
        self._seq = 0

    def __len__(self) -> int:
        return len(self._by_hash)

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self._by_hash

    def get(self, tx_hash: bytes) -> Transaction | None:
        entry = self._by_hash.get(tx_hash)
        return entry.tx if entry else None

    def add(self, tx: Transaction, account_nonce: int, permitted: bool, balance: int = 0) -> bytes | None:
        """Admit tx (raising TxRejected if refused); returns the hash it replaced, if any."""
        mine = self._by_sender.get(tx.sender, {})
        ready_end = self._ready_end.get(tx.sender)
        if ready_end is None or ready_end[0] != account_nonce:
            ready_end = (account_nonce, contiguous_end(account_nonce, mine))
        view = SenderView(account_nonce, permitted, _HashesByNonce(mine), balance, ready_end=ready_end[1])
        decision = admit(tx, view, tx.hash in self._by_hash, len(self._by_hash), self.limits)
        if decision.replaces is not None:
            del self._by_hash[decision.replaces]
        self._seq += 1
        entry = _Entry(tx, self._seq)
        mine = self._by_sender.setdefault(tx.sender, mine)
        mine[tx.nonce] = entry
        self._by_hash[tx.hash] = entry
        end = ready_end[1]
        while end in mine:  # a tx that closes a gap makes the queued ones behind it ready
            end += 1
        self._ready_end[tx.sender] = (account_nonce, end)
        return decision.replaces

    def pending_nonce(self, sender: bytes, account_nonce: int) -> int:
        return contiguous_end(account_nonce, self._by_sender.get(sender, {}))

    def select(self, nonce_of: Callable[[bytes], int], max_txs: int, max_gas: int) -> list[Transaction]:
        """Ready txs (contiguous from each sender's account nonce), merged across senders by arrival."""
        runs: dict[bytes, list[_Entry]] = {}
        for sender, mine in self._by_sender.items():
            nonce = nonce_of(sender)
            run = []
            while nonce in mine:
                run.append(mine[nonce])
                nonce += 1
            if run:
                runs[sender] = run
        heap = [(run[0].seq, sender, 0) for sender, run in runs.items()]
        heapq.heapify(heap)
        chosen: list[Transaction] = []
        gas = 0
        while heap and len(chosen) < max_txs:
            _, sender, i = heapq.heappop(heap)
            tx = runs[sender][i].tx
            if gas + tx.gas_limit > max_gas:
                continue  # this sender's later nonces wait for the next block too
            gas += tx.gas_limit
            chosen.append(tx)
            if i + 1 < len(runs[sender]):
                heapq.heappush(heap, (runs[sender][i + 1].seq, sender, i + 1))
        return chosen

    def remove(self, tx_hashes: Iterable[bytes]) -> list[bytes]:
        """Drop these txs; returns the hashes that were pooled (for the journal)."""
        removed = []
        for tx_hash in tx_hashes:
            entry = self._by_hash.pop(tx_hash, None)
            if entry is None:
                continue
            removed.append(tx_hash)
            mine = self._by_sender.get(entry.tx.sender)
            self._ready_end.pop(entry.tx.sender, None)
            if mine is not None and mine.get(entry.tx.nonce) is entry:
                del mine[entry.tx.nonce]
                if not mine:
                    del self._by_sender[entry.tx.sender]
        return removed

    def prune(self, nonces: Mapping[bytes, int]) -> list[bytes]:
        """Drop every pooled tx whose nonce the chain has passed (mined, or replaced by a mined one); returns them."""
        stale = []
        for sender, nonce in nonces.items():
            stale.extend(e.tx.hash for n, e in self._by_sender.get(sender, {}).items() if n < nonce)
        return self.remove(stale)

    def senders(self) -> list[bytes]:
        return list(self._by_sender)

    def pending(self) -> list[Transaction]:
        return [e.tx for e in sorted(self._by_hash.values(), key=lambda e: e.seq)]
