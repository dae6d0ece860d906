"""What `colend demo --check` holds the run to: pure checks over what the nodes and the services reported.

Each check is a function of plain values and returns a `Finding`, so a test can hand it a divergent node
or a reconciliation that missed a planted mistake and see it fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from clearing.policy import ExposureReport
from colend.demo.books import PlantedBreak
from colend.demo.day import LendingDay
from colend.demo.settlement import SettlementLog
from node.rpc.client import JsonRpcClient

RPC_TIMEOUT_S = 10


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class NodeHead:
    """A node's block at one height: its hash and its state commitment (the header's stateRoot)."""

    node: str
    number: int
    block_hash: str
    state_root: str


def all_passed(findings: Iterable[Finding]) -> bool:
    return all(f.ok for f in findings)


def nodes_agree(heads: Sequence[NodeHead]) -> Finding:
    """Every node has the same block and the same state commitment at the same height."""
    name = "nodes agree"
    if not heads:
        return Finding(name, False, "no node answered")
    heights = {h.number for h in heads}
    if len(heights) != 1:
        return Finding(name, False, f"compared at different heights {sorted(heights)}")
    first = heads[0]
    differing = [h.node for h in heads if (h.block_hash, h.state_root) != (first.block_hash, first.state_root)]
    if differing:
        detail = f"at height {first.number} {', '.join(differing)} differ from {first.node} in block hash or state commitment"
        return Finding(name, False, detail)
    return Finding(name, True, f"{len(heads)} node(s) at height {first.number}, state {first.state_root}")


def net_positions_sum_to_zero(positions: Mapping[str, int]) -> Finding:
    total = sum(positions.values())
    return Finding("net positions sum to zero", total == 0 and bool(positions), f"{len(positions)} banks, sum {total}")


def cycle_settled(log: SettlementLog) -> Finding:
    """SETTLED on chain, every instruction paid and acknowledged, and the payments square every position."""
    name = "cycle settled"
    moved: dict[str, int] = {}
    for step in log.payments:
        ins = step.instruction
        moved[ins.payer] = moved.get(ins.payer, 0) - ins.amount
        moved[ins.payee] = moved.get(ins.payee, 0) + ins.amount
    unsquared = sorted(b for b, p in log.netting.positions.items() if moved.get(b, 0) != p)
    if log.status != "SETTLED":
        return Finding(name, False, f"cycle {log.netting.cycle} is {log.status}")
    if len(log.payments) != len(log.netting.instructions) or unsquared:
        return Finding(name, False, f"payments do not square the positions of {', '.join(unsquared) or 'every bank'}")
    return Finding(name, True, f"cycle {log.netting.cycle}: {len(log.payments)} payment(s), each bank squared")


def allocations_sum_exactly(day: LendingDay, allocations: pl.DataFrame, tranches: pl.DataFrame) -> Finding:
    """Each drawdown's and repayment's tranche parts sum to the amount; tranches sum to each loan's outstanding.

    `allocations`: DRAWDOWN_ALLOCATION and REPAYMENT_ALLOCATION records of every bank; `tranches`: every
    bank's LOAN_TRANCHE records (amount = the tranche's outstanding principal).
    """
    name = "allocations sum exactly"
    expected: dict[tuple[str, str], int] = {}
    outstanding: dict[str, int] = {}
    for loan in day.loans:
        expected[(loan.drawdown_id, "DRAWN")] = loan.principal
        for r in loan.repayments:
            for component, amount in (("PRINCIPAL", r.principal), ("INTEREST", r.interest), ("PENALTY", r.penalty)):
                expected[(r.op_id, component)] = amount
        outstanding[loan.loan_id] = loan.outstanding
    component = (
        pl.when(pl.col("kind") == "DRAWDOWN_ALLOCATION").then(pl.lit("DRAWN")).otherwise(pl.col("key").str.split("/").list.last())
    )
    sums = allocations.group_by(pl.col("reference"), component.alias("component")).agg(pl.col("amount").sum())
    got = {(ref, comp): int(amount) for ref, comp, amount in sums.iter_rows()}
    wrong = [f"{ref} {comp}: {got.get((ref, comp), 0)} != {want}" for (ref, comp), want in sorted(expected.items())
             if got.get((ref, comp), 0) != want]  # fmt: skip
    wrong += [f"{ref} {comp}: not in the day" for ref, comp in sorted(set(got) - set(expected))]
    held = {loan: int(amount) for loan, amount in tranches.group_by("loan_id").agg(pl.col("amount").sum()).iter_rows()}
    wrong += [f"{loan} tranches {held.get(loan, 0)} != outstanding {want}" for loan, want in sorted(outstanding.items())
              if held.get(loan, 0) != want]  # fmt: skip
    if wrong:
        return Finding(name, False, f"{len(wrong)} mismatch(es): " + "; ".join(wrong[:5]))
    return Finding(name, True, f"{len(expected)} amounts and {len(outstanding)} loans, to the fen")


def planted_breaks_found(
    bank: str, planted: Sequence[PlantedBreak], found_break_ids: Iterable[str], residual: int, verdict: str
) -> Finding:
    """Reconciliation found each planted mistake as exactly its break (type and key), nothing else, residual 0,
    and read every books row (a run that could not is INCOMPLETE, whatever breaks it found)."""
    name = f"{bank} breaks = planted"
    want = {p.break_id for p in planted}
    got = set(found_break_ids)
    missed, extra = sorted(want - got), sorted(got - want)
    problems = [f"not found: {', '.join(missed)}"] if missed else []
    problems += [f"unexpected: {', '.join(extra)}"] if extra else []
    problems += [f"unexplained residual {residual}"] if residual else []
    expected_verdict = "BREAKS" if want else "RECONCILED"
    problems += [f"verdict {verdict}, expected {expected_verdict}"] if verdict != expected_verdict else []
    if problems:
        return Finding(name, False, "; ".join(problems))
    return Finding(name, True, f"{len(want)} planted, {len(got)} found, residual 0")


def limits_reported(report: ExposureReport | None, banks: Sequence[str]) -> Finding:
    """The regulator's limit view covers every bank with declared figures (a breach is a finding, not a failure)."""
    name = "limits checked"
    if report is None:
        return Finding(name, False, "no exposure report")
    missing = sorted(set(banks) - {b.bank for b in report.banks if b.figures is not None})
    if missing:
        return Finding(name, False, f"no declared figures for {', '.join(missing)}")
    breaches = ", ".join(f"{c.bank}/{c.partner or 'all'}" for c in report.breaches) or "none"
    return Finding(name, True, f"{len(report.checks)} checks, breaches: {breaches}")


def regulator_refused(chain_error: str | None, service_error: str | None) -> Finding:
    """The regulator's writes came back refused: on chain by the permission rule, by its service by its role."""
    ok = chain_error == "ObserverCannotWrite" and service_error == "clearing.forbidden"
    detail = f"on chain: {chain_error or 'not refused'}; by its service: {service_error or 'not refused'}"
    return Finding("regulator is read-only", ok, detail)


# ---------------------------------------------------------------------------------------------- reading the nodes


def read_heads(node_urls: Mapping[str, str]) -> list[NodeHead]:
    """Each node's block at the lowest head among them (colend_status, then eth_getBlockByNumber)."""
    clients = {name: JsonRpcClient(url, timeout_s=RPC_TIMEOUT_S) for name, url in sorted(node_urls.items())}
    try:
        heights = {name: int(c.call("colend_status")["head"]["number"], 16) for name, c in clients.items()}  # type: ignore[index]
        common = min(heights.values())
        heads = []
        for name, client in clients.items():
            block = client.call("eth_getBlockByNumber", hex(common), False)
            heads.append(NodeHead(name, int(block["number"], 16), block["hash"], block["stateRoot"]))  # type: ignore[index]
        return heads
    finally:
        for client in clients.values():
            client.close()
