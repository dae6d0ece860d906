"""What a block touched, read from pyrevm's rendering of the EVM's state after the block ran.

pyrevm 0.3 exposes no storage iterator; its only window on writes is `journal_str`, the Debug rendering of
revm's JournaledState. Its `state` map holds every account and slot loaded since revm's journal was last
empty, each slot with its present value. The executor keeps that journal empty between blocks (the head
state lives in pyrevm's database layer), so after a block that map is exactly what the block loaded, each
slot once, with its final value: no per-slot calls back into the EVM are needed. Each slot also shows the
value it had when first loaded, i.e. at block start (the database layer holds the head state), so the
slots the block really changed, and their previous values, come out of the same text without a store read.
"""

from __future__ import annotations

import re

_STATE_START = "JournaledState { state: {"
_STATE_END = "}, transient_storage: "
_ENTRIES_START = "journal: ["
_ENTRIES_END = ", spec: "
_ACCOUNT_HEAD = re.compile(r"0x([0-9a-f]{40}): Account \{ info: ")
_STORAGE_START = "storage: {"
_STORAGE_END = "}, status: "
_SLOT_START = ": StorageSlot { previous_or_original_value: "  # slot: StorageSlot { ...: first, present_value: now }
_SLOT_PRESENT = ", present_value: "
_SLOT_END = " }"
_TRANSIENT_EMPTY = "transient_storage: {}"


class TouchedStateFormatError(RuntimeError):
    """pyrevm's rendering of the touched state is not what this reader understands (a pyrevm upgrade?)."""


class Touched:
    """The accounts a block loaded and its slots, those it changed apart."""

    __slots__ = ("_unchanged", "accounts", "changed")

    def __init__(self, accounts: frozenset[bytes], changed: dict[tuple[bytes, int], tuple[int, int]],
                 unchanged: list[tuple[bytes, int, int]]) -> None:
        self.accounts = accounts
        self.changed = changed  # (value at first load, present value), only where they differ
        self._unchanged = unchanged  # read, or written back to their first value

    @property
    def slots(self) -> dict[tuple[bytes, int], int]:
        """Present values of every touched slot."""
        slots = {(a, s): v for a, s, v in self._unchanged}
        slots.update((k, new) for k, (_, new) in self.changed.items())
        return slots


def touched_in(rendering: str) -> Touched:
    """Every account and slot in pyrevm's `journal_str` rendering, with the slots' first-load and present values."""
    if not rendering.startswith(_STATE_START):
        raise TouchedStateFormatError("unexpected pyrevm journal_str header")
    end = rendering.find(_STATE_END)
    if end < 0 or _TRANSIENT_EMPTY not in rendering[end : end + 40]:
        raise TouchedStateFormatError("unexpected pyrevm journal_str layout (or transient storage in use)")
    heads = [(m.start(), bytes.fromhex(m.group(1))) for m in _ACCOUNT_HEAD.finditer(rendering, 0, end)]
    changed: dict[tuple[bytes, int], tuple[int, int]] = {}
    unchanged: list[tuple[bytes, int, int]] = []
    for i, (start, address) in enumerate(heads):
        stop = heads[i + 1][0] if i + 1 < len(heads) else end
        storage_at = rendering.find(_STORAGE_START, start, stop)  # after the info, which never holds that text
        storage_end = rendering.find(_STORAGE_END, storage_at, stop)
        if storage_at < 0 or storage_end < 0:
            raise TouchedStateFormatError("account without a storage map in pyrevm journal_str")
        storage = rendering[storage_at + len(_STORAGE_START) : storage_end]
        if not storage:
            continue
        # Split on fixed separators rather than scan with a regex (a block's storage text runs to megabytes);
        # anything but the expected shape fails to unpack or to parse as an integer.
        try:
            if not storage.endswith(_SLOT_END):
                raise ValueError("unterminated storage slot")
            for entry in storage[: -len(_SLOT_END)].split(_SLOT_END + ", "):
                slot, values = entry.split(_SLOT_START)
                original, present = values.split(_SLOT_PRESENT)
                if original != present:  # canonical decimal: equal text is equal value
                    changed[(address, int(slot))] = (int(original), int(present))
                else:
                    unchanged.append((address, int(slot), int(present)))
        except ValueError as exc:
            raise TouchedStateFormatError(f"unexpected storage slot rendering in pyrevm journal_str: {exc}") from exc
    return Touched(frozenset(a for _, a in heads), changed, unchanged)


def entry_vectors(rendering: str) -> list[str]:
    """The entry vectors of revm's journal in `rendering`, as text (for checks and tests)."""
    end = rendering.rfind(_ENTRIES_END)
    start = rendering.rfind(_ENTRIES_START, 0, end)
    if start < 0 or end < 0:
        raise TouchedStateFormatError("no journal section in pyrevm journal_str")
    body = rendering[start + len(_ENTRIES_START) : end]
    return body[1:-2].split("], [")
