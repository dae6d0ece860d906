"""Whether a decoded tx may enter the pool: a pure function of the tx, the sender's view and the limits.

Rejection messages follow geth's wording ("nonce too low", "already known", "txpool is full") so
Ethereum tooling that matches on them keeps working.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from node.errors import AlreadyKnown, InsufficientFunds, NonceGapTooLarge, NonceTooLow, NotPermitted, PoolFull
from node.tx.model import Transaction


@dataclass(frozen=True, slots=True)
class PoolLimits:
    max_total: int = 100_000
    max_per_sender: int = 8_192
    max_queued_per_sender: int = 64  # txs held behind a nonce gap
    max_nonce_ahead: int = 8_192  # beyond account nonce + this, a tx would never become ready soon


@dataclass(frozen=True, slots=True)
class SenderView:
    """What admission needs to know about the sender: chain nonce, permission and its pooled txs by nonce."""

    account_nonce: int
    permitted: bool
    pooled: Mapping[int, bytes]  # nonce -> tx hash
    balance: int = 0
    ready_end: int | None = None  # contiguous_end(account_nonce, pooled), when the caller keeps it


@dataclass(frozen=True, slots=True)
class Admit:
    replaces: bytes | None  # hash of the same-nonce tx this one replaces


def contiguous_end(account_nonce: int, pooled: Mapping[int, object]) -> int:
    """First nonce >= account_nonce missing from pooled: the sender's next 'pending' nonce."""
    nonce = account_nonce
    while nonce in pooled:
        nonce += 1
    return nonce


def admit(tx: Transaction, sender: SenderView, is_known: bool, pool_size: int, limits: PoolLimits) -> Admit:
    """Admit or raise the TxRejected subclass that says why not."""
    if is_known:
        raise AlreadyKnown("already known")
    if not sender.permitted:
        raise NotPermitted(f"sender 0x{tx.sender.hex()} is not permitted to write (not an active member account)")
    if tx.value > sender.balance:  # gas is free, so only the value itself must be covered
        raise InsufficientFunds(f"insufficient funds for gas * price + value: balance {sender.balance}, value {tx.value}")
    if tx.nonce < sender.account_nonce:
        raise NonceTooLow(f"nonce too low: next nonce {sender.account_nonce}, tx nonce {tx.nonce}")
    replaced = sender.pooled.get(tx.nonce)
    if replaced is not None:
        return Admit(replaces=replaced)
    if tx.nonce > sender.account_nonce + limits.max_nonce_ahead:
        raise NonceGapTooLarge(
            f"nonce too high: next nonce {sender.account_nonce}, tx nonce {tx.nonce}, max ahead {limits.max_nonce_ahead}"
        )
    if pool_size >= limits.max_total:
        raise PoolFull("txpool is full")
    if len(sender.pooled) >= limits.max_per_sender:
        raise PoolFull(f"txpool is full: sender has {len(sender.pooled)} pending txs (limit {limits.max_per_sender})")
    ready_end = sender.ready_end if sender.ready_end is not None else contiguous_end(sender.account_nonce, sender.pooled)
    if tx.nonce > ready_end:
        queued = sum(1 for n in sender.pooled if n > ready_end)
        if queued >= limits.max_queued_per_sender:
            raise PoolFull(f"txpool is full: sender has {queued} txs queued behind a nonce gap")
    return Admit(replaces=None)
