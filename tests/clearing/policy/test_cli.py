"""`colend recon limits`: the regulator's view from an index, as a table for people and JSON for tools."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from clearing.indexer.store import IndexStore
from clearing.records import TIER1_NET_CAPITAL, TOTAL_LOANS, RecordKind
from colend.cli import main
from tests.clearing.factories import rec

AS_OF = dt.date(2026, 9, 30)


def tranche(loan: str, bank: str, servicer: str, amount: int) -> object:
    return rec(f"{loan}/{bank}", amount, kind=RecordKind.LOAN_TRANCHE, bank=bank, loan_id=loan, status="ACTIVE",
               counterparty=None if bank == servicer else servicer)  # fmt: skip


def figure(bank: str, key: str, amount: int) -> object:
    return rec(key, amount, kind=RecordKind.DECLARED_FIGURE, bank=bank, day=AS_OF, status="DECLARED", counterparty=None)


@pytest.fixture
def index(tmp_path: Path) -> Path:
    with IndexStore(tmp_path / "index") as store:
        store.apply_block(7, [
            tranche("LN-1", "WEBANK", "WEBANK", 300_000), tranche("LN-1", "MYBANK", "WEBANK", 700_000),
            figure("MYBANK", TIER1_NET_CAPITAL, 2_800_000), figure("MYBANK", TOTAL_LOANS, 10_000_000),
        ])  # fmt: skip
    return tmp_path / "index"


def test_json_report_and_exit_code_follow_the_limits(index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recon", "limits", "--index", str(index), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["index_block"] == 7 and doc["undeclared"] == ["WEBANK"] and doc["breaches"] == []
    pair = next(b for b in doc["banks"] if b["bank"] == "MYBANK")["partners"][0]
    assert (pair["partner"], pair["exposure_fen"], pair["limit_fen"], pair["status"]) == ("WEBANK", 700_000, 700_000, "PASS")

    assert main(["recon", "limits", "--index", str(index), "--json", "--partner-limit-bps", "2499"]) == 1
    breach = json.loads(capsys.readouterr().out)["breaches"][0]
    assert (breach["bank"], breach["partner"], breach["unlisted"]) == ("MYBANK", "WEBANK", {"loans": 0, "outstanding_fen": 0})
    assert breach["loans"] == [{"loan_id": "LN-1", "servicer": "WEBANK", "outstanding_fen": 700_000}]
    assert main(["recon", "limits", "--index", str(index), "--json", "--partner-limit-bps", "2499", "--max-loans", "0"]) == 1
    breach = json.loads(capsys.readouterr().out)["breaches"][0]
    assert (breach["loans"], breach["unlisted"]) == ([], {"loans": 1, "outstanding_fen": 700_000})


@pytest.mark.parametrize("width", ["40", "200"])
def test_table_keeps_every_figure_at_any_width(
    index: Path, width: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", width)
    assert main(["recon", "limits", "--index", str(index), "--partner-limit-bps", "2000"]) == 1
    out = capsys.readouterr().out
    for text in ("7,000.00", "5,600.00", "-1,400.00", "BREACH", "UNDECLARED", "LN-1", "2026-09-30"):
        assert text in out, text
    assert "\x1b[" not in out  # no colour codes when piped
    assert max(len(line) for line in out.splitlines()) <= int(width)


def test_errors_have_codes_and_exit_2(tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recon", "limits", "--index", str(tmp_path / "missing")]) == 2
    assert "clearing.index_store" in capsys.readouterr().err
    assert main(["recon", "limits", "--index", str(index), "--joint-limit-bps", "10001"]) == 2
    assert "clearing.invalid_limit" in capsys.readouterr().err
    assert main(["recon", "limits", "--index", str(index), "--partner-limit-bps", "1", "--max-loans", "-1"]) == 2
    assert "clearing.invalid_limit" in capsys.readouterr().err
