"""Polled filters (eth_newFilter, eth_newBlockFilter, eth_getFilterChanges): in memory, bounded, expiring when idle.

A filter is a cursor, not a buffer: each poll asks the backend for what lies between the last block delivered
and the head. Blocks are final once they exist, so nothing is ever retracted and nothing needs holding.
Idleness is counted in blocks, not seconds: a filter not polled while `filter_idle_blocks` blocks were added
is dropped. Since that span never exceeds `max_log_block_range`, one poll always fits one log query.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from node.rpc.backend.api import JsonDict, NodeBackend
from node.rpc.errors import FilterNotFound, LimitExceeded
from node.rpc.limits import RpcLimits
from node.rpc.log_query import (
    LogFilter,
    check_results,
    query_criteria,
    range_criteria,
    resolve_block,
)
from node.rpc.params import random_id

T = TypeVar("T")


def _synchronized(method: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(method)
    def locked(self: FilterRegistry, *args: object) -> T:
        with self._lock:
            return method(self, *args)

    return locked


@dataclass
class _Filter:
    spec: LogFilter | None  # None: a block filter
    cursor: int  # last block whose changes were delivered
    polled_at_head: int


class FilterRegistry:
    """The filters installed on one node; ids are unguessable, so callers cannot poll each other's."""

    def __init__(
        self, backend: NodeBackend, limits: RpcLimits, new_id: Callable[[], str] = random_id
    ) -> None:
        self._backend = backend
        self._limits = limits
        self._new_id = new_id
        self._filters: dict[str, _Filter] = {}
        self._lock = threading.RLock()  # HTTP requests are served on several threads

    def __len__(self) -> int:
        return len(self._filters)

    @_synchronized
    def new_log_filter(self, spec: LogFilter) -> str:
        return self._install(spec)

    @_synchronized
    def new_block_filter(self) -> str:
        return self._install(None)

    @_synchronized
    def uninstall(self, filter_id: str) -> bool:
        self._expire(self._backend.block_number())
        return self._filters.pop(filter_id.lower(), None) is not None

    @_synchronized
    def changes(self, filter_id: str) -> list[str] | list[JsonDict]:
        """What happened since the last poll: new block hashes, or new matching logs."""
        head = self._backend.block_number()
        entry = self._get(filter_id, head)
        if entry.spec is None:
            hashes = [self._block_hash(number) for number in range(entry.cursor + 1, head + 1)]
            entry.cursor = entry.polled_at_head = head
            return hashes
        logs = self._new_logs(entry.spec, entry.cursor, head)
        entry.cursor = entry.polled_at_head = head
        return logs

    @_synchronized
    def logs(self, filter_id: str) -> list[JsonDict]:
        """Every log the filter's criteria match now (eth_getFilterLogs); does not count as a poll."""
        head = self._backend.block_number()
        entry = self._get(filter_id, head)
        if entry.spec is None:
            raise FilterNotFound("filter not found: eth_getFilterLogs takes a log filter, not a block filter")
        criteria = query_criteria(entry.spec, head, self._limits)
        return [] if criteria is None else check_results(self._backend.get_logs(criteria), self._limits)

    def _install(self, spec: LogFilter | None) -> str:
        head = self._backend.block_number()
        self._expire(head)
        if len(self._filters) >= self._limits.max_filters:
            raise LimitExceeded(
                f"too many filters installed ({self._limits.max_filters}); uninstall some or let them expire",
                data={"limit": self._limits.max_filters},
            )
        filter_id = self._new_id().lower()
        self._filters[filter_id] = _Filter(spec=spec, cursor=head, polled_at_head=head)
        return filter_id

    def _get(self, filter_id: str, head: int) -> _Filter:
        self._expire(head)
        entry = self._filters.get(filter_id.lower())
        if entry is None:
            raise FilterNotFound("filter not found")
        return entry

    def _expire(self, head: int) -> None:
        idle = self._limits.filter_idle_blocks
        for filter_id in [fid for fid, f in self._filters.items() if head - f.polled_at_head > idle]:
            del self._filters[filter_id]

    def _new_logs(self, spec: LogFilter, cursor: int, head: int) -> list[JsonDict]:
        # Like geth, a log filter reports logs that arrive after it was installed, within its block range.
        first = cursor + 1
        if spec.from_block is not None and spec.from_block != "earliest":
            first = max(first, resolve_block(spec.from_block, head))
        last = head if spec.to_block is None else min(head, resolve_block(spec.to_block, head))
        if first > last:
            return []
        return check_results(self._backend.get_logs(range_criteria(spec, first, last)), self._limits)

    def _block_hash(self, number: int) -> str:
        block = self._backend.get_block_by_number(number, False)
        if block is None:
            raise LookupError(f"block {number} is below the head {self._backend.block_number()} but missing")
        return str(block["hash"])
