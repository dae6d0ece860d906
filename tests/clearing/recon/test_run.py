import datetime as dt
from pathlib import Path

import pytest

from clearing.books import load_mapping
from clearing.indexer.store import IndexStore
from clearing.recon.break_store import BreakStore
from clearing.recon.rules import MatchRules
from clearing.recon.run import STAGES, run_reconciliation
from clearing.recon.statement import Verdict, decide_verdict
from tests.clearing.factories import CSV_HEADER, rec, write_mapping

DAY1 = dt.date(2026, 11, 2)


@pytest.fixture
def setup(tmp_path: Path):
    index = tmp_path / "index"
    with IndexStore(index) as store:
        store.apply_block(10, [rec("E1", 10_000, reference="P1"), rec("E2", -2_500), rec("E3", 700)])
    mapping = load_mapping(write_mapping(tmp_path))
    return tmp_path, index, mapping


def write_books(directory: Path, rows: list[str]) -> Path:
    path = directory / "books.csv"
    path.write_text(CSV_HEADER + "".join(r + "\n" for r in rows))
    return path


CLEAN = [
    "E1,ENTRY,100.00,2026-11-02,CONFIRMED,P1,ICBC",
    "E2,ENTRY,-25.00,2026-11-02,CONFIRMED,,ICBC",
    "E3,ENTRY,7.00,2026-11-02,CONFIRMED,,ICBC",
]


def test_clean_books_reconcile_and_progress_reports_every_stage(setup) -> None:
    tmp, index, mapping = setup
    seen = []
    result = run_reconciliation(
        index,
        "WEBANK",
        write_books(tmp, CLEAN),
        mapping,
        as_of=DAY1,
        progress=lambda stage, n, total: seen.append((stage, n, total)),
    )
    assert result.statement.verdict is Verdict.RECONCILED and result.exit_code == 0
    assert [s for s, _, _ in seen] == list(STAGES) and seen[-1][1:] == (len(STAGES), len(STAGES))
    assert result.statement.overall.matched_count == 3 and result.statement.index_block == 10


def test_breaks_carry_over_and_age_across_runs(setup) -> None:
    tmp, index, mapping = setup
    db = tmp / "breaks.sqlite"
    books = write_books(tmp, [*CLEAN[:2], "E3,ENTRY,7.50,2026-11-02,CONFIRMED,,ICBC", "E9,ENTRY,1.00,2026-11-02,CONFIRMED,,ICBC"])
    first = run_reconciliation(index, "WEBANK", books, mapping, as_of=DAY1, break_store=db)
    assert first.statement.verdict is Verdict.BREAKS and first.exit_code == 1
    assert sorted(first.breaks.get_column("break_id")) == [
        "AMOUNT_MISMATCH/CLEARING_ENTRY/E3",
        "MISSING_ON_CHAIN/CLEARING_ENTRY/E9",
    ]
    # a week later the books fixed E9 only
    books = write_books(tmp, [*CLEAN[:2], "E3,ENTRY,7.50,2026-11-02,CONFIRMED,,ICBC"])
    second = run_reconciliation(index, "WEBANK", books, mapping, as_of=DAY1 + dt.timedelta(days=7), break_store=db)
    rows = second.breaks.select("break_id", "state", "first_seen", "age_days", "age_bucket").rows()
    assert rows == [("AMOUNT_MISMATCH/CLEARING_ENTRY/E3", "OPEN", DAY1, 7, "2-7")]
    assert second.statement.breaks_by_age["2-7"]["AMOUNT_MISMATCH"] == 1
    with BreakStore(db) as store:
        gone = store.get("WEBANK", "MISSING_ON_CHAIN/CLEARING_ENTRY/E9")
        assert gone.state.value == "RESOLVED"
        assert store.history("WEBANK", gone.break_id)[-1].actor == "system"
        store.assign(
            "WEBANK",
            "AMOUNT_MISMATCH/CLEARING_ENTRY/E3",
            assignee="wang",
            actor="li",
            at=dt.datetime(2026, 11, 9, tzinfo=dt.UTC),
            comment="fee posted twice?",
        )
    third = run_reconciliation(index, "WEBANK", books, mapping, as_of=DAY1 + dt.timedelta(days=40), break_store=db)
    assert third.statement.verdict is Verdict.RECONCILED_WITH_PENDING and third.exit_code == 3
    assert third.breaks.select("state", "age_bucket").rows() == [("ASSIGNED", ">30")]


def test_rejects_make_the_run_incomplete_but_valid_rows_reconcile(setup) -> None:
    tmp, index, mapping = setup
    books = write_books(tmp, [*CLEAN, "E4,ENTRY,abc,2026-11-02,CONFIRMED,,ICBC"])
    result = run_reconciliation(index, "WEBANK", books, mapping, as_of=DAY1)
    assert result.statement.verdict is Verdict.INCOMPLETE and result.exit_code == 4
    assert result.statement.overall.matched_count == 3 and result.breaks.is_empty()
    assert result.statement.rejects_by_code == {"bad_amount": 1}


def test_duplicate_key_alone_is_a_break_not_an_incomplete_run(setup) -> None:
    tmp, index, mapping = setup
    result = run_reconciliation(index, "WEBANK", write_books(tmp, [*CLEAN, CLEAN[2]]), mapping, as_of=DAY1)
    assert result.statement.verdict is Verdict.BREAKS
    assert result.breaks.get_column("break_id").to_list() == ["DUPLICATE/BOOKS/CLEARING_ENTRY/E3"]
    assert result.statement.rejects_total == 1 and result.statement.rejects_unreadable == 0


def test_tolerance_gives_reconciled_with_pending(setup) -> None:
    tmp, index, mapping = setup
    books = write_books(tmp, [CLEAN[0], CLEAN[1], "E3,ENTRY,7.01,2026-11-03,CONFIRMED,,ICBC"])
    result = run_reconciliation(
        index, "WEBANK", books, mapping, as_of=DAY1, rules=MatchRules(amount_abs_fen=1, date_window_days=1)
    )
    assert result.statement.verdict is Verdict.RECONCILED_WITH_PENDING
    assert result.statement.overall.tolerated_difference == -1


def test_lagging_index_is_incomplete_and_sync_seam_is_called_first(setup) -> None:
    tmp, index, mapping = setup
    books = write_books(tmp, CLEAN)
    lagging = run_reconciliation(index, "WEBANK", books, mapping, as_of=DAY1, chain_head=12)
    assert lagging.statement.verdict is Verdict.INCOMPLETE
    assert "2 block(s) behind" in lagging.statement.verdict_reasons[0]

    def follow(store: IndexStore) -> int:
        store.apply_block(11, [])
        store.apply_block(12, [rec("E4", 1)])
        return 12

    synced = run_reconciliation(index, "WEBANK", books, mapping, as_of=DAY1, sync=follow)
    assert synced.statement.index_block == 12 and synced.statement.chain_head == 12
    assert synced.breaks.get_column("break_id").to_list() == ["MISSING_IN_BOOKS/CLEARING_ENTRY/E4"]


def test_verdict_rules_in_order() -> None:
    base = {"unreadable_rejects": 0, "index_lag": 0, "open_breaks": 0, "pending_breaks": 0, "tolerated": 0, "date_window": 0}
    assert decide_verdict(**base)[0] is Verdict.RECONCILED
    assert decide_verdict(**{**base, "date_window": 1})[0] is Verdict.RECONCILED_WITH_PENDING
    assert decide_verdict(**{**base, "pending_breaks": 1})[0] is Verdict.RECONCILED_WITH_PENDING
    assert decide_verdict(**{**base, "pending_breaks": 1, "open_breaks": 1})[0] is Verdict.BREAKS
    assert decide_verdict(**{**base, "open_breaks": 1, "unreadable_rejects": 2})[0] is Verdict.INCOMPLETE
    assert decide_verdict(**{**base, "index_lag": 3})[0] is Verdict.INCOMPLETE


def test_an_incomplete_run_does_not_auto_resolve_breaks_it_could_not_see(setup) -> None:
    tmp, index, mapping = setup
    db = tmp / "breaks.sqlite"
    books = write_books(tmp, [*CLEAN, "E9,ENTRY,1.00,2026-11-02,CONFIRMED,,ICBC"])
    run_reconciliation(index, "WEBANK", books, mapping, as_of=DAY1, break_store=db)
    # next day the E9 row is unreadable: its break is not seen, but must not count as resolved
    books = write_books(tmp, [*CLEAN, "E9,ENTRY,1.0x,2026-11-02,CONFIRMED,,ICBC"])
    result = run_reconciliation(index, "WEBANK", books, mapping, as_of=DAY1 + dt.timedelta(days=1), break_store=db)
    assert result.statement.verdict is Verdict.INCOMPLETE
    with BreakStore(db) as store:
        assert store.get("WEBANK", "MISSING_ON_CHAIN/CLEARING_ENTRY/E9").state.value == "OPEN"
    books = write_books(tmp, CLEAN)
    run_reconciliation(index, "WEBANK", books, mapping, as_of=DAY1 + dt.timedelta(days=2), break_store=db)
    with BreakStore(db) as store:
        assert store.get("WEBANK", "MISSING_ON_CHAIN/CLEARING_ENTRY/E9").state.value == "RESOLVED"
