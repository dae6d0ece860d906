"""A node process freezes its start-up heap: what exists is out of every later collection, except the garbage
among it, which is collected first rather than kept for ever."""

from __future__ import annotations

import gc
import weakref

from node.proc.heap import freeze_startup_heap


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_startup_objects_are_frozen_and_startup_garbage_is_collected_first() -> None:
    kept = [_Node() for _ in range(1000)]
    a, b = _Node(), _Node()
    a.other, b.other = b, a  # a cycle: only the collector can free it
    gone = weakref.ref(a)
    del a, b
    try:
        freeze_startup_heap()
        assert gone() is None
        assert gc.get_freeze_count() >= len(kept)
        assert not any(gc.is_tracked(n) and n in gc.get_objects(generation=2) for n in kept[:3])
    finally:
        gc.unfreeze()
