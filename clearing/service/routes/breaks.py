"""Breaks of a bank's reconciliation: filtered listings, one break with its audit trail, and the officers'
work on them (assign, comment, resolve)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Any, Literal

from aiohttp import web
from aiohttp_pydantic.oas.typing import r200, r400, r401, r403, r404, r409
from pydantic import BaseModel, Field

from clearing.errors import BadRequest
from clearing.recon.break_store import BreakRecord, BreakStore
from clearing.recon.breaks import BreakState, BreakType, age_bucket, age_days, first_seen_window
from clearing.service.access import OFFICER_WRITE, READ, own_bank, principal, scope
from clearing.service.routes.common import (
    ApiRoutes,
    Cursor,
    ErrorBody,
    Found,
    IdText,
    Limit,
    Listed,
    Strict,
    page_reply,
    reply,
    whose,
)
from clearing.service.state import BREAKS, CONFIG

AgeBucket = Literal["0-1", "2-7", "8-30", ">30"]
BreakId = Annotated[str, Field(max_length=300)]
routes = ApiRoutes("breaks")


class Break(BaseModel):
    break_id: str
    break_type: str
    kind: str
    key: str
    state: Literal["OPEN", "ASSIGNED", "RESOLVED"]
    assignee: str | None
    first_seen: str
    last_seen: str
    age_days: int
    age_bucket: str
    chain_amount_fen: int | None
    books_amount_fen: int | None
    difference_fen: int
    detail: str | None


class BreakPage(BaseModel):
    items: list[Break]
    next: str | None


class BreakEvent(BaseModel):
    seq: int
    at: str
    actor: str
    from_state: str | None
    to_state: str
    comment: str
    run_id: str | None


class BreakDetail(BaseModel):
    item: Break
    history: list[BreakEvent]


class AssignIn(Strict):
    assignee: str = Field(min_length=1, max_length=64)
    comment: str = Field(min_length=1, max_length=2000)


class CommentIn(Strict):
    comment: str = Field(min_length=1, max_length=2000)


def break_model(b: BreakRecord, today: dt.date) -> Break:
    return Break(
        break_id=b.break_id, break_type=b.break_type, kind=b.kind, key=b.key, state=b.state.value,  # type: ignore[arg-type]
        assignee=b.assignee, first_seen=b.first_seen.isoformat(), last_seen=b.last_seen.isoformat(),
        age_days=age_days(b.first_seen, today), age_bucket=age_bucket(b.first_seen, today),
        chain_amount_fen=b.chain_amount, books_amount_fen=b.books_amount, difference_fen=b.difference, detail=b.detail,
    )  # fmt: skip


def today(request: web.Request) -> dt.date:
    return dt.datetime.now(request.config_dict[CONFIG].timezone).date()


@routes.get("/breaks", READ)
async def list_breaks(
    request: web.Request,
    bank: IdText | None = None,
    state: BreakState | None = None,
    type: BreakType | None = None,
    assignee: Annotated[str | None, Field(max_length=64)] = None,
    age: AgeBucket | None = None,
    after: Cursor = None,
    limit: Limit = 50,
) -> Listed[BreakPage] | r404[ErrorBody]:
    """Breaks of the bank's reconciliation, filtered by state, type, assignee and age bucket (days since
    first seen, in the bank's zone), in break id order."""
    reader = whose(request, bank)
    now = today(request)
    found = request.config_dict[BREAKS].page(
        reader, states=(state,) if state else None, types=(type.value,) if type else None, assignee=assignee,
        first_seen_between=first_seen_window(age, now) if age else (None, None), after=after, limit=limit,
    )  # fmt: skip
    return page_reply(BreakPage, found, limit, lambda b: b.break_id, lambda b: break_model(b, now))


def break_bank(request: web.Request) -> str:
    mine = scope(request)
    if mine is not None:
        return mine
    config = request.config_dict[CONFIG]
    if config.bank is None:
        raise BadRequest("a regulator service keeps no breaks")
    return config.bank


@routes.get("/breaks/{break_id:.+}", READ)
async def get_break(request: web.Request, break_id: BreakId, /) -> Found[BreakDetail]:
    """One break with its full audit trail."""
    store = request.config_dict[BREAKS]
    bank = break_bank(request)
    record = store.get(bank, break_id)
    history = [
        BreakEvent(
            seq=e.seq, at=e.at, actor=e.actor, from_state=e.from_state, to_state=e.to_state, comment=e.comment, run_id=e.run_id
        )
        for e in store.history(bank, break_id)
    ]
    return reply(BreakDetail(item=break_model(record, today(request)), history=history))


async def break_write(request: web.Request, action: str, break_id: str, **kwargs: Any) -> web.Response:
    """Break writes go through a short-lived store in a worker thread: a run holding the write lock never
    stalls the event loop."""
    bank = own_bank(request)
    path = request.config_dict[CONFIG].db("breaks")
    actor = principal(request).key_id
    at = dt.datetime.now(dt.UTC)

    def write() -> None:
        with BreakStore(path) as store:
            getattr(store, action)(bank, break_id, actor=actor, at=at, **kwargs)

    await asyncio.to_thread(write)
    store = request.config_dict[BREAKS]
    return reply(break_model(store.get(bank, break_id), today(request)))


@routes.post("/breaks/{break_id:.+}/assign", OFFICER_WRITE)
async def assign_break(
    request: web.Request, break_id: BreakId, /, body: AssignIn
) -> r200[Break] | r400[ErrorBody] | r401[ErrorBody] | r403[ErrorBody] | r404[ErrorBody] | r409[ErrorBody]:
    """Assign (or reassign) a break to an officer, with a comment."""
    return await break_write(request, "assign", break_id, assignee=body.assignee, comment=body.comment)


@routes.post("/breaks/{break_id:.+}/comment", OFFICER_WRITE)
async def comment_break(
    request: web.Request, break_id: BreakId, /, body: CommentIn
) -> r200[Break] | r400[ErrorBody] | r401[ErrorBody] | r403[ErrorBody] | r404[ErrorBody]:
    """Add a comment to a break's trail."""
    return await break_write(request, "comment", break_id, comment=body.comment)


@routes.post("/breaks/{break_id:.+}/resolve", OFFICER_WRITE)
async def resolve_break(
    request: web.Request, break_id: BreakId, /, body: CommentIn
) -> r200[Break] | r400[ErrorBody] | r401[ErrorBody] | r403[ErrorBody] | r404[ErrorBody] | r409[ErrorBody]:
    """Resolve an assigned break, saying how."""
    return await break_write(request, "resolve", break_id, comment=body.comment)
