"""Clearing entries as a bank sees them (signed from its side), filtered by counterparty, cycle and loan."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from aiohttp_pydantic.oas.typing import r404
from pydantic import BaseModel, Field

from clearing.records import Record, RecordKind
from clearing.service.access import READ
from clearing.service.routes.common import ApiRoutes, Cursor, ErrorBody, IdText, Limit, Listed, reply, whose
from clearing.service.state import INDEX

routes = ApiRoutes("entries")


class Entry(BaseModel):
    entry_id: str
    bank: str
    counterparty: str | None
    amount_fen: int = Field(description="signed from `bank`'s side: positive receives")
    currency: str
    value_date: str
    cycle_id: str | None
    loan_id: str | None
    reference: str | None
    status: str | None


class EntryPage(BaseModel):
    items: list[Entry]
    next: str | None


def entry_model(r: Record) -> Entry:
    return Entry(
        entry_id=r.key, bank=r.bank, counterparty=r.counterparty, amount_fen=r.amount, currency=r.currency,
        value_date=r.value_date.isoformat(), cycle_id=r.cycle_id, loan_id=r.loan_id, reference=r.reference, status=r.status,
    )  # fmt: skip


@routes.get("/entries", READ)
async def list_entries(
    request: web.Request,
    bank: IdText | None = None,
    counterparty: IdText | None = None,
    cycle: Annotated[str | None, Field(max_length=78)] = None,
    loan: IdText | None = None,
    after: Cursor = None,
    limit: Limit = 50,
) -> Listed[EntryPage] | r404[ErrorBody]:
    """Clearing entries as the bank sees them (signed from its side), filtered, in entry id order."""
    reader = whose(request, bank)

    def wanted(r: Any) -> bool:
        return (
            (counterparty is None or r.counterparty == counterparty)
            and (cycle is None or r.cycle_id == cycle)
            and (loan is None or r.loan_id == loan)
        )

    records, cursor = request.config_dict[INDEX].scan(reader, RecordKind.CLEARING_ENTRY, after=after, limit=limit, where=wanted)
    return reply(EntryPage(items=[entry_model(r) for r in records], next=cursor))
