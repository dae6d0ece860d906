"""`colend demo --check` fails when it should: a diverging node, a broken invariant, a planted mistake not found."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import polars as pl

from clearing.recon.breaks import BreakType
from clearing.records import RecordKind, records_to_frame
from colend.demo.books import PlantedBreak
from colend.demo.checks import (
    NodeHead,
    allocations_sum_exactly,
    cycle_settled,
    limits_reported,
    net_positions_sum_to_zero,
    nodes_agree,
    planted_breaks_found,
    read_heads,
    regulator_refused,
)
from colend.demo.day import plan_day
from colend.demo.settlement import Instruction, Netting, PaymentStep, SettlementLog
from tests.clearing.factories import rec

ROOT = "0x" + "ab" * 32


def head(node: str, state_root: str = ROOT, number: int = 9, block_hash: str = "0x" + "cd" * 32) -> NodeHead:
    return NodeHead(node, number, block_hash, state_root)


def test_nodes_agree_only_on_the_same_block_and_state() -> None:
    assert nodes_agree([head("webank"), head("mybank"), head("regulator")]).ok
    diverged = nodes_agree([head("webank"), head("mybank", state_root="0x" + "ee" * 32), head("regulator")])
    assert not diverged.ok and "mybank" in diverged.detail and "webank" not in diverged.detail.split("differ")[0]
    assert not nodes_agree([head("webank"), head("mybank", block_hash="0x" + "00" * 32)]).ok
    assert not nodes_agree([head("webank"), head("mybank", number=8)]).ok
    assert not nodes_agree([]).ok


class FakeNode(BaseHTTPRequestHandler):
    """Answers colend_status and eth_getBlockByNumber like a node at `height` whose state is `state_root`."""

    height = 5
    state_root = ROOT

    def do_POST(self) -> None:
        requests = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps([self.answer(r) for r in requests] if isinstance(requests, list) else self.answer(requests)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def answer(self, request: dict) -> dict:
        if request["method"] == "colend_status":
            result: object = {"head": {"number": hex(self.height)}}
        else:
            number = int(request["params"][0], 16)
            result = {"number": hex(number), "hash": "0x" + f"{number:064x}", "stateRoot": self.state_root}
        return {"jsonrpc": "2.0", "id": request["id"], "result": result}

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def fake_node(height: int, state_root: str) -> Iterator[str]:
    handler = type("Node", (FakeNode,), {"height": height, "state_root": state_root})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_nodes_are_compared_at_the_lowest_common_height_and_a_divergent_state_fails() -> None:
    with fake_node(7, ROOT) as a, fake_node(5, ROOT) as b, fake_node(6, "0x" + "ee" * 32) as c:
        heads = read_heads({"webank": a, "mybank": b})
        assert {h.number for h in heads} == {5} and nodes_agree(heads).ok
        finding = nodes_agree(read_heads({"webank": a, "mybank": b, "regulator": c}))
    assert not finding.ok and "regulator" in finding.detail


def test_planted_breaks_must_be_found_exactly() -> None:
    planted = [
        PlantedBreak("late", BreakType.DATE_MISMATCH, "CLEARING_ENTRY", "E1"),
        PlantedBreak("twice", BreakType.DUPLICATE, "REPAYMENT_ALLOCATION", "R1/XWBANK/INTEREST"),
    ]
    found = [p.break_id for p in planted]
    assert found[1] == "DUPLICATE/BOOKS/REPAYMENT_ALLOCATION/R1/XWBANK/INTEREST"
    assert planted_breaks_found("XWBANK", planted, found, 0, "BREAKS").ok
    missed = planted_breaks_found("XWBANK", planted, found[:1], 0, "BREAKS")
    assert not missed.ok and "not found" in missed.detail and "R1/XWBANK" in missed.detail
    extra = planted_breaks_found("XWBANK", planted, [*found, "AMOUNT_MISMATCH/CLEARING_ENTRY/E9"], 0, "BREAKS")
    assert not extra.ok and "unexpected" in extra.detail
    assert not planted_breaks_found("XWBANK", planted, found, 1, "BREAKS").ok
    incomplete = planted_breaks_found("XWBANK", planted, found, 0, "INCOMPLETE")
    assert not incomplete.ok and "INCOMPLETE" in incomplete.detail
    assert planted_breaks_found("XWBANK", [], [], 0, "RECONCILED").ok


def test_net_positions_must_sum_to_zero() -> None:
    assert net_positions_sum_to_zero({"WEBANK": 5, "MYBANK": -5}).ok
    assert not net_positions_sum_to_zero({"WEBANK": 5, "MYBANK": -4}).ok
    assert not net_positions_sum_to_zero({}).ok


def settlement(status: str, paid: int) -> SettlementLog:
    plan = (Instruction(0, "MYBANK", "WEBANK", 300), Instruction(1, "XWBANK", "WEBANK", 200))
    log = SettlementLog(Netting(1, {"WEBANK": 500, "MYBANK": -300, "XWBANK": -200}, plan), status=status)
    log.payments = [PaymentStep(ins, f"REF-{ins.index}", "a", "b", "c") for ins in plan[:paid]]
    return log


def test_the_cycle_must_be_settled_with_every_position_squared() -> None:
    assert cycle_settled(settlement("SETTLED", paid=2)).ok
    assert not cycle_settled(settlement("CONFIRMED", paid=2)).ok
    assert not cycle_settled(settlement("SETTLED", paid=1)).ok


def test_allocations_must_sum_to_the_fen() -> None:
    day = plan_day(1, 4)
    loan = day.loans[0]
    shares = {t.bank: t.share_bps for t in loan.tranches}
    banks = list(shares)
    parts = [loan.principal * shares[b] // 10_000 for b in banks]
    parts[0] += loan.principal - sum(parts)
    allocations = [rec(f"{loan.drawdown_id}/{b}", p, kind=RecordKind.DRAWDOWN_ALLOCATION, bank=b, reference=loan.drawdown_id)
                   for b, p in zip(banks, parts, strict=True)]  # fmt: skip
    for r in loan.repayments:
        for component, amount in (("PRINCIPAL", r.principal), ("INTEREST", r.interest), ("PENALTY", r.penalty)):
            if amount:
                allocations.append(rec(f"{r.op_id}/{banks[0]}/{component}", amount, kind=RecordKind.REPAYMENT_ALLOCATION,
                                       bank=banks[0], reference=r.op_id))  # fmt: skip
    tranches = records_to_frame([rec(f"{loan.loan_id}/{banks[0]}", loan.outstanding, kind=RecordKind.LOAN_TRANCHE,
                                     loan_id=loan.loan_id)])  # fmt: skip
    frame = records_to_frame(allocations)
    assert allocations_sum_exactly(day, frame, tranches).ok
    short = frame.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.col("amount") - 1).otherwise(pl.col("amount")))
    failed = allocations_sum_exactly(day, short, tranches)
    assert not failed.ok and loan.drawdown_id in failed.detail
    assert not allocations_sum_exactly(day, frame, tranches.with_columns(pl.col("amount") + 1)).ok


def test_the_regulator_must_be_refused_by_the_permission_rule() -> None:
    assert regulator_refused("ObserverCannotWrite", "clearing.forbidden").ok
    assert not regulator_refused(None, "clearing.forbidden").ok
    assert not regulator_refused("LoanNotFound", "clearing.forbidden").ok
    assert not regulator_refused("ObserverCannotWrite", None).ok, "its service must refuse writes too"


def test_limits_must_be_reported_for_every_bank_and_a_breach_is_a_finding_not_a_failure() -> None:
    from clearing.policy import DeclaredFigures, compute_exposures

    tranches = pl.DataFrame({"loan_id": ["L1", "L1"], "bank": ["WEBANK", "HRBANK"], "servicer": ["WEBANK", "WEBANK"],
                             "outstanding": [300_000, 700_000]})  # fmt: skip
    day = dt.date(2026, 11, 24)
    figures = {"WEBANK": DeclaredFigures("WEBANK", 10_000_000, 50_000_000, day),
               "HRBANK": DeclaredFigures("HRBANK", 2_000_000, 50_000_000, day)}  # fmt: skip
    report = compute_exposures(tranches, figures)
    found = limits_reported(report, ["WEBANK", "HRBANK"])
    assert found.ok and "HRBANK/WEBANK" in found.detail
    missing = limits_reported(compute_exposures(tranches, {"WEBANK": figures["WEBANK"]}), ["WEBANK", "HRBANK"])
    assert not missing.ok and "HRBANK" in missing.detail
    assert not limits_reported(None, ["WEBANK"]).ok
