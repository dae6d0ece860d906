import datetime as dt
import sqlite3
from pathlib import Path

import polars as pl
import pytest

from clearing.errors import IllegalTransition, UnknownBreak
from clearing.recon.break_store import BreakStore
from clearing.recon.breaks import BREAK_SCHEMA, BreakState, age_bucket

AT = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def observed(*ids: str) -> pl.DataFrame:
    rows = [
        {"break_id": i, "break_type": i.split("/")[0], "kind": "CLEARING_ENTRY", "key": i.split("/")[-1], "difference": 5}
        for i in ids
    ]
    return pl.DataFrame(rows, schema=BREAK_SCHEMA) if rows else pl.DataFrame(schema=BREAK_SCHEMA)


@pytest.fixture
def store(tmp_path: Path):
    with BreakStore(tmp_path / "breaks.sqlite") as s:
        yield s


def test_workflow_open_assigned_resolved_with_audit_trail(store: BreakStore) -> None:
    bid = "AMOUNT_MISMATCH/CLEARING_ENTRY/E1"
    store.sync_run("WEBANK", observed(bid), as_of=dt.date(2026, 11, 2), run_id="r1", at=AT)
    assert store.get("WEBANK", bid).state is BreakState.OPEN
    with pytest.raises(IllegalTransition) as info:
        store.resolve("WEBANK", bid, actor="li", at=AT, comment="fixed")
    assert info.value.code == "clearing.illegal_transition"
    store.assign("WEBANK", bid, assignee="wang", actor="li", at=AT, comment="please check the fee")
    store.assign("WEBANK", bid, assignee="zhao", actor="li", at=AT, comment="wang is away")
    store.resolve("WEBANK", bid, actor="zhao", at=AT + dt.timedelta(hours=1), comment="books corrected")
    record = store.get("WEBANK", bid)
    assert (record.state, record.assignee) == (BreakState.RESOLVED, "zhao")
    with pytest.raises(IllegalTransition):
        store.assign("WEBANK", bid, assignee="wang", actor="li", at=AT, comment="again")
    trail = [(e.actor, e.from_state, e.to_state) for e in store.history("WEBANK", bid)]
    assert trail == [
        ("system", None, "OPEN"),
        ("li", "OPEN", "ASSIGNED"),
        ("li", "ASSIGNED", "ASSIGNED"),
        ("zhao", "ASSIGNED", "RESOLVED"),
    ]
    events = store.history("WEBANK", bid)
    assert events[-1].comment == "books corrected" and events[-1].at == (AT + dt.timedelta(hours=1)).isoformat()
    assert "assigned to zhao" in events[2].comment


def test_manual_transitions_need_actor_and_comment_and_known_break(store: BreakStore) -> None:
    store.sync_run("WEBANK", observed("DUPLICATE/BOOKS/CLEARING_ENTRY/E1"), as_of=dt.date(2026, 11, 2), run_id="r1", at=AT)
    with pytest.raises(IllegalTransition):
        store.assign("WEBANK", "DUPLICATE/BOOKS/CLEARING_ENTRY/E1", assignee="x", actor="li", at=AT, comment=" ")
    with pytest.raises(IllegalTransition):
        store.assign("WEBANK", "DUPLICATE/BOOKS/CLEARING_ENTRY/E1", assignee="x", actor="system", at=AT, comment="pretending")
    with pytest.raises(UnknownBreak) as info:
        store.assign("WEBANK", "nope", assignee="x", actor="li", at=AT, comment="c")
    assert info.value.code == "clearing.unknown_break"
    with pytest.raises(UnknownBreak):  # breaks are per bank
        store.get("ICBC", "DUPLICATE/BOOKS/CLEARING_ENTRY/E1")


def test_audit_trail_is_append_only(tmp_path: Path) -> None:
    path = tmp_path / "breaks.sqlite"
    with BreakStore(path) as store:
        store.sync_run("WEBANK", observed("MISSING_ON_CHAIN/CLEARING_ENTRY/E1"), as_of=dt.date(2026, 11, 2), run_id="r1", at=AT)
    raw = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("UPDATE break_events SET actor = 'mallory'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("DELETE FROM break_events")
    raw.close()


def test_carry_over_auto_resolve_and_reopen(store: BreakStore) -> None:
    a, b = "AMOUNT_MISMATCH/CLEARING_ENTRY/E1", "MISSING_IN_BOOKS/CLEARING_ENTRY/E2"
    first = store.sync_run("WEBANK", observed(a, b), as_of=dt.date(2026, 11, 1), run_id="r1", at=AT)
    assert first.sort("break_id").select("state", "age_bucket").rows() == [("OPEN", "0-1"), ("OPEN", "0-1")]
    store.assign("WEBANK", a, assignee="wang", actor="li", at=AT, comment="mine")
    second = store.sync_run("WEBANK", observed(a), as_of=dt.date(2026, 11, 9), run_id="r2", at=AT)
    assert second.select("break_id", "state", "assignee", "first_seen", "age_days", "age_bucket").rows() == [
        (a, "ASSIGNED", "wang", dt.date(2026, 11, 1), 8, "8-30")
    ]
    assert store.get("WEBANK", b).state is BreakState.RESOLVED
    assert store.history("WEBANK", b)[-1].comment == "auto-resolved: no longer present in run r2"
    third = store.sync_run("WEBANK", observed(a, b), as_of=dt.date(2026, 12, 20), run_id="r3", at=AT)
    assert dict(third.select("break_id", "age_bucket").rows()) == {a: ">30", b: "0-1"}
    assert [(e.from_state, e.to_state) for e in store.history("WEBANK", b)] == [
        (None, "OPEN"),
        ("OPEN", "RESOLVED"),
        ("RESOLVED", "OPEN"),
    ]


@pytest.mark.parametrize(
    ("days", "bucket"), [(0, "0-1"), (1, "0-1"), (2, "2-7"), (7, "2-7"), (8, "8-30"), (30, "8-30"), (31, ">30"), (400, ">30")]
)
def test_age_buckets(days: int, bucket: str) -> None:
    start = dt.date(2026, 1, 1)
    assert age_bucket(start, start + dt.timedelta(days=days)) == bucket


def test_age_bucket_windows_agree_with_the_buckets() -> None:
    import datetime as dt

    from clearing.recon.breaks import AGE_BUCKET_NAMES, age_bucket, first_seen_window

    def within(day: dt.date, window: tuple[dt.date | None, dt.date | None]) -> bool:
        earliest, latest = window
        return (earliest is None or earliest <= day) and (latest is None or day <= latest)

    as_of = dt.date(2026, 11, 30)
    for days in range(0, 45):
        first_seen = as_of - dt.timedelta(days=days)
        inside = [name for name in AGE_BUCKET_NAMES if within(first_seen, first_seen_window(name, as_of))]
        assert inside == [age_bucket(first_seen, as_of)]
