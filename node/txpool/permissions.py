"""Admission-time write permission per sender, cached until a block rewrites the Consortium's storage.

`canWrite` is a view of that storage alone, so the cache is exact between such blocks. Execution re-checks
every tx against the state at its position, so a stale answer could only delay a tx, never let one in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

MAX_CACHED_SENDERS = 4_096


class PermissionCache:
    def __init__(self, can_write: Callable[[bytes], bool]) -> None:
        self._can_write = can_write
        self._lock = threading.Lock()
        self._allowed: dict[bytes, bool] = {}

    def permitted(self, sender: bytes) -> bool:
        allowed = self._allowed.get(sender)
        if allowed is None:
            allowed = self._can_write(sender)
            with self._lock:
                if len(self._allowed) >= MAX_CACHED_SENDERS:
                    self._allowed.clear()
                self._allowed[sender] = allowed
        return allowed

    def clear(self) -> None:
        with self._lock:
            self._allowed.clear()
