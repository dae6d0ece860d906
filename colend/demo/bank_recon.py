"""One bank's reconciliation as the demo reports and checks it, whether run in-process or by its clearing service."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from clearing.recon.run import RunResult
from clearing.recon.statement import Statement


@dataclass(frozen=True)
class FoundBreak:
    break_id: str
    break_type: str
    kind: str
    key: str


@dataclass(frozen=True)
class BankRecon:
    """The figures of one run: rows on each side, matched units, breaks, residual (must be 0), verdict."""

    bank: str
    chain_rows: int
    books_rows: int
    matched: int
    residual: int
    verdict: str
    breaks: tuple[FoundBreak, ...]

    @property
    def break_ids(self) -> list[str]:
        return [b.break_id for b in self.breaks]


def from_run(bank: str, result: RunResult) -> BankRecon:
    rows = result.breaks.select("break_id", "break_type", "kind", "key").iter_rows()
    return _recon(bank, result.statement, tuple(FoundBreak(*row) for row in rows))


def from_statement(bank: str, statement: Mapping[str, Any], breaks: Iterable[Mapping[str, Any]]) -> BankRecon:
    """From a statement as JSON (Statement.to_dict), parsed here once, and break items as a clearing service lists them."""
    found = tuple(FoundBreak(b["break_id"], b["break_type"], b["kind"], b["key"]) for b in breaks)
    return _recon(bank, Statement.from_dict(statement), found)


def _recon(bank: str, s: Statement, breaks: tuple[FoundBreak, ...]) -> BankRecon:
    return BankRecon(bank, s.overall.chain.count, s.overall.books.count, s.overall.matched_count, s.overall.residual,
                     s.verdict.value, breaks)  # fmt: skip
