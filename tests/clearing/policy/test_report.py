"""The regulator's report from a real index: figures declared and loans funded on the contracts, then indexed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from clearing.indexer.decode import BlockDecoder, ChainLog
from clearing.indexer.store import IndexStore
from clearing.policy import CheckStatus, Limits, Rule, report
from clearing.recon.run import ledger_only
from contracts.ids import text_id
from tests.contracts.conftest import Ledger, deploy, drawdown_input, loan_input, repayment_input

DAY = 1_767_225_600  # 2026-01-01T00:00:00Z


class Chain:
    """Each transaction in its own block, decoded into the index as the follower would."""

    def __init__(self, ledger: Ledger, index: IndexStore) -> None:
        self.ledger, self.index = ledger, index
        self.decoder = BlockDecoder(ledger.suite.session.codec, index)
        self.height = 0

    def tx(self, bank: str, contract: str, fn: str, *args: object) -> None:
        self.height += 1
        raw = self.ledger.ok(bank, contract, fn, *args).raw_logs
        logs = [ChainLog(self.height, DAY + self.height, i, a, t, d) for i, (a, t, d) in enumerate(raw)]
        self.index.apply_block(self.height, self.decoder.block_records(logs))


def originate(chain: Chain, loan: str, shares: dict[str, int], principal: int) -> None:
    chain.tx("WEBANK", "CoLending", "registerLoan", loan_input(text_id(loan), shares, principal=principal))
    chain.tx("WEBANK", "CoLending", "drawdown", drawdown_input(text_id(loan), text_id(f"DD-{loan}"), principal))


def test_report_follows_declarations_and_balances_on_chain(tmp_path: Path) -> None:
    with IndexStore(tmp_path / "index") as index:
        chain = Chain(deploy(), index)
        chain.tx("WEBANK", "CoLending", "declareFigures", 10_000_000, 10_000_000, 20260930)
        chain.tx("MYBANK", "CoLending", "declareFigures", 1_000_000, 1_000_000, 20260630)
        chain.tx("MYBANK", "CoLending", "declareFigures", 2_000_000, 1_000_000, 20260930)  # the later one counts
        originate(chain, "LN-1", {"WEBANK": 3_000, "MYBANK": 5_000, "XWBANK": 2_000}, 1_000_000)
        originate(chain, "LN-2", {"WEBANK": 3_000, "MYBANK": 7_000}, 200_000)
        originate(chain, "LN-3", {"WEBANK": 10_000}, 9_000_000)  # WEBANK alone: not joint lending

        before = report(index)
        assert before.index_block == chain.height
        my = before.bank("MYBANK")
        assert my is not None and my.figures is not None
        figures = (my.figures.tier1_net_capital, my.figures.total_loans, my.figures.as_of)
        assert figures == (2_000_000, 1_000_000, dt.date(2026, 9, 30))
        with_servicer = before.pair("MYBANK", "WEBANK")
        assert with_servicer is not None and with_servicer.status is CheckStatus.BREACH
        assert (with_servicer.exposure, with_servicer.limit_amount) == (640_000, 500_000)
        assert [(c.loan_id, c.servicer, c.outstanding) for c in with_servicer.contributions] == [
            ("LN-1", "WEBANK", 500_000),
            ("LN-2", "WEBANK", 140_000),
        ]
        at_limit = before.pair("MYBANK", "XWBANK")
        assert at_limit is not None and (at_limit.exposure, at_limit.status) == (500_000, CheckStatus.PASS)
        assert my.joint_lending.status is CheckStatus.BREACH and my.joint_lending.exposure == 640_000
        we = before.bank("WEBANK")
        assert we is not None and we.joint_lending.exposure == 360_000  # LN-3 is WEBANK's alone
        assert {c.status for c in we.checks} == {CheckStatus.PASS}
        assert before.undeclared == ("XWBANK",)
        assert {c.status for c in before.bank("XWBANK").checks} == {CheckStatus.UNDECLARED}  # type: ignore[union-attr]
        assert {(c.rule, c.bank, c.partner) for c in before.breaches} == {
            (Rule.PARTNER_TIER1, "MYBANK", "WEBANK"),
            (Rule.JOINT_TOTAL_LOANS, "MYBANK", None),
        }

        chain.tx("WEBANK", "CoLending", "payoff", repayment_input(text_id("LN-2"), text_id("PO-LN-2"), 200_000))
        after = report(index)
        assert after.pair("MYBANK", "WEBANK").exposure == 500_000  # type: ignore[union-attr]
        assert after.breaches == ()
        stricter = report(index, limits=Limits(partner_bps=2_499))
        assert {(c.bank, c.partner) for c in stricter.breaches} == {("MYBANK", "WEBANK"), ("MYBANK", "XWBANK")}


def test_declared_figures_are_indexed_but_never_reconciled_against_books(tmp_path: Path) -> None:
    with IndexStore(tmp_path / "index") as index:
        chain = Chain(deploy(), index)
        chain.tx("XWBANK", "CoLending", "declareFigures", 7, 9, 20261231)
        frame = index.bank_frame("XWBANK")
        figures = frame.filter(pl.col("kind") == "DECLARED_FIGURE").sort("key")
        assert figures["key"].to_list() == ["TIER1_NET_CAPITAL", "TOTAL_LOANS"]
        assert figures["amount"].to_list() == [7, 9]
        assert figures["value_date"].to_list() == [dt.date(2026, 12, 31)] * 2
        assert ledger_only(frame).is_empty()


def test_an_empty_index_reports_nothing(tmp_path: Path) -> None:
    with IndexStore(tmp_path / "index") as index:
        empty = report(index)
    assert (empty.banks, empty.breaches, empty.index_block) == ((), (), None)
