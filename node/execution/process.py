"""Block execution in a process of its own: the EVM, receipts and roots get a core and a GIL to themselves.

In one process, block execution shared the GIL with admission, the RPC threads and the event loop: a
1,500-tx block that executes in 126 ms alone took 210-330 ms while clients were sending (bench.node), and
every admission waited on the executing thread in turn. Here a child process holds the executor's EVM (the
same EvmExecutor, on the same state, so every result is the one in-process execution gives) and the node's
consensus thread waits on a pipe, without the GIL, while it runs.

What crosses the pipe is plain tuples, which pickle in a microsecond or two each: the txs' fields in, and out
the receipts, their encodings, the block's roots and bloom, and the touched state. A committed block's diff
goes back in, unanswered until the next call, so the child applies it while the node publishes the same diff
to its read view. A proposer's open block (node/engine/next_block.py) takes its txs the same way, unanswered, as they
arrive, and only its seal is awaited. A child that dies or fails raises ExecutionProcessFailed: the engine then
rebuilds the execution state from the store (ChainEngine._restore), which starts a new child.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from node.chain.receipt import Log, Receipt
from node.chain.roots import BlockRoots
from node.chain.state import EMPTY_CODE_HASH, AccountRecord, StateDiff, TouchedAccount
from node.defaults import EXECUTION_NICENESS
from node.errors import NodeError
from node.execution.abc import BlockContext, BlockExecution, BlockTicket, ExecutedBlock, TxSkipped
from node.execution.evm import EvmExecutor, OpenBlock, finished
from node.execution.touched_state import TouchedStateFormatError
from node.proc.child import requests, silence_output
from node.proc.heap import freeze_startup_heap
from node.tx.model import Transaction, TxFields, from_field_values

log = logging.getLogger("colend.engine")
STORAGE_CHUNK = 20_000  # slots per message while the state loads
LOAD_QUEUE_CHUNKS = 64  # chunks read from the store ahead of the child (a bound on the memory they hold)
STOP_TIMEOUT_S = 2.0

_RAISED = {"TxSkipped": TxSkipped, "TouchedStateFormatError": TouchedStateFormatError}


class ExecutionProcessFailed(NodeError):
    """The execution process died or failed unexpectedly; the engine rebuilds execution from the store."""

    code = "node.execution_process_failed"


# -- the child -----------------------------------------------------------------------------------------


class _Child:
    """The execution process's state: an EvmExecutor and the code it may need to rebuild an account."""

    def __init__(self, chain_id: int, block_gas_limit: int) -> None:
        self.chain_id = chain_id
        self.block_gas_limit = block_gas_limit
        self.executor = EvmExecutor(chain_id, block_gas_limit, None)
        self.codes: dict[bytes, bytes] = {}
        self.open_txs: list[Transaction] = []  # every tx sent into the open block, in order

    def code_of(self, code_hash: bytes) -> bytes:
        return self.codes[code_hash]

    def load_begin(self, consortium: bytes | None, accounts: list[tuple[bytes, AccountRecord]],
                   codes: dict[bytes, bytes]) -> None:
        self.codes = dict(codes)
        self.executor = EvmExecutor(self.chain_id, self.block_gas_limit, consortium)
        self.executor.load(accounts, self.code_of, ())

    def load_storage(self, slots: list[tuple[bytes, int, int]]) -> None:
        self.executor.insert_storage(self.code_of, slots)

    def run(self, ctx: BlockContext, fields: list[TxFields], strict: bool, gas_budget: int | None) -> tuple:
        txs = [from_field_values(f) for f in fields]
        return _answer(txs, self.executor.run_block(ctx, txs, strict, gas_budget))

    def open(self, ctx: BlockContext, gas_budget: int | None) -> None:
        self.open_txs = []
        self.executor.open_block(ctx, gas_budget)

    def extend(self, fields: list[TxFields]) -> None:
        block = self._open_block()
        txs = [from_field_values(f) for f in fields]
        self.open_txs.extend(txs)
        block.extend(txs)

    def seal(self) -> tuple:
        return _answer(self.open_txs, finished(self._open_block().seal()))

    def _open_block(self) -> OpenBlock:
        block = self.executor.open
        if block is None:
            raise TouchedStateFormatError("no block is open")
        return block

    def apply(self, diff: StateDiff) -> None:
        self.codes.update(diff.codes)
        self.executor.apply(diff, self.code_of)


def _answer(txs: list[Transaction], block: ExecutedBlock) -> tuple:
    """An executed block as plain tuples, txs by their index in `txs` (what the node sent)."""
    index = {id(tx): i for i, tx in enumerate(txs)}
    out = block.execution
    receipts = [(r.status, r.gas_used, r.cumulative_gas_used,
                 tuple((lg.address, lg.topics, lg.data) for lg in r.logs), r.contract_address, r.revert_data)
                for r in out.receipts]
    accounts = {a: (t.nonce, t.balance, t.code_hash) for a, t in out.accounts.items()}
    return ([index[id(tx)] for tx in out.included], [(index[id(tx)], why) for tx, why in out.skipped], receipts,
            accounts, out.slot_changes, out.codes, out.gas_used, block.encoded_receipts,
            (block.roots.tx_root, block.roots.receipts_root, block.roots.logs_bloom))


def _serve(conn: Connection, chain_id: int, block_gas_limit: int, niceness: int) -> None:
    """The child's loop: (kind, args) in. "load", "storage", "apply", "open" and "extend" get no answer (a reply
    per message could fill the pipe while the node is still sending): their first failure answers the next
    request instead, which then does not run, since the state it would run on is not the node's. Any request but
    "extend" and "seal" discards the open block first, as the node's side assumes."""
    silence_output()
    os.nice(niceness)  # the node's RPC and admission first (node/defaults.py EXECUTION_NICENESS)
    child = _Child(chain_id, block_gas_limit)
    freeze_startup_heap()
    handlers: dict[str, Callable[..., object]] = {
        "load": child.load_begin, "storage": child.load_storage, "run": child.run, "apply": child.apply,
        "open": child.open, "extend": child.extend, "seal": child.seal, "ping": lambda: None}
    failure: tuple[str, str] | None = None
    for request in requests(conn):
        kind, args = request  # type: ignore[misc]
        if kind not in _KEEP_OPEN:
            child.executor.discard_open()
        if kind == "load":
            failure = None  # a fresh state
        answered = kind not in _UNANSWERED
        if failure is not None:
            if answered:
                conn.send((False, failure))
            continue
        try:
            result = handlers[kind](*args)
        except Exception as exc:
            failure = (type(exc).__name__, str(exc))
            if answered:
                conn.send((False, failure))
                failure = None if kind == "run" else failure  # a failed run leaves the state as it was
            continue
        if answered:
            conn.send((True, result))


_KEEP_OPEN = frozenset({"extend", "seal"})  # the requests that leave the child's open block open
_UNANSWERED = frozenset({"load", "storage", "apply", "open", "extend"})


# -- the node's side -----------------------------------------------------------------------------------


class ExecutionProcess:
    """The executor's interface (node/execution/abc.py Executor) with the EVM in a child process.

    Not thread-safe: the engine's lock serialises its callers, as it does for an in-process executor."""

    def __init__(self, chain_id: int, block_gas_limit: int, consortium: bytes | None,
                 niceness: int = EXECUTION_NICENESS) -> None:
        self.chain_id = chain_id
        self.niceness = niceness
        self.block_gas_limit = block_gas_limit
        self.consortium = consortium
        self._context = multiprocessing.get_context("spawn")
        self._conn: Connection | None = None
        self._process: BaseProcess | None = None
        self._open: tuple[BlockTicket, list[Transaction]] | None = None  # the open block's ticket and its txs sent

    # -- lifecycle

    def _start(self) -> Connection:
        self.close()
        conn, child = self._context.Pipe(duplex=True)
        self._process = self._context.Process(target=_serve, args=(child, self.chain_id, self.block_gas_limit, self.niceness),
                                              daemon=True, name="colend-execution")
        self._process.start()
        child.close()
        self._conn = conn
        log.info("event=execution_process_started pid=%s", self._process.pid)
        return conn

    def close(self) -> None:
        self._open = None
        conn, process, self._conn, self._process = self._conn, self._process, None, None
        if conn is not None:
            with suppress(OSError):
                conn.send(None)
            conn.close()
        if process is not None:
            process.join(STOP_TIMEOUT_S)
            if process.is_alive():
                process.kill()
                process.join(STOP_TIMEOUT_S)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    # -- the pipe

    def _send(self, kind: str, *args: object) -> None:
        if kind not in _KEEP_OPEN:
            self._open = None  # the child discards its open block before anything else
        if self._conn is None:
            raise ExecutionProcessFailed("the execution process is not running (its state was never loaded)")
        try:
            self._conn.send((kind, args))
        except (OSError, ValueError) as exc:
            raise self._failed(f"could not reach the execution process: {exc}") from exc

    def _call(self, kind: str, *args: object) -> object:
        """Send a request and wait (in recv, without the GIL) for its answer."""
        self._send(kind, *args)
        return self._answer(kind)

    def _answer(self, kind: str) -> object:
        assert self._conn is not None
        try:
            ok, result = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise self._failed(f"the execution process died (exit code {self._exit_code()})") from exc
        if not ok:
            name, message = result
            if kind == "run" and name in _RAISED:
                raise _RAISED[name](message)
            raise self._failed(f"{name}: {message}")
        return result

    def _exit_code(self) -> int | None:
        if self._process is None:
            return None
        self._process.join(STOP_TIMEOUT_S)
        return self._process.exitcode

    def _failed(self, why: str) -> ExecutionProcessFailed:
        log.error("event=execution_process_failed pid=%s reason=%s", self.pid, why)
        self.close()
        return ExecutionProcessFailed(why)

    # -- the executor's interface

    def loading(self, accounts: Iterable[tuple[bytes, AccountRecord]], code_of: Callable[[bytes], bytes],
                storage: Iterable[tuple[bytes, int, int]]) -> Iterator[tuple[bytes, int, int]]:
        """Start a new child and load this state into it, yielding `storage` on the way: a caller that also
        loads the state (the read view) reads the store once for both, while the child inserts alongside. A
        thread of its own feeds the pipe, so the caller never waits for the child to take a chunk (with the
        pipe's small buffer, the two would otherwise take turns instead of inserting at the same time)."""
        self._start()
        accounts = list(accounts)
        codes = {r.code_hash: code_of(r.code_hash) for _, r in accounts if r.code_hash != EMPTY_CODE_HASH}
        self._send("load", self.consortium, accounts, codes)
        chunks: queue.Queue[list[tuple[bytes, int, int]] | None] = queue.Queue(maxsize=LOAD_QUEUE_CHUNKS)
        failures: list[BaseException] = []

        def feed() -> None:
            while (chunk := chunks.get()) is not None:
                if not failures:
                    try:
                        self._send("storage", chunk)
                    except BaseException as exc:  # reported once the caller has read the store
                        failures.append(exc)

        feeder = threading.Thread(target=feed, name="colend-execution-load", daemon=True)
        feeder.start()
        chunk: list[tuple[bytes, int, int]] = []
        try:
            for item in storage:
                chunk.append(item)
                if len(chunk) >= STORAGE_CHUNK:
                    chunks.put(chunk)
                    chunk = []
                yield item
            chunks.put(chunk)
        finally:
            chunks.put(None)
            feeder.join()
        if failures:
            raise failures[0]
        self._call("ping")

    def run_block(self, ctx: BlockContext, txs: Sequence[Transaction], strict: bool,
                  gas_budget: int | None = None) -> ExecutedBlock:
        return self._executed(txs, self._call("run", ctx, [tx.field_values() for tx in txs], strict, gas_budget))

    def open_block(self, ctx: BlockContext, gas_budget: int | None = None) -> BlockTicket:
        """A proposer's block executed as its txs come (EvmExecutor.open_block), in the child while the node goes
        on: extend_block sends txs, seal_block waits for the block. Returns the ticket both take; any other
        request in between discards the block."""
        self._send("open", ctx, gas_budget)
        ticket = BlockTicket(ctx.number)
        self._open = (ticket, [])
        return ticket

    def is_open(self, ticket: BlockTicket) -> bool:
        """Whether the block opened under `ticket` is still open: any other request since discarded it."""
        return self._open is not None and self._open[0] is ticket

    def extend_block(self, ticket: BlockTicket, txs: Sequence[Transaction]) -> None:
        """Sent, not awaited; ignored if the block was discarded."""
        if self.is_open(ticket):
            assert self._open is not None
            self._open[1].extend(txs)
            self._send("extend", [tx.field_values() for tx in txs])

    def seal_block(self, ticket: BlockTicket) -> ExecutedBlock | None:
        """The open block, executed; None if it was discarded meanwhile."""
        if not self.is_open(ticket):
            return None
        assert self._open is not None
        txs = self._open[1]
        self._open = None
        return self._executed(txs, self._call("seal"))

    @staticmethod
    def _executed(txs: Sequence[Transaction], answer: object) -> ExecutedBlock:
        (included, skipped, receipts, accounts, slot_changes, codes, gas_used, encoded, roots) = answer  # type: ignore[misc]
        out = BlockExecution(
            included=[txs[i] for i in included],
            receipts=[Receipt(status, used, cumulative, tuple(Log(a, t, d) for a, t, d in logs), contract, revert)
                      for status, used, cumulative, logs, contract, revert in receipts],
            skipped=[(txs[i], why) for i, why in skipped],
            accounts={a: TouchedAccount(*t) for a, t in accounts.items()},
            slot_changes=slot_changes, codes=codes, gas_used=gas_used)
        return ExecutedBlock(out, tuple(encoded), BlockRoots(*roots))

    def block_committed(self, diff: StateDiff, code_of: Callable[[bytes], bytes]) -> None:
        """Sent, not awaited: the child applies it while the node goes on; a failure answers the next call."""
        self._send("apply", diff)
