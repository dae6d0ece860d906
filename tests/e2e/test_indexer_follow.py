"""The indexer against a real node: records match the ledger, and a stop-and-restart mid-stream ends with the
same index as one uninterrupted run."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from eth_account import Account
from web3 import AsyncWeb3, Web3

from clearing.errors import NodeUnavailable
from clearing.indexer.follower import ChainFollower
from clearing.indexer.store import IndexStore
from clearing.records import RecordKind
from contracts.errors import ContractReverted
from contracts.ids import bank_id, text_id
from contracts.rpc_client import SuiteClient
from tests.e2e.node_process import NodeProcess

pytestmark = pytest.mark.e2e
BANKS = ("WEBANK", "MYBANK")


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, SuiteClient]]:
    node = NodeProcess(tmp_path_factory.mktemp("follow") / "node", block_period_ms=20)
    node.start()
    try:
        client = SuiteClient(Web3(Web3.HTTPProvider(f"http://127.0.0.1:{node.port}")), node.info["contracts"])
        drive_ledger(node, client)
        yield node, client
    finally:
        node.stop()


def drive_ledger(node: NodeProcess, client: SuiteClient) -> None:
    """Two loans, repayments, a fee and one cycle netted and confirmed: enough blocks to stop in the middle."""
    we, my = (Account.from_key(node.key(b)) for b in BANKS)
    for n in range(2):
        loan = text_id(f"LN-F{n}")
        client.send(we, "CoLending", "registerLoan", {
            "loanId": loan, "servicer": bank_id("WEBANK"), "currency": b"CNY", "principal": 900_000,
            "borrowerHash": b"\x01" * 32, "termsHash": b"\x02" * 32,
            "tranches": [{"bank": bank_id("WEBANK"), "shareBps": 4_000}, {"bank": bank_id("MYBANK"), "shareBps": 6_000}],
        })  # fmt: skip
        client.send(
            we,
            "CoLending",
            "drawdown",
            {"loanId": loan, "drawdownId": text_id(f"DD-F{n}"), "amount": 900_000, "valueDate": 20261120},
        )
        for m in range(2):
            client.send(we, "CoLending", "repay", {
                "loanId": loan, "repaymentId": text_id(f"RP-F{n}{m}"), "principal": 75_001, "interest": 4_321,
                "penalty": 0, "valueDate": 20261121 + m,
            })  # fmt: skip
    fee = {
        "entryId": text_id("FEE-F1"), "payer": bank_id("MYBANK"), "payee": bank_id("WEBANK"), "amount": 1_234,
        "kind": 2, "loanId": b"\0" * 32, "valueDate": 20261122, "ref": b"\0" * 32,
    }  # fmt: skip
    client.send(my, "Clearing", "postEntry", fee)
    with pytest.raises(ContractReverted, match="NotPayer"):
        client.send(we, "Clearing", "postEntry", dict(fee, entryId=text_id("FEE-F2")))
    client.send(my, "Clearing", "closeCycle")
    client.send(we, "Clearing", "netCycle", 1)
    client.send(we, "Clearing", "confirmCycle", 1)
    client.send(my, "Clearing", "confirmCycle", 1)


def follower(url: str, index: IndexStore, client: SuiteClient, range_size: int) -> ChainFollower:
    return ChainFollower(
        AsyncWeb3(AsyncWeb3.AsyncHTTPProvider(url)), index, client.codec, client.addresses, range_size=range_size
    )


def frames(index: IndexStore) -> dict[str, pl.DataFrame]:
    return {bank: index.bank_frame(bank).sort("kind", "key") for bank in BANKS}


def test_index_matches_the_ledger_and_reports_lag(chain: tuple[NodeProcess, SuiteClient], tmp_path: Path) -> None:
    node, client = chain
    with IndexStore(tmp_path / "index") as index:
        seen: list[tuple[int, int]] = []
        report = asyncio.run(
            follower(f"http://127.0.0.1:{node.port}", index, client, 7).sync(progress=lambda a, h: seen.append((a, h)))
        )
        assert report.lag == 0 and report.last_block == report.head
        assert seen and seen[-1][0] == report.head
        tranche = index.get("MYBANK", RecordKind.LOAN_TRANCHE, "LN-F0/MYBANK")
        on_chain = client.call("CoLending", "tranches", text_id("LN-F0"))
        assert tranche is not None and tranche.amount == on_chain[1][2] and tranche.status == "ACTIVE"
        position = index.get("MYBANK", RecordKind.CYCLE_POSITION, "1/MYBANK")
        assert position is not None and position.status == "CONFIRMED"
        assert position.amount == client.call("Clearing", "position", 1, bank_id("MYBANK"))
        assert index.get("MYBANK", RecordKind.CLEARING_ENTRY, "FEE-F1").amount == -1_234
        assert index.get("WEBANK", RecordKind.CLEARING_ENTRY, "FEE-F2") is None  # the refused entry left no trace


def test_stopped_and_restarted_follower_ends_with_the_same_index(chain: tuple[NodeProcess, SuiteClient], tmp_path: Path) -> None:
    node, client = chain
    url = f"http://127.0.0.1:{node.port}"
    with IndexStore(tmp_path / "whole") as whole:
        head = asyncio.run(follower(url, whole, client, 500).sync()).head
        expected = frames(whole)
    stops = [head // 3, head // 2, head - 1]
    for stop in stops:
        with IndexStore(tmp_path / "parts") as parts:  # each reopen is a restart of the indexer process
            asyncio.run(follower(url, parts, client, 3).sync(until=stop))
            assert parts.last_block() == stop
    with IndexStore(tmp_path / "parts") as parts:
        asyncio.run(follower(url, parts, client, 3).sync(until=head))
        assert {b: f.equals(expected[b]) for b, f in frames(parts).items()} == dict.fromkeys(BANKS, True)
        # Replaying blocks already applied is a no-op.
        parts_before = frames(parts)
        asyncio.run(follower(url, parts, client, 3).sync(until=head))
        assert all(frames(parts)[b].equals(parts_before[b]) for b in BANKS)


def test_unreachable_node_is_a_clear_error(tmp_path: Path, chain: tuple[NodeProcess, SuiteClient]) -> None:
    _, client = chain
    with IndexStore(tmp_path / "i") as index, pytest.raises(NodeUnavailable, match="cannot read the node's head"):
        asyncio.run(follower("http://127.0.0.1:9", index, client, 10).sync())


RECON_MAPPING = """
[columns]
kind = "kind"
key = "key"
amount = "amount_fen"
value_date = "value_date"
status = "status"
counterparty = "counterparty"
loan_id = "loan_id"
cycle_id = "cycle_id"
reference = "reference"

[constants]
currency = "CNY"

[format]
date = "%Y-%m-%d"
amount_unit = "fen"
"""


def test_recon_cli_follows_the_node_then_finds_the_planted_breaks(chain: tuple[NodeProcess, SuiteClient], tmp_path: Path) -> None:
    """A bank's books equal to the ledger but for one wrong amount and one missing row: exactly two breaks."""
    node, client = chain
    url = f"http://127.0.0.1:{node.port}"
    with IndexStore(tmp_path / "truth") as truth:
        asyncio.run(follower(url, truth, client, 500).sync())
        books = truth.bank_frame("MYBANK").sort("kind", "key")
    wrong_key = books.filter(pl.col("kind") == "DRAWDOWN_ALLOCATION")["key"][0]
    dropped_key = books.filter(pl.col("kind") == "CLEARING_ENTRY")["key"][0]
    books = books.with_columns(
        pl.when(pl.col("key") == wrong_key).then(pl.col("amount") + 100).otherwise(pl.col("amount")).alias("amount_fen")
    ).filter(pl.col("key") != dropped_key)
    books.drop("amount", "bank", "currency").write_csv(tmp_path / "books.csv")
    (tmp_path / "mapping.toml").write_text(RECON_MAPPING)
    done = subprocess.run(
        [sys.executable, "-m", "colend", "recon", "run", "--node", url, "--index", str(tmp_path / "idx"), "--bank", "MYBANK",
         "--books", str(tmp_path / "books.csv"), "--mapping", str(tmp_path / "mapping.toml"), "--format", "json",
         "--as-of", "2026-11-24"],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    overall = json.loads(done.stdout)["statement"]["overall"]
    found = {kind: b["count"] for kind, b in overall["breaks"].items() if b["count"]}
    assert found == {"AMOUNT_MISMATCH": 1, "MISSING_IN_BOOKS": 1}
    assert overall["residual"] == 0
    assert overall["chain"]["count"] == overall["books"]["count"] + 1
