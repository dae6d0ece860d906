"""Work on other cores: worker processes recover the senders of a JSON-RPC batch's raw txs, and prepare whole
batches of eth_sendRawTransaction calls (node/rpc/prepare.py, `call`), while the node's own threads (which share
one GIL) go on with admission and block execution.

A worker runs the very same decode_transaction on the same bytes, so its sender can be trusted by the
admitting thread (decode_transaction's trusted_sender); anything the worker could not decode is decoded
again in-process, which raises the proper error. Only admission uses this: block import always recovers.

Each worker is a process with a pipe of its own, and the calling thread talks to it directly: it sends,
then waits in recv() without the GIL. concurrent.futures' process pool put two more threads in between (a
feeder and a result reader), and every hand-off between threads is one more GIL switch the block-executing
thread pays for (bench.node, 30k txs, medians of 5 and 6 runs: 5,550 -> 5,850 tx/s without them). A worker
that dies is replaced; its caller gets an error and the work is done in-process. Workers write nothing to
the node's stdout or stderr.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TypeVar

from node.proc.child import requests, silence_output
from node.proc.heap import freeze_startup_heap
from node.tx.decode import DecodeLimits, decode_transaction

MIN_BATCH = 8  # below this the hand-off costs more than it saves
RESULT_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 2.0

T = TypeVar("T")
log = logging.getLogger("colend.node")


class WorkerFailed(RuntimeError):
    """A worker raised, died or did not answer in time; the caller does the work itself."""


def _senders(limits: DecodeLimits, raws: Sequence[bytes]) -> list[bytes | None]:
    out: list[bytes | None] = []
    for raw in raws:
        try:
            out.append(decode_transaction(raw, limits).sender)
        except Exception:
            out.append(None)  # decoded again by the caller, which reports why
    return out


def _serve(conn: Connection, limits: DecodeLimits, preload: Sequence[str]) -> None:
    """A worker's loop: (fn, args) in, (True, fn(limits, *args)) or (False, why) out, until None or EOF."""
    silence_output()
    for module in preload:  # before the first request, not during it
        importlib.import_module(module)
    freeze_startup_heap()
    for request in requests(conn):
        fn, args = request  # type: ignore[misc]
        try:
            reply: tuple[bool, object] = (True, fn(limits, *args))
        except Exception as exc:
            reply = (False, f"{type(exc).__name__}: {exc}")
        conn.send(reply)


def default_workers() -> int:
    """One process per core beyond the one the node's own threads keep busy."""
    return max(1, (os.cpu_count() or 2) - 1)


class _Worker:
    def __init__(self, context: multiprocessing.context.SpawnContext, limits: DecodeLimits,
                 preload: Sequence[str]) -> None:
        self.conn, child = context.Pipe(duplex=True)
        self.process: BaseProcess = context.Process(target=_serve, args=(child, limits, tuple(preload)), daemon=True,
                                                    name="colend-worker")
        self.process.start()
        child.close()


class WorkerPool:
    def __init__(self, limits: DecodeLimits, workers: int | None = None, preload: Sequence[str] = ()) -> None:
        """`preload`: modules of the functions the workers will run, imported as each worker starts (the node's
        RPC batch preparation pulls in pyrlp and eth-utils: 150 ms that the first client batch waited for)."""
        self._limits = limits
        self._preload = tuple(preload)
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._senders: dict[bytes, bytes | None] = {}
        for _ in range(workers or default_workers()):
            self._add_worker()
        self.call(_senders, [])  # the workers are up and importing now, not on the first batch

    def _add_worker(self) -> None:
        worker = _Worker(self._context, self._limits, self._preload)
        with self._lock:
            self._all.append(worker)
        self._idle.put(worker)

    def call(self, fn: Callable[..., T], *args: object) -> T:
        """fn(decode limits, *args) in a worker; `fn` must be a module-level function (it is pickled by name).
        Raises WorkerFailed (and replaces the worker if it died) when there is no answer."""
        try:
            worker = self._idle.get(timeout=RESULT_TIMEOUT_S)
        except queue.Empty as exc:
            raise WorkerFailed("no worker free") from exc
        try:
            worker.conn.send((fn, args))
            if not worker.conn.poll(RESULT_TIMEOUT_S):
                raise TimeoutError(f"no answer in {RESULT_TIMEOUT_S} s")
            ok, result = worker.conn.recv()
        except (OSError, EOFError, TimeoutError) as exc:
            self._replace(worker, exc)
            raise WorkerFailed(f"worker failed: {exc}") from exc
        self._idle.put(worker)
        if not ok:
            raise WorkerFailed(str(result))
        return result  # type: ignore[no-any-return]

    def _replace(self, worker: _Worker, why: BaseException) -> None:
        log.warning("event=worker_replaced pid=%s reason=%s", worker.process.pid, why)
        worker.conn.close()
        worker.process.kill()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
        self._add_worker()

    @contextmanager
    def prefetch(self, raws: Sequence[bytes]) -> Iterator[None]:
        """Recover the senders of `raws` in a worker; within the block, take() finds them. Forgets them after."""
        if len(raws) < MIN_BATCH:
            yield
            return
        try:
            senders = self.call(_senders, list(raws))
        except WorkerFailed:
            yield  # each tx is recovered in-process instead
            return
        with self._lock:
            self._senders.update(zip(raws, senders, strict=True))
        try:
            yield
        finally:
            with self._lock:
                for raw in raws:
                    self._senders.pop(raw, None)

    def take(self, raw: bytes) -> bytes | None:
        """The sender recovered for `raw`, or None when it was not prefetched or did not decode."""
        with self._lock:
            return self._senders.pop(raw, None)

    def close(self) -> None:
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:
            with suppress(OSError):
                worker.conn.send(None)
        for worker in workers:
            worker.process.join(STOP_TIMEOUT_S)
            if worker.process.is_alive():
                worker.process.kill()
            worker.conn.close()
