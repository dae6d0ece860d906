"""One reconciliation run for one bank, from the index and the books to a statement: what the CLI calls."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import polars as pl

from clearing.books import BooksMapping, BooksSource, Reject, load_mapping, open_books
from clearing.errors import MappingError
from clearing.indexer.store import IndexStore
from clearing.recon.break_store import BreakStore
from clearing.recon.breaks import BreakState
from clearing.recon.engine import Classification, classify
from clearing.recon.rules import MatchRules
from clearing.recon.statement import Statement, Verdict, age_table, decide_verdict, sections, state_counts
from clearing.records import LEDGER_KINDS

STAGES = ("sync", "load", "match", "breaks", "statement")
ProgressCallback = Callable[[str, int, int], None]  # (stage, index of stage from 1, number of stages)
IndexSync = Callable[[IndexStore], int | None]  # brings the index up to date; returns the chain head
T = TypeVar("T")
EXIT_CODES = {
    Verdict.RECONCILED: 0,
    Verdict.BREAKS: 1,
    Verdict.RECONCILED_WITH_PENDING: 3,
    Verdict.INCOMPLETE: 4,
}


@dataclass(frozen=True)
class RunResult:
    """What one run produced; `matched` has one row per key pair or reference group (engine MATCH_SCHEMA)."""

    statement: Statement
    breaks: pl.DataFrame  # BREAK_SCHEMA + state, assignee, first_seen, age_days, age_bucket
    rejects: list[Reject]
    matched: pl.DataFrame
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 only when RECONCILED; BREAKS 1, RECONCILED_WITH_PENDING 3, INCOMPLETE 4 (2: usage error)."""
        return EXIT_CODES[self.statement.verdict]


class _Stages:
    def __init__(self, progress: ProgressCallback | None) -> None:
        self.progress = progress
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.progress is not None:
            self.progress(name, STAGES.index(name) + 1, len(STAGES))
        start = time.perf_counter()
        yield
        self.timings[name] = time.perf_counter() - start


def _timed(timings: dict[str, float], name: str, fn: Callable[[str], T], bank: str) -> T:
    start = time.perf_counter()
    result = fn(bank)
    timings[name] = time.perf_counter() - start
    return result


def _books_source(books: BooksSource | str | Path, mapping: BooksMapping | str | Path | None) -> BooksSource:
    if not isinstance(books, str | Path):
        return books
    if mapping is None:
        raise MappingError("a books file or URL needs a column mapping")
    return open_books(books, mapping if isinstance(mapping, BooksMapping) else load_mapping(mapping))


class ChainView(Protocol):
    """What a run reads from the chain side: an IndexStore, or a bank's frame already loaded elsewhere
    (the clearing service loads it beside its live index and hands it to a worker process)."""

    def last_block(self) -> int | None: ...

    def bank_frame(self, bank: str) -> pl.DataFrame: ...


def run_reconciliation(
    index: IndexStore | ChainView | str | Path,
    bank: str,
    books: BooksSource | str | Path,
    mapping: BooksMapping | str | Path | None,
    *,
    as_of: dt.date,
    rules: MatchRules | None = None,
    break_store: BreakStore | str | Path = ":memory:",
    recorded_at: dt.datetime | None = None,
    run_id: str | None = None,
    sync: IndexSync | None = None,
    chain_head: int | None = None,
    progress: ProgressCallback | None = None,
) -> RunResult:
    """Reconcile `bank`'s books with the index as of `as_of` and carry its breaks over in `break_store`.

    `sync` is the seam for following a node first (`--node URL`): it receives the open index, brings it up
    to date and returns the chain head, which (like an explicit `chain_head`) lets the verdict see a lagging
    index. `recorded_at` stamps audit events; it defaults to midnight UTC of `as_of` so that the engine
    never reads the wall clock.
    """
    rules = rules or MatchRules()
    recorded_at = recorded_at or dt.datetime.combine(as_of, dt.time(), dt.UTC)
    run_id = run_id or f"{bank}-{as_of:%Y%m%d}-{recorded_at:%H%M%S%f}"
    stages = _Stages(progress)
    own_index = isinstance(index, str | Path)
    store = IndexStore(index, create=False) if own_index else index
    own_breaks = not isinstance(break_store, BreakStore)
    breaks_db = BreakStore(break_store) if own_breaks else break_store
    try:
        with stages.stage("sync"):
            if sync is not None:
                synced_head = sync(store)
                chain_head = synced_head if synced_head is not None else chain_head
            index_block = store.last_block()
        with stages.stage("load"):
            source = _books_source(books, mapping)
            # both loads spend most of their time in polars, which releases the GIL: overlap them
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="recon-load") as pool:
                chain_job = pool.submit(_timed, stages.timings, "load_chain", store.bank_frame, bank)
                books_job = pool.submit(_timed, stages.timings, "load_books", source.load, bank)
                chain, loaded = chain_job.result(), books_job.result()
            chain = ledger_only(chain)
        with stages.stage("match"):
            classification = classify(chain, loaded.frame, rules)
        lag = None if chain_head is None else max(chain_head - (-1 if index_block is None else index_block), 0)
        complete = not loaded.unreadable and not lag
        with stages.stage("breaks"):
            present = breaks_db.sync_run(
                bank, classification.breaks, as_of=as_of, run_id=run_id, at=recorded_at, auto_resolve=complete
            )
            breaks = classification.breaks.join(present, on="break_id", how="left")
        with stages.stage("statement"):
            statement = build_statement(
                classification,
                breaks,
                loaded.rejects,
                bank=bank,
                as_of=as_of,
                run_id=run_id,
                books_source=loaded.source,
                index_block=index_block,
                chain_head=chain_head,
                index_lag=lag,
            )
    finally:
        if own_index:
            store.close()
        if own_breaks:
            breaks_db.close()
    return RunResult(
        statement=statement,
        breaks=breaks,
        rejects=loaded.rejects,
        matched=classification.matched,
        timings=stages.timings,
    )


def build_statement(
    classification: Classification,
    breaks: pl.DataFrame,
    rejects: list[Reject],
    *,
    bank: str,
    as_of: dt.date,
    run_id: str,
    books_source: str,
    index_block: int | None,
    chain_head: int | None,
    index_lag: int | None,
) -> Statement:
    """Figures, residual check and verdict for one run; `breaks` carries each break's workflow state."""
    overall, per_kind = sections(classification)
    by_state = state_counts(breaks)
    by_code: dict[str, int] = {}
    for reject in rejects:
        by_code[reject.code.value] = by_code.get(reject.code.value, 0) + 1
    unreadable = sum(1 for r in rejects if not r.carried)
    verdict, reasons = decide_verdict(
        unreadable_rejects=unreadable,
        index_lag=index_lag,
        open_breaks=by_state[BreakState.OPEN],
        pending_breaks=by_state[BreakState.ASSIGNED],
        tolerated=overall.tolerated_count,
        date_window=overall.date_window_count,
    )
    return Statement(
        bank=bank,
        as_of=as_of,
        run_id=run_id,
        books_source=books_source,
        index_block=index_block,
        chain_head=chain_head,
        overall=overall,
        kinds=per_kind,
        rejects_total=len(rejects),
        rejects_unreadable=unreadable,
        rejects_by_code=by_code,
        breaks_by_state=by_state,
        breaks_by_age=age_table(breaks),
        verdict=verdict,
        verdict_reasons=reasons,
    )


def ledger_only(chain: pl.DataFrame) -> pl.DataFrame:
    """The chain records a bank's books also carry: declared regulatory figures are not ledger rows."""
    return chain.filter(pl.col("kind").is_in(sorted(LEDGER_KINDS)))
