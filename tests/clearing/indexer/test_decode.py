"""Suite events become the records reconciliation compares: exact amounts, both sides of entries, statuses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from clearing.indexer.decode import BlockDecoder, ChainLog
from clearing.indexer.store import IndexStore
from clearing.records import RecordKind
from contracts.ids import text_id
from tests.contracts.conftest import SHARES, Ledger, deploy, drawdown_input, loan_input, repayment_input

DAY = 1_767_225_600  # 2026-01-01T00:00:00Z


def scripted_blocks(ledger: Ledger) -> list[list[tuple[str, list[bytes], bytes]]]:
    """A loan's life and one settled cycle, one transaction per block; returns each block's raw logs."""
    loan = text_id("LN-IDX")
    steps = [
        ("WEBANK", "CoLending", "registerLoan", loan_input(loan, SHARES)),
        ("WEBANK", "CoLending", "drawdown", drawdown_input(loan, text_id("DD-IDX"), 1_000_000, 20261101)),
        ("WEBANK", "CoLending", "repay", repayment_input(loan, text_id("RP-IDX"), 100_001, 3_333, 0)),
        ("MYBANK", "Clearing", "closeCycle"),
        ("MYBANK", "Clearing", "netCycle", 1),
        ("WEBANK", "Clearing", "confirmCycle", 1),
        ("MYBANK", "Clearing", "confirmCycle", 1),
        ("XWBANK", "Clearing", "confirmCycle", 1),
    ]
    blocks = [ledger.ok(bank, contract, fn, *args).raw_logs for bank, contract, fn, *args in steps]
    instructions = ledger.call("Clearing", "instructions", 1)
    for index, (payer, payee, *_rest) in enumerate(instructions):
        payer_name = payer.rstrip(b"\0").decode()
        payee_name = payee.rstrip(b"\0").decode()
        blocks.append(ledger.ok(payer_name, "Clearing", "recordPayment", 1, index, text_id(f"PAY-{index}")).raw_logs)
        blocks.append(ledger.ok(payee_name, "Clearing", "acknowledgePayment", 1, index).raw_logs)
    return blocks


def apply(index: IndexStore, ledger: Ledger, blocks: list, numbers: list[int]) -> None:
    decoder = BlockDecoder(ledger.suite.session.codec, index)
    for number, raw in zip(numbers, blocks, strict=True):
        logs = [ChainLog(number, DAY + number * 10, i, a, t, d) for i, (a, t, d) in enumerate(raw)]
        index.apply_block(number, decoder.block_records(logs))


@pytest.fixture
def indexed(tmp_path: Path) -> tuple[IndexStore, list]:
    ledger = deploy()
    blocks = scripted_blocks(ledger)
    index = IndexStore(tmp_path / "index")
    apply(index, ledger, blocks, list(range(1, len(blocks) + 1)))
    yield index, blocks
    index.close()


def test_tranches_allocations_and_entries(indexed: tuple[IndexStore, list]) -> None:
    index, _ = indexed
    my = index.bank_frame("MYBANK")
    tranche = index.get("MYBANK", RecordKind.LOAN_TRANCHE, "LN-IDX/MYBANK")
    assert tranche is not None
    assert (tranche.amount, tranche.status, tranche.counterparty, tranche.currency) == (449_999, "ACTIVE", "WEBANK", "CNY")
    drawdown = index.get("MYBANK", RecordKind.DRAWDOWN_ALLOCATION, "DD-IDX/MYBANK")
    assert drawdown is not None and drawdown.amount == 500_000 and drawdown.value_date == dt.date(2026, 11, 1)
    parts = my.filter(pl.col("kind") == "REPAYMENT_ALLOCATION").sort("key")
    assert parts["key"].to_list() == ["RP-IDX/MYBANK/INTEREST", "RP-IDX/MYBANK/PRINCIPAL"]
    assert parts["amount"].to_list() == [1_666, 50_001]
    # Every clearing entry appears once on each side, with opposite signs.
    entries = pl.concat([index.bank_frame(b) for b in ("WEBANK", "MYBANK", "XWBANK")]).filter(pl.col("kind") == "CLEARING_ENTRY")
    per_entry = entries.group_by("key").agg(pl.col("amount").sum().alias("net"), pl.len().alias("sides"))
    assert per_entry["net"].to_list() == [0] * per_entry.height
    assert set(per_entry["sides"].to_list()) == {2}


def test_positions_follow_the_cycle_to_settlement(indexed: tuple[IndexStore, list]) -> None:
    index, _ = indexed
    positions = {b: index.get(b, RecordKind.CYCLE_POSITION, f"1/{b}") for b in ("WEBANK", "MYBANK", "XWBANK")}
    assert all(p is not None and p.status == "SETTLED" for p in positions.values())
    assert sum(p.amount for p in positions.values() if p is not None) == 0
    assert index.find("cycle", "1", bank="MYBANK")


def test_replay_and_resume_give_the_same_index(indexed: tuple[IndexStore, list], tmp_path: Path) -> None:
    index, blocks = indexed
    ledger = deploy()
    numbers = list(range(1, len(blocks) + 1))
    again = IndexStore(tmp_path / "again")
    half = len(blocks) // 2
    apply(again, ledger, blocks[:half], numbers[:half])
    again.close()
    resumed = IndexStore(tmp_path / "again")  # a restart in the middle of the stream
    apply(resumed, ledger, blocks[half:], numbers[half:])
    apply(resumed, ledger, blocks, numbers)  # replaying everything changes nothing
    for bank in ("WEBANK", "MYBANK", "XWBANK"):
        assert resumed.bank_frame(bank).sort("kind", "key").equals(index.bank_frame(bank).sort("kind", "key"))
    assert resumed.last_block() == index.last_block()
    resumed.close()


def test_foreign_logs_are_reported_not_fatal(tmp_path: Path) -> None:
    ledger = deploy()
    with IndexStore(tmp_path / "i") as index:
        decoder = BlockDecoder(ledger.suite.session.codec, index)
        records = decoder.block_records([ChainLog(1, DAY, 0, "0x" + "42" * 20, [b"\1" * 32], b"")])
        assert records == []
        assert decoder.skipped and decoder.skipped[0][:2] == (1, 0)
