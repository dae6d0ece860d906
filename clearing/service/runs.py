"""Reconciliation runs inside the service: one at a time, off the event loop, with live progress, and a
history (statement per run) in sqlite.

Triggers: a request (POST /v1/runs), the schedule from the config, and a change of the books source
(see books_watch). A worker thread reads the bank's chain frame from the live index (LevelDB admits one
process), then a worker process (`recon_worker`) does the rest: books, matching, breaks, statement. A
thread alone was not enough: the Python parts of a 1M-row run held the GIL long enough to stall requests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clearing.errors import ClearingError, Conflict, NotFound, RunFailed, ServiceError
from clearing.indexer.store import IndexStore
from clearing.recon.run import STAGES
from clearing.recon.statement import Statement
from clearing.service.books_watch import books_fingerprint
from clearing.service.config import BooksConfig
from clearing.sqlite_db import newest_first, open_db

log = logging.getLogger("clearing.service.runs")
WORKER_THREADS = 1
INDEX_CATCH_UP_S = 10.0  # how long a run waits for the index to reach the head it started at
INDEX_POLL_S = 0.05


SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, bank TEXT NOT NULL, trigger TEXT NOT NULL,
    started_at TEXT NOT NULL, finished_at TEXT, verdict TEXT, error_code TEXT, error_message TEXT,
    statement TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS runs_by_seq ON runs (seq);
"""

RUN_COLUMNS = "run_id, seq, bank, trigger, started_at, finished_at, verdict, error_code, error_message, statement"


@dataclass
class Progress:
    """What a running run reports: its stage (of STAGES) and how far along it is."""

    run_id: str
    trigger: str
    started_at: str
    stage: str = "queued"
    stage_number: int = 0
    stages: int = len(STAGES)


@dataclass(frozen=True)
class RunRow:
    run_id: str
    seq: int
    bank: str
    trigger: str
    started_at: str
    finished_at: str | None
    verdict: str | None
    error_code: str | None
    error_message: str | None
    statement: Statement | None


class RunHistory:
    """The runs table; touched from the event loop only (the worker thread reports back through the loop)."""

    def __init__(self, path: Path) -> None:
        self._db = open_db(path, SCHEMA, what="run history", error=ServiceError)

    def close(self) -> None:
        self._db.close()

    def begin(self, run_id: str, bank: str, trigger: str, started_at: str) -> None:
        seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM runs").fetchone()[0]
        self._db.execute(
            "INSERT INTO runs (run_id, seq, bank, trigger, started_at) VALUES (?,?,?,?,?)",
            (run_id, seq, bank, trigger, started_at),
        )

    def finish(
        self, run_id: str, *, finished_at: str, statement: Statement | None, error: ClearingError | None
    ) -> None:
        self._db.execute(
            "UPDATE runs SET finished_at = ?, verdict = ?, statement = ?, error_code = ?, error_message = ? WHERE run_id = ?",
            (
                finished_at,
                None if statement is None else statement.verdict.value,
                None if statement is None else json.dumps(statement.to_dict()),
                None if error is None else error.code,
                None if error is None else error.message,
                run_id,
            ),
        )

    def abandon_unfinished(self, at: str) -> None:
        """Runs that were going when the process died: recorded as interrupted, never left 'running'."""
        self._db.execute(
            "UPDATE runs SET finished_at = ?, error_code = 'clearing.run_interrupted',"
            " error_message = 'the service stopped during the run' WHERE finished_at IS NULL",
            (at,),
        )

    def page(self, *, bank: str | None, after: int | None, limit: int) -> list[RunRow]:
        rows = newest_first(self._db, f"SELECT {RUN_COLUMNS} FROM runs", "seq", [("bank = ?", bank)],
                            after=after, limit=limit)
        return [_row(r) for r in rows]

    def get(self, run_id: str, *, bank: str | None) -> RunRow:
        row = self._db.execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?",
            (run_id,),
        ).fetchone()
        if row is None or (bank is not None and row[2] != bank):
            raise NotFound(f"no run {run_id!r}")
        return _row(row)


def _row(row: tuple[Any, ...]) -> RunRow:
    values = list(row)
    values[9] = None if values[9] is None else Statement.from_dict(json.loads(values[9]))
    return RunRow(*values)


class RunManager:
    """Starts runs (one at a time) and remembers the books fingerprint each run saw."""

    def __init__(
        self,
        *,
        bank: str,
        books: BooksConfig,
        index: IndexStore,
        breaks_db: Path,
        history: RunHistory,
        timezone: dt.tzinfo,
        chain_head: Callable[[], int | None],
        on_finish: Callable[[RunRow], None] | None = None,
    ) -> None:
        self.bank = bank
        self.books = books
        self.index = index
        self.breaks_db = breaks_db
        self.history = history
        self.timezone = timezone
        self.chain_head = chain_head
        self.on_finish = on_finish
        self.current: Progress | None = None
        self.last_fingerprint: str | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recon-run")
        self._task: asyncio.Task[None] | None = None
        self._counter = 0

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    async def wait(self) -> None:
        """Until the current run (if any) has finished."""
        if self._task is not None:
            await asyncio.shield(self._task)

    def start(self, trigger: str) -> Progress:
        """Starts a run now; Conflict if one is already going."""
        if self.current is not None:
            raise Conflict(f"run {self.current.run_id} is still going", data={"run_id": self.current.run_id})
        now = dt.datetime.now(dt.UTC)
        self._counter += 1
        run_id = f"{self.bank}-{now:%Y%m%dT%H%M%S%f}-{self._counter}"
        progress = Progress(run_id=run_id, trigger=trigger, started_at=now.isoformat())
        self.current = progress
        self.history.begin(run_id, self.bank, trigger, progress.started_at)
        self._task = asyncio.get_running_loop().create_task(self._run(progress, now))
        log.info("event=run_started run=%s trigger=%s", run_id, trigger)
        return progress

    async def _run(self, progress: Progress, now: dt.datetime) -> None:
        loop = asyncio.get_running_loop()
        lock = threading.Lock()

        def on_stage(stage: str, number: int, total: int) -> None:
            with lock:
                progress.stage, progress.stage_number, progress.stages = stage, number, total

        def work() -> Statement:
            # remembered before the run, so books that fail to reconcile are not retried until they change
            self.last_fingerprint = books_fingerprint(self.books.source, self.books.mapping)
            on_stage("load", 2, len(STAGES))
            return self._in_worker_process(progress, now, on_stage)

        statement: Statement | None = None
        error: ClearingError | None = None
        try:
            statement = await loop.run_in_executor(self._pool, work)
        except ClearingError as exc:
            error = exc
        except Exception as exc:  # a bug in a run must not take the service down; it is recorded and logged
            log.exception("event=run_crashed run=%s", progress.run_id)
            error = ServiceError(f"run failed: {type(exc).__name__}: {exc}")
        finished = dt.datetime.now(dt.UTC).isoformat()
        self.history.finish(progress.run_id, finished_at=finished, statement=statement, error=error)
        self.current = None
        verdict = None if statement is None else statement.verdict.value
        log.info("event=run_finished run=%s verdict=%s error=%s", progress.run_id, verdict, error.code if error else None)
        if self.on_finish is not None:
            self.on_finish(self.history.get(progress.run_id, bank=None))

    def _in_worker_process(
        self, progress: Progress, now: dt.datetime, on_stage: Callable[[str, int, int], None]
    ) -> Statement:
        """The chain frame from the live index, the rest in `recon_worker` (one process per run).

        The run reconciles against the node's head as seen when it starts, once the index has reached it: read
        after the frame, a block landing meanwhile made a sound run INCOMPLETE. A follower that cannot catch up
        within INDEX_CATCH_UP_S still makes it INCOMPLETE, as it should."""
        head = self.chain_head()
        deadline = time.monotonic() + INDEX_CATCH_UP_S
        while head is not None and _reached(self.index.last_block()) < head and time.monotonic() < deadline:
            time.sleep(INDEX_POLL_S)
        block = self.index.last_block()
        frame = self.index.bank_frame(self.bank)
        with tempfile.TemporaryDirectory(prefix="colend-run-") as tmp:
            chain_ipc = Path(tmp) / "chain.arrow"
            frame.write_ipc(chain_ipc)
            del frame
            job = {
                "chain_ipc": str(chain_ipc), "index_block": block, "bank": self.bank, "books": self.books.source,
                "mapping": str(self.books.mapping), "as_of": now.astimezone(self.timezone).date().isoformat(),
                "rules": dataclasses.asdict(self.books.rules), "breaks_db": str(self.breaks_db),
                "recorded_at": now.isoformat(), "run_id": progress.run_id, "chain_head": head,
            }  # fmt: skip
            job_file = Path(tmp) / "job.json"
            job_file.write_text(json.dumps(job))
            # one polars thread: the run may take its time, the API keeps the other core
            env = {**os.environ, "POLARS_MAX_THREADS": str(WORKER_THREADS)}
            proc = subprocess.Popen(
                [sys.executable, "-m", "clearing.service.recon_worker", str(job_file)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            )  # fmt: skip
            last: dict[str, Any] = {}
            assert proc.stdout is not None
            for line in proc.stdout:
                message = json.loads(line)
                if "stage" in message:
                    on_stage(message["stage"], message["number"], message["total"])
                last = message
            stderr = proc.stderr.read() if proc.stderr is not None else ""
            proc.wait()
        if "done" in last:
            return Statement.from_dict(last["done"]["statement"])
        if "error" in last:
            raise RunFailed(last["error"]["message"], code=last["error"]["code"])
        raise ServiceError(f"the run's worker exited {proc.returncode}: {stderr.strip()[-500:]}")

    def books_changed(self) -> bool:
        """True when the books fingerprint differs from the one the last run saw (or no run saw one)."""
        current = books_fingerprint(self.books.source, self.books.mapping)
        return current is not None and current != self.last_fingerprint


def _reached(block: int | None) -> int:
    return -1 if block is None else block
