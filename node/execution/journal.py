"""Which accounts and slots the EVM touched since a journal position, read from pyrevm's journal.

pyrevm 0.3 exposes no storage iterator; its only window on writes is `journal_str`, the Debug rendering of
revm's JournaledState, whose `journal` field lists entries (StorageChange, NonceChange, ...) grouped in one
vector per checkpoint. We take the entries from a recorded vector count onward and read present values back
through the EVM API, so the parse only has to find addresses and slot keys, never values. Entries of a tx's
pre-frame steps land in the previous vector, hence the one-vector overlap; reads that changed nothing are
filtered out later by comparing with the stored state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_JOURNAL_START = "journal: ["
_JOURNAL_END = ", spec: "
_ADDRESS = re.compile(r"(?:address|from|to): 0x([0-9a-f]{40})")
_SLOT = re.compile(r"(?<!Transient)StorageChange \{ address: 0x([0-9a-f]{40}), key: (\d+)")


class JournalFormatError(RuntimeError):
    """pyrevm's journal rendering is not what this reader understands (a pyrevm upgrade?)."""


@dataclass(frozen=True, slots=True)
class Touched:
    accounts: frozenset[bytes]
    slots: frozenset[tuple[bytes, int]]


def journal_vectors(journal_str: str) -> list[str]:
    start = journal_str.rfind(_JOURNAL_START)
    end = journal_str.rfind(_JOURNAL_END)
    if start < 0 or end < start:
        raise JournalFormatError("no journal section in pyrevm journal_str")
    body = journal_str[start + len(_JOURNAL_START) : end]
    if not (body.startswith("[") and body.endswith("]]")):
        raise JournalFormatError("unexpected journal section shape")
    return body[1:-2].split("], [")


def touched_since(journal_str: str, from_vector: int, expected_vectors: int) -> Touched:
    """Accounts and (account, slot) pairs named by journal vectors from `from_vector - 1` onward."""
    vectors = journal_vectors(journal_str)
    if len(vectors) != expected_vectors:
        raise JournalFormatError(f"journal has {len(vectors)} vectors, pyrevm reports {expected_vectors}")
    tail = "\n".join(vectors[max(from_vector - 1, 0) :])
    accounts = frozenset(bytes.fromhex(a) for a in _ADDRESS.findall(tail))
    slots = frozenset((bytes.fromhex(a), int(k)) for a, k in _SLOT.findall(tail))
    return Touched(accounts, slots)
