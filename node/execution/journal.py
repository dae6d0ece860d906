"""What a block touched, read from pyrevm's journal state after the block ran.

pyrevm 0.3 exposes no storage iterator; its only window on writes is `journal_str`, the Debug rendering of
revm's JournaledState. Its `state` map holds every account and slot loaded since the journal was last
empty, each slot with its present value. The executor keeps the journal empty between blocks (the head
state lives in pyrevm's database layer), so after a block that map is exactly what the block loaded, each
slot once, with its final value: no per-slot calls back into the EVM are needed. Values that did not change
are filtered out later by comparing with the stored state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_STATE_START = "JournaledState { state: {"
_STATE_END = "}, transient_storage: "
_JOURNAL_START = "journal: ["
_JOURNAL_END = ", spec: "
_ACCOUNT_HEAD = re.compile(r"0x([0-9a-f]{40}): Account \{ info: ")
_SLOT = re.compile(r"(\d+): StorageSlot \{ previous_or_original_value: \d+, present_value: (\d+)")
_TRANSIENT_EMPTY = "transient_storage: {}"


class JournalFormatError(RuntimeError):
    """pyrevm's journal rendering is not what this reader understands (a pyrevm upgrade?)."""


@dataclass(frozen=True, slots=True)
class Touched:
    accounts: frozenset[bytes]
    slots: dict[tuple[bytes, int], int]  # present values


def touched_in(journal_str: str) -> Touched:
    """Every account and slot in the journal state, with the slots' present values."""
    if not journal_str.startswith(_STATE_START):
        raise JournalFormatError("unexpected pyrevm journal_str header")
    end = journal_str.find(_STATE_END)
    if end < 0 or _TRANSIENT_EMPTY not in journal_str[end : end + 40]:
        raise JournalFormatError("unexpected pyrevm journal_str layout (or transient storage in use)")
    state = journal_str[len(_STATE_START) : end]
    heads = [(m.start(), bytes.fromhex(m.group(1))) for m in _ACCOUNT_HEAD.finditer(state)]
    slots: dict[tuple[bytes, int], int] = {}
    for i, (start, address) in enumerate(heads):
        stop = heads[i + 1][0] if i + 1 < len(heads) else len(state)
        chunk = state[start:stop]
        storage_at = chunk.rfind("storage: {")
        if storage_at < 0:
            raise JournalFormatError("account without a storage map in pyrevm journal_str")
        for slot, present in _SLOT.findall(chunk, storage_at):
            slots[(address, int(slot))] = int(present)
    return Touched(frozenset(a for _, a in heads), slots)


def journal_vectors(journal_str: str) -> list[str]:
    """The journal's entry vectors as text (for checks and tests)."""
    end = journal_str.rfind(_JOURNAL_END)
    start = journal_str.rfind(_JOURNAL_START, 0, end)
    if start < 0 or end < 0:
        raise JournalFormatError("no journal section in pyrevm journal_str")
    body = journal_str[start + len(_JOURNAL_START) : end]
    return body[1:-2].split("], [")
