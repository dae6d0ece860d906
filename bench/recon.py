"""Reconciliation benchmark: prints {"runs": [...]} with one run per size (rows of chain records per side).

Per run: end_to_end_s (LevelDB index + books CSV -> statement, via run_reconciliation), match_s (matching,
classification and statement figures on frames already in memory) and datacompy_s (datacompy's plain
pandas diff of the same in-memory frames, joined on kind+key over all record columns; the polars variant is
reported as datacompy_polars_s). Data is seeded and carries every break type.
Run: python -m bench.recon [--rows 100000 1000000] [--tiny]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import datacompy
import polars as pl
import tomli_w

from bench.support.recon_scenario import generate, write_books_csv
from clearing.books import load_mapping, open_books
from clearing.indexer.store import IndexStore
from clearing.recon.engine import classify
from clearing.recon.run import RunResult, run_reconciliation
from clearing.recon.statement import sections
from clearing.records import frame_to_records

BANK = "WEBANK"
RECORDS_PER_BLOCK = 1_000
AS_OF = dt.date(2026, 11, 30)
DEFAULT_SIZES = (100_000, 1_000_000)
T = TypeVar("T")


def fill_index(path: Path, chain: pl.DataFrame) -> None:
    """Write the chain side the way the indexer will: one block at a time, records in block order."""
    with IndexStore(path) as store:
        for number, start in enumerate(range(0, chain.height, RECORDS_PER_BLOCK)):
            store.apply_block(number, frame_to_records(chain.slice(start, RECORDS_PER_BLOCK)))
        store.settle()  # a live index is written block by block; do not time LevelDB's catch-up compaction


def timed(fn: Callable[[], T], repeat: int = 1) -> tuple[float, T]:
    """Best of `repeat` wall-clock timings of fn(), with the result of that best run."""
    best, best_result = float("inf"), None
    assert repeat >= 1
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        if elapsed < best:
            best, best_result = elapsed, result
    return best, best_result  # type: ignore[return-value]


def bench(rows: int, workdir: Path, repeat: int) -> dict[str, object]:
    scenario = generate(rows, bank=BANK, seed=rows)
    index_path = workdir / f"index-{rows}"
    books_path = workdir / f"books-{rows}.csv"
    mapping_path = workdir / f"mapping-{rows}.toml"
    mapping_doc = write_books_csv(scenario.books, books_path)
    mapping_path.write_text(tomli_w.dumps(mapping_doc))
    fill_start = time.perf_counter()
    fill_index(index_path, scenario.chain)
    fill_s = time.perf_counter() - fill_start
    mapping = load_mapping(mapping_path)

    def end_to_end() -> RunResult:
        return run_reconciliation(
            index_path,
            BANK,
            books_path,
            mapping,
            as_of=AS_OF,
            rules=scenario.rules,
            break_store=workdir / f"breaks-{rows}-{time.perf_counter_ns()}.sqlite",
        )

    end_to_end_s, result = timed(end_to_end, repeat)
    counts = {t: v.count for t, v in result.statement.overall.breaks.items()}
    assert counts == scenario.expected_breaks, (counts, scenario.expected_breaks)
    assert result.statement.overall.residual == 0

    with IndexStore(index_path, create=False) as store:
        chain = store.bank_frame(BANK)
    books = open_books(books_path, mapping).load(BANK).frame
    match_s, _ = timed(lambda: sections(classify(chain, books, scenario.rules)), repeat)
    chain_pd, books_pd = chain.to_pandas(), books.drop("line").to_pandas()
    datacompy_s, _ = timed(lambda: datacompy.PandasCompare(chain_pd, books_pd, join_columns=["kind", "key"]))
    datacompy_polars_s, _ = timed(lambda: datacompy.PolarsCompare(chain, books.drop("line"), join_columns=["kind", "key"]))
    return {
        "rows": rows,
        "books_rows": books.height,
        "end_to_end_s": round(end_to_end_s, 3),
        "match_s": round(match_s, 3),
        "datacompy_s": round(datacompy_s, 3),
        "datacompy_polars_s": round(datacompy_polars_s, 3),
        "stages_s": {k: round(v, 3) for k, v in result.timings.items()},
        "breaks": counts,
        "verdict": result.statement.verdict.value,
        "index_fill_s": round(fill_s, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recon", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=list(DEFAULT_SIZES))
    parser.add_argument("--repeat", type=int, default=3, help="best of N for end_to_end_s and match_s")
    parser.add_argument("--tiny", action="store_true", help="a seconds-long smoke run (2,000 rows, once)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.rows, args.repeat = [2_000], 1
    with tempfile.TemporaryDirectory(prefix="colend-bench-") as tmp:
        runs = [bench(rows, Path(tmp), args.repeat) for rows in args.rows]
    json.dump({"runs": runs}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
