"""Each bank's books: written in its own format and read back through its mapping without loss; each planted
mistake comes back from reconciliation as exactly the break it was planted for."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from clearing.books import load_mapping, open_books
from clearing.recon.breaks import BreakType
from clearing.recon.engine import classify
from clearing.recon.rules import MatchRules
from clearing.records import RecordKind, records_to_frame
from colend.demo.books import FORMATS, plant_mistakes, write_books
from colend.demo.day import BANKS
from tests.clearing.factories import rec

DAY = dt.date(2026, 11, 24)


def chain_view(bank: str) -> pl.DataFrame:
    """A bank's chain records of every kind, as the index holds them (signed entries, statuses, references)."""
    other = next(b for b in BANKS if b != bank)
    rows = []
    for n in range(1, 7):
        loan = f"LN-WEBANK-{n:06d}"
        rows += [
            rec(f"{loan}/{bank}", 100_000 * n, kind=RecordKind.LOAN_TRANCHE, bank=bank, loan_id=loan, counterparty=other,
                status="PAID_OFF" if n == 2 else "WRITTEN_OFF" if n == 5 else "ACTIVE", day=DAY - dt.timedelta(days=n)),
            rec(f"DD-WEBANK-{n:06d}/{bank}", 150_000 * n, kind=RecordKind.DRAWDOWN_ALLOCATION, bank=bank, loan_id=loan,
                counterparty=other, status=None, reference=f"DD-WEBANK-{n:06d}", day=DAY - dt.timedelta(days=30 * n)),
            rec(f"RP-WEBANK-{n:06d}-01/{bank}/INTEREST", 1_234 * n, kind=RecordKind.REPAYMENT_ALLOCATION, bank=bank,
                loan_id=loan, counterparty=other, status=None, reference=f"RP-WEBANK-{n:06d}-01"),
            rec(f"RP-WEBANK-{n:06d}-01/{bank}/PRINCIPAL", 12_500 * n, kind=RecordKind.REPAYMENT_ALLOCATION, bank=bank,
                loan_id=loan, counterparty=other, status=None, reference=f"RP-WEBANK-{n:06d}-01"),
            rec("0x" + f"{n:02x}{bank.encode().hex()}".ljust(64, "0"), (-1) ** n * 7_777 * n, bank=bank, loan_id=loan,
                counterparty=other, status="POSTED", cycle_id="1", reference=f"RP-WEBANK-{n:06d}-01"),
        ]  # fmt: skip
    rows += [
        rec(f"FEE-202611-{bank}-{other}", -12_345, bank=bank, counterparty=other, status="POSTED", cycle_id="1",
            reference="SVC-FEE-202611"),
        rec(f"1/{bank}", 98_765, kind=RecordKind.CYCLE_POSITION, bank=bank, counterparty=None, status="SETTLED", cycle_id="1"),
    ]  # fmt: skip
    return records_to_frame(rows)


def read_back(books: pl.DataFrame, bank: str, folder: Path) -> pl.DataFrame:
    path, mapping = write_books(books, bank, folder)
    loaded = open_books(path, load_mapping(mapping)).load(bank)
    assert not loaded.unreadable, loaded.rejects
    return loaded.frame


@pytest.mark.parametrize("bank", BANKS)
def test_books_in_each_banks_own_format_read_back_exactly(bank: str, tmp_path: Path) -> None:
    chain = chain_view(bank)
    frame = read_back(chain, bank, tmp_path)
    assert classify(chain, frame, MatchRules()).breaks.is_empty()


def test_the_formats_differ_as_real_exports_do(tmp_path: Path) -> None:
    units = {f.amount_unit for f in FORMATS.values()}
    assert units == {"yuan", "fen"}
    assert len({f.date_format for f in FORMATS.values()}) == len(FORMATS)
    path, _ = write_books(chain_view("HRBANK"), "HRBANK", tmp_path)
    assert "还款分摊".encode("gb18030") in path.read_bytes()


@pytest.mark.parametrize("bank", BANKS)
def test_each_planted_mistake_is_found_as_exactly_its_break(bank: str, tmp_path: Path) -> None:
    chain = chain_view(bank)
    books, planted = plant_mistakes(chain, bank, seed=7, as_of=DAY)
    assert len(planted) == 3 and len({p.key for p in planted}) == 3
    breaks = classify(chain, read_back(books, bank, tmp_path), MatchRules()).breaks
    assert sorted(breaks["break_id"].to_list()) == sorted(p.break_id for p in planted)


def test_banks_make_different_mistakes() -> None:
    kinds = {bank: {p.break_type for p in plant_mistakes(chain_view(bank), bank, 7, DAY)[1]} for bank in BANKS}
    assert len({frozenset(k) for k in kinds.values()}) == len(BANKS)
    assert set().union(*kinds.values()) == set(BreakType)


def test_planting_is_deterministic_per_seed() -> None:
    chain = chain_view("WEBANK")
    first, second = plant_mistakes(chain, "WEBANK", 7, DAY), plant_mistakes(chain, "WEBANK", 7, DAY)
    assert first[1] == second[1] and first[0].equals(second[0])


def test_a_bank_without_a_closed_loan_still_gets_its_status_mistake(tmp_path: Path) -> None:
    chain = chain_view("MYBANK").with_columns(
        pl.when(pl.col("kind") == "LOAN_TRANCHE").then(pl.lit("ACTIVE")).otherwise(pl.col("status")).alias("status")
    )
    books, planted = plant_mistakes(chain, "MYBANK", seed=7, as_of=DAY)
    assert BreakType.STATUS_MISMATCH in {p.break_type for p in planted}
    breaks = classify(chain, read_back(books, "MYBANK", tmp_path), MatchRules()).breaks
    assert sorted(breaks["break_id"].to_list()) == sorted(p.break_id for p in planted)


def test_declared_figures_stay_out_of_the_books() -> None:
    chain = pl.concat([chain_view("WEBANK"), records_to_frame([
        rec("TIER1_NET_CAPITAL", 50_000_000, kind=RecordKind.DECLARED_FIGURE, bank="WEBANK", status=None, counterparty=None),
    ])])  # fmt: skip
    books, _ = plant_mistakes(chain, "WEBANK", seed=7, as_of=DAY)
    assert "DECLARED_FIGURE" not in books["kind"].to_list()
