import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.support.recon_scenario import generate
from clearing.errors import UnexplainedResidual
from clearing.recon import engine
from clearing.recon.breaks import BreakType
from clearing.recon.engine import classify
from clearing.recon.rules import MatchRules
from clearing.recon.statement import sections
from clearing.records import RecordKind, records_to_frame
from tests.clearing.factories import rec

EXACT = MatchRules()


def run(chain, books, rules=EXACT):
    c = classify(records_to_frame(chain), records_to_frame(books), rules)
    overall, _ = sections(c)
    return c, overall


def break_ids(c) -> list[str]:
    return c.breaks.get_column("break_id").to_list()


def test_generated_books_hold_every_break_type_exactly() -> None:
    scenario = generate(3_000, seed=11, break_every=100)
    c = classify(scenario.chain, scenario.books, scenario.rules)
    overall, per_kind = sections(c)
    assert {t: v.count for t, v in overall.breaks.items()} == scenario.expected_breaks == {t.value: 30 for t in BreakType}
    assert overall.tolerated_count == scenario.expected_tolerated == 30
    assert overall.date_window_count == scenario.expected_date_window == 30
    assert c.matched.filter(pl.col("rule") == "GROUP").height == scenario.expected_groups
    # which keys broke, and how, is exactly what the generator mutated
    by_type = {t.value: sorted(c.breaks.filter(pl.col("break_type") == t.value).get_column("key")) for t in BreakType}
    keys = scenario.mutated_keys
    assert by_type["AMOUNT_MISMATCH"] == sorted(keys["amount"])
    assert by_type["DATE_MISMATCH"] == sorted(keys["date"])
    assert by_type["STATUS_MISMATCH"] == sorted(keys["status"])
    assert by_type["MISSING_IN_BOOKS"] == sorted(keys["missing_in_books"])
    assert by_type["MISSING_ON_CHAIN"] == sorted(keys["missing_on_chain"])
    assert by_type["DUPLICATE"] == sorted(keys["duplicate"])
    # the statement: totals per side, matched, residual 0 overall and per kind
    assert overall.chain.count == 3_000 - 30 and overall.books.count == 3_000 - 30 + 30 + 30
    assert overall.chain.amount == scenario.chain.get_column("amount").sum()
    assert overall.books.amount == scenario.books.get_column("amount").sum()
    # untouched pairs, plus tolerated, date-window, grouped and the first copy of duplicated rows: 9 sets of 30
    assert overall.matched_count == 3_000 - 9 * 30 + 4 * 30
    assert overall.residual == 0 and all(s.residual == 0 for s in per_kind)
    assert sum(s.chain.count for s in per_kind) == overall.chain.count
    breaks = {t: v.difference for t, v in overall.breaks.items()}
    assert breaks["DATE_MISMATCH"] == breaks["STATUS_MISMATCH"] == 0
    assert breaks["MISSING_IN_BOOKS"] == c.chain.filter(pl.col("key").is_in(keys["missing_in_books"]))["amount"].sum()


def test_statement_numbers_on_a_small_hand_made_case() -> None:
    chain = [rec("E1", 100), rec("E2", 200), rec("E3", 300), rec("E5", 500)]
    books = [rec("E1", 100), rec("E2", 201), rec("E3", 300, status="SETTLED"), rec("E3", 300), rec("E9", 900)]
    c, overall = run(chain, books, MatchRules(amount_abs_fen=0))
    assert break_ids(c) == [
        "AMOUNT_MISMATCH/CLEARING_ENTRY/E2",
        "DUPLICATE/BOOKS/CLEARING_ENTRY/E3",
        "MISSING_IN_BOOKS/CLEARING_ENTRY/E5",
        "MISSING_ON_CHAIN/CLEARING_ENTRY/E9",
        "STATUS_MISMATCH/CLEARING_ENTRY/E3",
    ]
    assert (overall.chain.amount, overall.books.amount) == (1100, 1801)
    assert overall.matched_count == 1 and overall.matched_chain_amount == 100
    assert overall.explained == -1 + -300 + 500 - 900
    assert overall.residual == 0


def test_tolerance_and_window_keep_pairs_matched_but_visible() -> None:
    rules = MatchRules(amount_abs_fen=1, amount_rel_bps=10, date_window_days=2)
    chain = [rec("E1", 100_000), rec("E2", 100), rec("E3", 100, day=dt.date(2026, 11, 2))]
    books = [rec("E1", 100_100), rec("E2", 102), rec("E3", 100, day=dt.date(2026, 11, 4))]
    c, overall = run(chain, books, rules)
    assert break_ids(c) == ["AMOUNT_MISMATCH/CLEARING_ENTRY/E2"]  # 2 fen > max(1, 100*10bps)
    assert overall.tolerated_count == 1 and overall.tolerated_difference == -100  # E1: 100 <= 100_000 * 0.1%
    assert overall.date_window_count == 1
    assert overall.residual == 0


def test_currency_difference_is_never_tolerated() -> None:
    c, _ = run([rec("E1", 100)], [rec("E1", 100, currency="USD")], MatchRules(amount_abs_fen=1000))
    assert break_ids(c) == ["AMOUNT_MISMATCH/CLEARING_ENTRY/E1"]
    assert "currency" in c.breaks.get_column("detail")[0]


def test_books_without_status_do_not_raise_status_breaks() -> None:
    c, overall = run([rec("E1", 100, status="SETTLED")], [rec("E1", 100, status=None)])
    assert c.breaks.is_empty() and overall.matched_count == 1


def test_one_to_many_and_many_to_one_by_reference() -> None:
    chain = [
        rec("E1", 1_000, reference="P1"),  # 1:N
        rec("E2", 300, reference="P2"),
        rec("E3", 700, reference="P2"),  # N:1
        rec("E4", 50, reference="P3"),
    ]  # sums disagree: stays missing
    books = [
        rec("B1", 600, reference="P1"),
        rec("B2", 400, reference="P1"),
        rec("B3", 1_000, reference="P2"),
        rec("B4", 40, reference="P3"),
    ]
    c, overall = run(chain, books)
    groups = c.matched.filter(pl.col("rule") == "GROUP").sort("key")
    assert groups.select("key", "chain_rows", "books_rows").rows() == [("ref:P1", 1, 2), ("ref:P2", 2, 1)]
    assert break_ids(c) == ["MISSING_IN_BOOKS/CLEARING_ENTRY/E4", "MISSING_ON_CHAIN/CLEARING_ENTRY/B4"]
    assert overall.residual == 0


def test_group_with_dates_outside_the_window_is_a_date_break() -> None:
    chain = [rec("E1", 1_000, reference="P1", day=dt.date(2026, 11, 1))]
    books = [rec("B1", 600, reference="P1", day=dt.date(2026, 11, 1)), rec("B2", 400, reference="P1", day=dt.date(2026, 11, 9))]
    c, overall = run(chain, books, MatchRules(date_window_days=3))
    assert break_ids(c) == ["DATE_MISMATCH/CLEARING_ENTRY/ref:P1"]
    assert overall.residual == 0


def test_grouping_can_be_switched_off() -> None:
    c, _ = run([rec("E1", 1_000, reference="P1")], [rec("B1", 1_000, reference="P1")], MatchRules(group_by_reference=False))
    assert sorted(c.breaks.get_column("break_type")) == ["MISSING_IN_BOOKS", "MISSING_ON_CHAIN"]


def test_kinds_are_matched_separately() -> None:
    chain = [rec("X1", 5, kind=RecordKind.DRAWDOWN_ALLOCATION)]
    books = [rec("X1", 5, kind=RecordKind.REPAYMENT_ALLOCATION)]
    c, _ = run(chain, books)
    assert break_ids(c) == ["MISSING_IN_BOOKS/DRAWDOWN_ALLOCATION/X1", "MISSING_ON_CHAIN/REPAYMENT_ALLOCATION/X1"]


def test_digest_collisions_fall_back_to_exact_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force every (kind, key) to the same digest: the result must not change."""
    scenario = generate(400, seed=3, break_every=40)
    honest = classify(scenario.chain, scenario.books, scenario.rules)
    monkeypatch.setattr(engine, "_uid_hash", lambda frame: pl.Series("_h", [7] * frame.height, dtype=pl.UInt64))
    colliding = classify(scenario.chain, scenario.books, scenario.rules)
    assert colliding.breaks.equals(honest.breaks)
    assert sections(colliding)[0] == sections(honest)[0]


def test_residual_check_catches_lost_money() -> None:
    c, _ = run([rec("E1", 100), rec("E2", 5)], [rec("E1", 100)])
    lost = engine.Classification(chain=c.chain, books=c.books, matched=c.matched, breaks=c.breaks.head(0))
    with pytest.raises(UnexplainedResidual) as info:
        sections(lost)
    assert info.value.code == "clearing.unexplained_residual"


# --- property: any single mutation of a matched pair yields exactly one break of the right type -------------

RULES = MatchRules(amount_abs_fen=5, amount_rel_bps=0, date_window_days=2)
MUTATIONS = {
    "amount": BreakType.AMOUNT_MISMATCH,
    "date": BreakType.DATE_MISMATCH,
    "status": BreakType.STATUS_MISMATCH,
    "drop_books": BreakType.MISSING_IN_BOOKS,
    "drop_chain": BreakType.MISSING_ON_CHAIN,
    "dup_books": BreakType.DUPLICATE,
    "dup_chain": BreakType.DUPLICATE,
}
pairs = st.lists(
    st.tuples(
        st.sampled_from(list(RecordKind)),
        st.integers(0, 10**12),
        st.integers(0, 400),
        st.sampled_from(["ACTIVE", "CONFIRMED", "SETTLED"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(pairs=pairs, data=st.data())
def test_single_mutation_gives_exactly_one_break_of_its_type(pairs, data) -> None:
    records = [
        rec(
            f"K{i}",
            amount,
            kind=kind,
            day=dt.date(2026, 1, 1) + dt.timedelta(days=day),
            status=status,
            reference=f"R{i}" if with_ref else None,
        )
        for i, (kind, amount, day, status, with_ref) in enumerate(pairs)
    ]
    chain, books = list(records), list(records)
    c, overall = run(chain, books, RULES)
    assert c.breaks.is_empty() and overall.matched_count == len(records) and overall.residual == 0

    target = data.draw(st.integers(0, len(records) - 1))
    mutation = data.draw(st.sampled_from(sorted(MUTATIONS)))
    original = records[target]
    if mutation == "amount":
        delta = data.draw(st.integers(RULES.amount_abs_fen + 1, 10**9))
        books[target] = rec(
            original.key,
            original.amount + delta,
            kind=original.kind,
            day=original.value_date,
            status=original.status,
            reference=original.reference,
        )
    elif mutation == "date":
        shift = data.draw(st.integers(RULES.date_window_days + 1, 500)) * data.draw(st.sampled_from([-1, 1]))
        books[target] = rec(
            original.key,
            original.amount,
            kind=original.kind,
            day=original.value_date + dt.timedelta(days=shift),
            status=original.status,
            reference=original.reference,
        )
    elif mutation == "status":
        books[target] = rec(
            original.key,
            original.amount,
            kind=original.kind,
            day=original.value_date,
            status=original.status + "_X",
            reference=original.reference,
        )
    elif mutation == "drop_books":
        del books[target]
    elif mutation == "drop_chain":
        del chain[target]
    elif mutation == "dup_books":
        books.append(original)
    else:
        chain.append(original)

    c, overall = run(chain, books, RULES)
    assert c.breaks.height == 1, c.breaks
    assert c.breaks.get_column("break_type")[0] == MUTATIONS[mutation].value
    assert c.breaks.get_column("key")[0] == original.key
    assert overall.residual == 0
