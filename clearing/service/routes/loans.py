"""Joint loans: the ones a bank holds a tranche in (with its outstanding), and one loan with every tranche."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from clearing.records import RecordKind
from clearing.service.access import READ, hidden, scope
from clearing.service.routes.common import ApiRoutes, Cursor, Found, IdText, Limit, Listed, reply, whose
from clearing.service.state import INDEX

routes = ApiRoutes("loans")


class Tranche(BaseModel):
    bank: str
    outstanding_fen: int
    status: str | None
    is_servicer: bool


class Loan(BaseModel):
    loan_id: str
    servicer: str | None
    currency: str
    status: str | None
    outstanding_fen: int
    tranches: list[Tranche]


class LoanSummary(BaseModel):
    loan_id: str
    currency: str
    status: str | None
    outstanding_fen: int = Field(description="this bank's tranche")


class LoanPage(BaseModel):
    items: list[LoanSummary]
    next: str | None = Field(description="cursor for the next page (pass as `after`); null at the end")


@routes.get("/loans", READ)
async def list_loans(
    request: web.Request, bank: IdText | None = None, after: Cursor = None, limit: Limit = 50
) -> Listed[LoanPage]:
    """Loans in which a bank holds a tranche (a regulator names the bank), with that bank's outstanding."""
    records, cursor = request.config_dict[INDEX].scan(whose(request, bank), RecordKind.LOAN_TRANCHE, after=after, limit=limit)
    items = [
        LoanSummary(loan_id=r.loan_id or r.key, currency=r.currency, status=r.status, outstanding_fen=r.amount) for r in records
    ]
    return reply(LoanPage(items=items, next=cursor))


@routes.get("/loans/{loan_id}", READ)
async def get_loan(request: web.Request, loan_id: IdText, /) -> Found[Loan]:
    """A joint loan: servicer, tranches and outstanding per tranche. Another bank's loan answers 404, as an
    unknown one does."""
    tranches = [r for r in request.config_dict[INDEX].find("loan", loan_id) if r.kind == RecordKind.LOAN_TRANCHE]
    mine = scope(request)
    if not tranches or (mine is not None and all(t.bank != mine for t in tranches)):
        raise hidden(f"loan {loan_id!r}")
    tranches.sort(key=lambda t: t.bank)
    servicer = next((t.bank for t in tranches if t.counterparty is None), None)
    parts = [Tranche(bank=t.bank, outstanding_fen=t.amount, status=t.status, is_servicer=t.bank == servicer) for t in tranches]
    body = Loan(
        loan_id=loan_id, servicer=servicer, currency=tranches[0].currency, status=tranches[0].status,
        outstanding_fen=sum(t.amount for t in tranches), tranches=parts,
    )  # fmt: skip
    return reply(body)
