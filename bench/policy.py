"""Policy-limit report benchmark: prints {"runs": [...]}, one run per number of joint loans.

Per run: report_s (clearing.policy.report on a LevelDB index: read every bank's records, aggregate, check,
list the loans of each breach), compute_s (the same checks on tranches already in memory) and the counts
behind them. Seeded loans of 2-3 banks of five; tier-1 capital declared so that about half the pairs breach.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import polars as pl

from clearing.indexer.store import IndexStore
from clearing.policy import compute_exposures, report
from clearing.policy.exposure import TRANCHE_SCHEMA
from clearing.records import TIER1_NET_CAPITAL, TOTAL_LOANS, Record, RecordKind

BANKS = ("WEBANK", "MYBANK", "XWBANK", "HRBANK", "ZJBANK")
AS_OF = dt.date(2026, 9, 30)
LOANS_PER_BLOCK = 1_000
DEFAULT_SIZES = (10_000, 100_000)
T = TypeVar("T")


def timed(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result  # type: ignore[return-value]


def loan_records(n: int, rng: random.Random) -> list[Record]:
    servicer, *partners = rng.sample(BANKS, rng.choice((2, 3)))
    principal = rng.randrange(300_000, 5_000_000)
    own = principal * 3 // 10
    parts = [own, *([(principal - own) // len(partners)] * len(partners))]
    loan = f"LN-{n:08d}"
    out = []
    for bank, amount in zip((servicer, *partners), parts, strict=True):
        counterparty = None if bank == servicer else servicer
        out.append(Record(kind=RecordKind.LOAN_TRANCHE, key=f"{loan}/{bank}", bank=bank, amount=amount, currency="CNY",
                          value_date=AS_OF, status="ACTIVE", loan_id=loan, counterparty=counterparty))  # fmt: skip
    return out


def figures(tier1: int) -> list[Record]:
    """The same figures for all banks but the last, which stays undeclared."""
    out = []
    for bank in BANKS[:-1]:
        for key, amount in ((TIER1_NET_CAPITAL, tier1), (TOTAL_LOANS, tier1 * 8)):
            out.append(Record(kind=RecordKind.DECLARED_FIGURE, key=key, bank=bank, amount=amount, currency="CNY",
                              value_date=AS_OF, status="DECLARED"))  # fmt: skip
    return out


def tier1_at_the_line(frame: pl.DataFrame) -> int:
    """Tier-1 capital that puts the median pair exposure exactly at 25%, so about half the pairs breach."""
    pairs = sorted(c.exposure for c in compute_exposures(frame, {}).checks if c.partner is not None)
    return pairs[len(pairs) // 2] * 4


def bench(loans: int, tmp: Path, repeat: int) -> dict[str, object]:
    rng = random.Random(loans)
    rows: list[tuple[str, str, str, int]] = []
    with IndexStore(tmp / f"index-{loans}") as store:
        fill_start = time.perf_counter()
        block = 0
        for block, start in enumerate(range(0, loans, LOANS_PER_BLOCK), start=1):
            records = [r for n in range(start, min(start + LOANS_PER_BLOCK, loans)) for r in loan_records(n, rng)]
            store.apply_block(block, records)
            rows += [(r.loan_id, r.bank, r.counterparty or r.bank, r.amount) for r in records]  # type: ignore[misc]
        frame = pl.DataFrame(rows, schema=list(TRANCHE_SCHEMA.items()), orient="row")
        del rows
        store.apply_block(block + 1, figures(tier1_at_the_line(frame)))
        store.settle()
        fill_s = time.perf_counter() - fill_start
        report_s, result = timed(lambda: report(store), repeat)
    bases = {b.bank: b.figures for b in result.banks if b.figures is not None}
    compute_s, computed = timed(lambda: compute_exposures(frame, bases), repeat)
    assert computed.to_dict()["banks"] == result.to_dict()["banks"], "the index and memory paths disagree"
    return {
        "loans": loans,
        "tranches": frame.height,
        "report_s": round(report_s, 3),
        "compute_s": round(compute_s, 3),
        "checks": len(result.checks),
        "breaches": len(result.breaches),
        "breach_loans": sum(len(c.contributions) for c in result.breaches),
        "undeclared": list(result.undeclared),
        "index_fill_s": round(fill_s, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, nargs="*", default=list(DEFAULT_SIZES))
    parser.add_argument("--repeat", type=int, default=3, help="best of N")
    parser.add_argument("--tiny", action="store_true", help="a seconds-long smoke run (1,000 loans, once)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.loans, args.repeat = [1_000], 1
    with tempfile.TemporaryDirectory(prefix="colend-bench-") as tmp:
        runs = [bench(n, Path(tmp), args.repeat) for n in args.loans]
    json.dump({"runs": runs}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
