"""Virtual time: a priority queue of callbacks, ordered by (time, insertion sequence) for exact replay."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any


class EventQueue:
    def __init__(self) -> None:
        self.now_ms = 0
        self._heap: list[tuple[int, int, Callable[..., None], tuple[Any, ...]]] = []
        self._sequence = 0

    def schedule(self, delay_ms: int, callback: Callable[..., None], *args: Any) -> None:
        assert delay_ms >= 0, "events never run in the past"
        self._sequence += 1
        heapq.heappush(self._heap, (self.now_ms + delay_ms, self._sequence, callback, args))

    def run_next(self) -> bool:
        """Run the earliest event; False when none is left."""
        if not self._heap:
            return False
        when, _, callback, args = heapq.heappop(self._heap)
        self.now_ms = when
        callback(*args)
        return True

    def next_time(self) -> int | None:
        return self._heap[0][0] if self._heap else None
