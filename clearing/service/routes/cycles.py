"""Clearing cycles: the ones a bank is party to, and per cycle its net positions, settlement instructions and
settlement status (the hot query, cached per view version)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field

from clearing.service.access import READ, hidden, scope
from clearing.service.routes.common import (
    ApiRoutes,
    Cursor,
    CycleId,
    Found,
    Limit,
    Listed,
    int_cursor,
    page_reply,
    reply,
)
from clearing.service.state import SETTLEMENT, STATUS_CACHE
from clearing.settlement.store import Cycle, Instruction, SettlementStore
from clearing.settlement.store import PartyStatus as Party

STATUS_CACHE_SIZE = 10_000
routes = ApiRoutes("cycles")


@dataclass(frozen=True)
class CycleSummary(Cycle):  # the settlement view's cycle under the API's name; no docstring: it would enter the schema
    pass


class CyclePage(BaseModel):
    items: list[CycleSummary]
    next: str | None


class Position(BaseModel):
    bank: str
    position_fen: int = Field(description="multilateral net: positive receives, negative pays")


class BilateralPosition(BaseModel):
    payer: str
    payee: str
    amount_fen: int


class Positions(BaseModel):
    cycle_id: int
    multilateral: list[Position]
    bilateral: list[BilateralPosition]


class SettlementInstruction(BaseModel):
    index: int
    payer: str
    payee: str
    amount_fen: int
    state: Literal["UNPAID", "PAID", "ACKNOWLEDGED"]
    payment_ref: str | None
    paid_block: int | None
    acknowledged_block: int | None


class Instructions(BaseModel):
    cycle_id: int
    items: list[SettlementInstruction]


class PartyStatus(BaseModel):
    bank: str
    position_fen: int | None
    confirmed: bool
    payments_to_make: int
    payments_made: int
    payments_to_receive: int
    payments_acknowledged: int


class SettlementStatus(BaseModel):
    cycle_id: int
    status: str
    confirmations: dict[str, int] = Field(description="bank -> block of its confirmation")
    parties: list[PartyStatus]
    instructions: list[SettlementInstruction]


class CycleDetail(BaseModel):
    cycle: CycleSummary
    parties: list[str]
    positions: Positions
    settlement: SettlementStatus


def cycle_summary(c: Cycle) -> CycleSummary:
    return CycleSummary(**c.__dict__)


def instruction_model(i: Instruction) -> SettlementInstruction:
    return SettlementInstruction(
        index=i.index, payer=i.payer, payee=i.payee, amount_fen=i.amount, state=i.state,  # type: ignore[arg-type]
        payment_ref=i.payment_ref, paid_block=i.paid_block, acknowledged_block=i.acknowledged_block,
    )  # fmt: skip


def visible_cycle(request: web.Request, cycle_id: int) -> Cycle:
    found = request.config_dict[SETTLEMENT].cycle(cycle_id, bank=scope(request))
    if found is None:
        raise hidden(f"cycle {cycle_id}")
    return found


def party_model(p: Party) -> PartyStatus:
    return PartyStatus(
        bank=p.bank, position_fen=p.position, confirmed=p.confirmed, payments_to_make=p.to_pay, payments_made=p.paid,
        payments_to_receive=p.to_receive, payments_acknowledged=p.acknowledged,
    )  # fmt: skip


def settlement_status(store: SettlementStore, cycle: Cycle) -> SettlementStatus:
    return SettlementStatus(
        cycle_id=cycle.cycle_id,
        status=cycle.status,
        confirmations=store.confirmations(cycle.cycle_id),
        parties=[party_model(p) for p in store.party_status(cycle.cycle_id)],
        instructions=[instruction_model(i) for i in store.instructions(cycle.cycle_id)],
    )


def positions(store: SettlementStore, cycle_id: int) -> Positions:
    return Positions(
        cycle_id=cycle_id,
        multilateral=[Position(bank=b, position_fen=p) for b, p in store.positions(cycle_id).items()],
        bilateral=[BilateralPosition(payer=a, payee=b, amount_fen=x) for a, b, x in store.bilateral(cycle_id)],
    )


@routes.get("/cycles", READ)
async def list_cycles(
    request: web.Request, status: str | None = None, after: Cursor = None, limit: Limit = 50
) -> Listed[CyclePage]:
    """Clearing cycles the caller's bank is party to (all for a regulator), newest first."""
    cycles = request.config_dict[SETTLEMENT].cycles(bank=scope(request), after=int_cursor(after), limit=limit, status=status)
    return page_reply(CyclePage, cycles, limit, lambda c: c.cycle_id, cycle_summary)


@routes.get("/cycles/{cycle_id}", READ)
async def get_cycle(request: web.Request, cycle_id: CycleId, /) -> Found[CycleDetail]:
    """One cycle: parties, net positions and settlement status."""
    cycle = visible_cycle(request, cycle_id)
    store = request.config_dict[SETTLEMENT]
    return reply(
        CycleDetail(
            cycle=cycle_summary(cycle),
            parties=store.parties(cycle_id),
            positions=positions(store, cycle_id),
            settlement=settlement_status(store, cycle),
        )
    )


@routes.get("/cycles/{cycle_id}/positions", READ)
async def get_positions(request: web.Request, cycle_id: CycleId, /) -> Found[Positions]:
    """Multilateral and bilateral net positions of a cycle."""
    visible_cycle(request, cycle_id)
    return reply(positions(request.config_dict[SETTLEMENT], cycle_id))


@routes.get("/cycles/{cycle_id}/instructions", READ)
async def get_instructions(request: web.Request, cycle_id: CycleId, /) -> Found[Instructions]:
    """Settlement instructions of a cycle with their payment references and acknowledgements."""
    visible_cycle(request, cycle_id)
    items = [instruction_model(i) for i in request.config_dict[SETTLEMENT].instructions(cycle_id)]
    return reply(Instructions(cycle_id=cycle_id, items=items))


@routes.get("/cycles/{cycle_id}/status", READ)
async def get_status(request: web.Request, cycle_id: CycleId, /) -> Found[SettlementStatus]:
    """Settlement status per counterparty: confirmations, payments made and acknowledged."""
    store = request.config_dict[SETTLEMENT]
    cache = request.config_dict[STATUS_CACHE]
    key = (cycle_id, scope(request))
    hit = cache.get(key)
    if hit is None or hit[0] != store.version:  # the hot query: rebuilt only when a block changed the view
        cycle = visible_cycle(request, cycle_id)
        hit = (store.version, settlement_status(store, cycle).model_dump_json().encode())
        if len(cache) >= STATUS_CACHE_SIZE:
            cache.clear()
        cache[key] = hit
    return web.Response(body=hit[1], content_type="application/json")
