"""Signature recovery on other cores: the senders of a JSON-RPC batch's raw txs are recovered in worker
processes while the node's own threads (which share one GIL) go on with admission and block execution.
The same workers prepare whole batches of eth_sendRawTransaction calls (node/rpc/prepare.py, `call`).

A worker runs the very same decode_transaction on the same bytes, so its sender can be trusted by the
admitting thread (decode_transaction's trusted_sender); anything the worker could not decode is decoded
again in-process, which raises the proper error. Only admission uses this: block import always recovers.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from node.tx.decode import DecodeLimits, decode_transaction

CHUNK = 25  # txs per task: the first senders of a batch are ready while later chunks still recover
MIN_BATCH = 8  # below this the hand-off costs more than it saves
RESULT_TIMEOUT_S = 30.0

_limits: DecodeLimits | None = None
T = TypeVar("T")


def _init_worker(limits: DecodeLimits) -> None:
    global _limits
    _limits = limits


def _senders(raws: Sequence[bytes]) -> list[bytes | None]:
    assert _limits is not None
    out: list[bytes | None] = []
    for raw in raws:
        try:
            out.append(decode_transaction(raw, _limits).sender)
        except Exception:
            out.append(None)  # decoded again by the caller, which reports why
    return out


def _with_limits(fn: Callable[..., T], *args: object) -> T:
    assert _limits is not None
    return fn(_limits, *args)


def default_workers() -> int:
    """One process per core beyond the one the node's own threads keep busy."""
    return max(1, (os.cpu_count() or 2) - 1)


class SenderRecovery:
    def __init__(self, limits: DecodeLimits, workers: int | None = None) -> None:
        self._pool = ProcessPoolExecutor(workers or default_workers(), mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_init_worker, initargs=(limits,))
        self._lock = threading.Lock()
        self._pending: dict[bytes, tuple[Future[list[bytes | None]], int]] = {}
        self._pool.submit(_senders, []).result()  # start the workers now, not on the first batch

    @contextmanager
    def prefetch(self, raws: Sequence[bytes]) -> Iterator[None]:
        """Start recovering `raws`; within the block, take() finds their senders. Forgets them after."""
        if len(raws) < MIN_BATCH:
            yield
            return
        entries = {}
        for start in range(0, len(raws), CHUNK):
            chunk = list(raws[start : start + CHUNK])
            future = self._pool.submit(_senders, chunk)
            entries.update((raw, (future, i)) for i, raw in enumerate(chunk))
        with self._lock:
            self._pending.update(entries)
        try:
            yield
        finally:
            with self._lock:
                for raw in entries:
                    self._pending.pop(raw, None)

    def take(self, raw: bytes) -> bytes | None:
        """The sender recovered for `raw`, or None when it was not prefetched or did not decode."""
        with self._lock:
            entry = self._pending.pop(raw, None)
        if entry is None:
            return None
        future, index = entry
        try:
            return future.result(timeout=RESULT_TIMEOUT_S)[index]
        except Exception:
            return None  # recovered in-process instead

    def call(self, fn: Callable[..., T], *args: object) -> T:
        """fn(decode limits, *args) in a worker; `fn` must be a module-level function (it is pickled by name)."""
        return self._pool.submit(_with_limits, fn, *args).result(timeout=RESULT_TIMEOUT_S)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
