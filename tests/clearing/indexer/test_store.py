import datetime as dt
from pathlib import Path

import pytest

from clearing.errors import CorruptIndex, IndexStoreError
from clearing.indexer.store import IndexStore
from clearing.records import RecordKind, records_to_frame
from tests.clearing.factories import rec


@pytest.fixture
def store(tmp_path: Path):
    with IndexStore(tmp_path / "index") as s:
        yield s


def test_block_is_written_with_its_cursor_and_read_back_per_bank(store: IndexStore) -> None:
    assert store.last_block() is None
    mine = [rec("E1", -100, cycle_id="C1"), rec("E2", 250, reference="P7")]
    other = [rec("E1", 100, bank="ICBC", counterparty="WEBANK", cycle_id="C1")]
    assert store.apply_block(0, mine + other)
    assert store.last_block() == 0
    frame = store.bank_frame("WEBANK")
    assert frame.sort("key").equals(records_to_frame(mine).sort("key"))
    assert store.bank_frame("ICBC").height == 1
    assert store.bank_frame("NOBODY").height == 0
    assert store.banks() == ["ICBC", "WEBANK"]


def test_replaying_a_block_is_a_no_op_and_resume_continues_after_cursor(tmp_path: Path) -> None:
    path = tmp_path / "index"
    with IndexStore(path) as s:
        s.apply_block(5, [rec("E1", 1)])
        s.apply_block(6, [rec("E2", 2)])
    with IndexStore(path) as s:  # a restarted follower resumes at last_block + 1
        assert s.last_block() == 6
        assert not s.apply_block(6, [rec("E2", 999)])
        assert not s.apply_block(3, [rec("E9", 9)])
        assert s.get("WEBANK", RecordKind.CLEARING_ENTRY, "E2") == rec("E2", 2)
        assert s.get("WEBANK", RecordKind.CLEARING_ENTRY, "E9") is None
        assert s.apply_block(7, [rec("E3", 3)])
        assert sorted(s.bank_frame("WEBANK").get_column("key")) == ["E1", "E2", "E3"]


def test_same_record_in_a_later_block_changes_nothing(store: IndexStore) -> None:
    store.apply_block(1, [rec("E1", 10)])
    store.apply_block(2, [rec("E1", 10)])
    assert store.bank_frame("WEBANK").height == 1
    assert store.last_block() == 2
    assert not list(store._db.iterator(prefix=b"t/"))  # no superseded version was left behind


def test_a_new_version_supersedes_the_old_one_everywhere(store: IndexStore) -> None:
    store.apply_block(1, [rec("E1", 10, status="CONFIRMED", cycle_id="C1", day=dt.date(2026, 1, 1))])
    store.apply_block(2, [rec("E2", 20, cycle_id="C1")])
    store.apply_block(3, [rec("E1", 10, status="SETTLED", cycle_id="C2", day=dt.date(2026, 1, 5))])
    frame = store.bank_frame("WEBANK").sort("key")
    assert frame.get_column("status").to_list() == ["SETTLED", "CONFIRMED"]
    assert [r.key for r in store.find("cycle", "C1")] == ["E2"]
    assert [r.status for r in store.find("cycle", "C2")] == ["SETTLED"]
    assert store.find("value_date", "2026-01-01") == []
    assert [r.key for r in store.find("value_date", "2026-01-05", bank="WEBANK")] == ["E1"]


def test_last_version_within_one_block_wins(store: IndexStore) -> None:
    store.apply_block(1, [rec("E1", 10), rec("E1", 11)])
    assert store.bank_frame("WEBANK").get_column("amount").to_list() == [11]


def test_secondary_keys_by_counterparty_loan_entry(store: IndexStore) -> None:
    store.apply_block(
        1,
        [
            rec("L1/WEBANK", 500, kind=RecordKind.LOAN_TRANCHE, loan_id="L1", counterparty=None),
            rec("E1", -30, counterparty="CCB", loan_id="L1"),
            rec("E2", 40, counterparty="ICBC"),
        ],
    )
    assert sorted(r.key for r in store.find("loan", "L1")) == ["E1", "L1/WEBANK"]
    assert [r.key for r in store.find("counterparty", "CCB")] == ["E1"]
    assert [r.key for r in store.find("entry", "E2")] == ["E2"]
    with pytest.raises(IndexStoreError) as info:
        store.find("colour", "red")
    assert info.value.code == "clearing.index_store"


def test_opening_a_missing_index_without_create_fails_with_code(tmp_path: Path) -> None:
    with pytest.raises(IndexStoreError) as info:
        IndexStore(tmp_path / "absent", create=False)
    assert info.value.code == "clearing.index_store"


def test_compaction_drops_superseded_versions_and_keeps_updates_working(store: IndexStore) -> None:
    store.apply_block(1, [rec(f"E{i}", i) for i in range(10)])
    store.apply_block(2, [rec("E3", 333), rec("E7", 777)])
    before = store.bank_frame("WEBANK").sort("key")
    assert store.compact("WEBANK", lines_per_chunk=4) == 2
    assert store.compact("WEBANK") == 0
    assert store.bank_frame("WEBANK").sort("key").equals(before)
    assert len(list(store._db.iterator(prefix=b"c/WEBANK\x00"))) == 3  # 10 lines in chunks of 4
    store.apply_block(3, [rec("E3", 3_000)])
    frame = store.bank_frame("WEBANK")
    assert frame.height == 10 and frame.filter(frame["key"] == "E3")["amount"].to_list() == [3_000]
    assert store.get("WEBANK", RecordKind.CLEARING_ENTRY, "E3").amount == 3_000
    store.settle()
    assert store.bank_frame("WEBANK").equals(frame)


def test_a_block_that_fails_midway_leaves_no_trace(store: IndexStore) -> None:
    store.apply_block(1, [rec("E1", 10)])
    store._db.put(b"r/WEBANK\x00CLEARING_ENTRY\x00E2", (1).to_bytes(8, "big") + b"garbage")  # a corrupt version
    with pytest.raises(CorruptIndex):
        store.apply_block(2, [rec("E0", 5), rec("E2", 20), rec("E3", 30)])
    assert store.last_block() == 1  # the batch, cursor included, was dropped as a whole
    assert store.get("WEBANK", RecordKind.CLEARING_ENTRY, "E0") is None
    assert store.bank_frame("WEBANK").get_column("key").to_list() == ["E1"]
