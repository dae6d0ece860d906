"""Which accounts and slots the EVM touched since a journal position, read from pyrevm's journal.

pyrevm 0.3 exposes no storage iterator; its only window on writes is `journal_str`, the Debug rendering of
revm's JournaledState, whose `journal` field lists entries (StorageChange, NonceChange, ...) grouped in one
vector per checkpoint. Vectors before the current last one never change again (reverts only truncate to
later checkpoints), so a cursor remembers where the last vector starts inside the journal section and the
next read parses only from there: Python work is proportional to what a block did. Entries of a tx's
pre-frame steps land in the previous vector, which the overlap covers. We collect addresses and slot keys
only and read present values back through the EVM API; reads that changed nothing are filtered out later
by comparing with the stored state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_JOURNAL_START = "journal: ["
_JOURNAL_END = ", spec: "
# Literal-prefixed patterns, so `re` can skip ahead quickly; the tail of a busy block runs to megabytes.
# Only entries that can change an account's nonce, balance or code; AccountLoaded/AccountTouched change nothing,
# storage writes are covered by _SLOT, and tx senders are added by the executor.
_ACCOUNT_ENTRIES = tuple(re.compile(name + r" \{ address: 0x([0-9a-f]{40})")
                         for name in ("NonceChange", "CodeChange", "AccountCreated", "AccountDestroyed", "BalanceChange"))
_TRANSFER = re.compile(r"BalanceTransfer \{ from: 0x([0-9a-f]{40}), to: 0x([0-9a-f]{40})")
_SLOT = re.compile(r"StorageChange \{ address: 0x([0-9a-f]{40}), key: (\d+)")
# TSTORE needs Cancun; the executor pins Shanghai, so its transient entries (which _SLOT would also match) never occur.
_TRANSIENT = "TransientStorageChange"


class JournalFormatError(RuntimeError):
    """pyrevm's journal rendering is not what this reader understands (a pyrevm upgrade?)."""


@dataclass(frozen=True, slots=True)
class Touched:
    accounts: frozenset[bytes]
    slots: frozenset[tuple[bytes, int]]


def _section(journal_str: str, min_length: int) -> tuple[int, int]:
    """(start, end) of the journal section body: from the '[' of vector 0 to the closing ']' of the list."""
    end = journal_str.rfind(_JOURNAL_END)
    if end < 0:
        raise JournalFormatError("no journal section in pyrevm journal_str")
    marker = journal_str.rfind(_JOURNAL_START, 0, end - min_length)
    if marker < 0:
        raise JournalFormatError("no journal section in pyrevm journal_str")
    start = marker + len(_JOURNAL_START)
    if journal_str[start] != "[" or journal_str[end - 2 : end] != "]]":
        raise JournalFormatError("unexpected journal section shape")
    return start, end - 1


def journal_vectors(journal_str: str) -> list[str]:
    """All vectors' text (for checks and tests; the cursor avoids splitting the whole section)."""
    start, end = _section(journal_str, 0)
    return journal_str[start + 1 : end - 1].split("], [")


class JournalCursor:
    """Position of the journal's last vector, as a character offset inside the journal section."""

    def __init__(self, journal_str: str) -> None:
        self.offset = 0
        self.mark(journal_str)

    def mark(self, journal_str: str) -> None:
        """Move to the current last vector (call once the block's effects are durable)."""
        self.offset = self.last_vector(journal_str)

    def last_vector(self, journal_str: str) -> int:
        start, end = _section(journal_str, self.offset)
        return journal_str.rfind("[", start, end) - start

    def touched(self, journal_str: str) -> Touched:
        """Accounts and (account, slot) pairs named from the cursor's vector to the end of the journal."""
        start, end = _section(journal_str, self.offset)
        if journal_str[start + self.offset] != "[":
            raise JournalFormatError("journal cursor is not at a vector boundary (was the journal reverted?)")
        tail = journal_str[start + self.offset : end]
        if _TRANSIENT in tail:
            raise JournalFormatError("transient storage in the journal: the EVM spec is not the one this reader expects")
        names: set[str] = set()
        for pattern in _ACCOUNT_ENTRIES:
            names.update(pattern.findall(tail))
        for sender, receiver in set(_TRANSFER.findall(tail)):
            names.update((sender, receiver))
        accounts = frozenset(bytes.fromhex(a) for a in names)
        slots = frozenset((bytes.fromhex(a), int(k)) for a, k in set(_SLOT.findall(tail)))
        return Touched(accounts, slots)
