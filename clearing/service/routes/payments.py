"""Settlement actions, signed with the bank's account key: confirming a cycle, payment references under four
eyes (one officer proposes, another approves or rejects), and acknowledging a payment received."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from aiohttp import web
from aiohttp_pydantic.oas.typing import r200, r201, r400, r401, r403, r404, r409, r502, r503
from pydantic import BaseModel, Field

from clearing.errors import Conflict, NotReady
from clearing.service.access import OFFICER_WRITE, READ, hidden, own_bank, principal, scope
from clearing.service.approvals import Proposal as ProposalRow
from clearing.service.approvals import ProposalState
from clearing.service.routes.common import (
    ID_TEXT,
    ApiRoutes,
    Cursor,
    CycleId,
    ErrorBody,
    Limit,
    Listed,
    Strict,
    int_cursor,
    page_reply,
    reply,
)
from clearing.service.routes.cycles import visible_cycle
from clearing.service.signer import SettlementSigner
from clearing.service.state import APPROVALS, SETTLEMENT, SIGNER
from clearing.settlement.store import Instruction

InstructionIndex = Annotated[int, Field(ge=0, le=2**31)]
ProposalId = Annotated[int, Field(ge=1, le=2**62)]
routes = ApiRoutes("settlement")


class Sent(BaseModel):
    tx_hash: str
    block_number: int


class PaymentRefIn(Strict):
    payment_ref: str = Field(pattern=ID_TEXT, description="the interbank transfer's reference (1-32 printable ASCII)")


class Proposal(BaseModel):
    proposal_id: int
    bank: str
    cycle_id: int
    index: int
    payment_ref: str
    proposed_by: str
    proposed_at: str
    state: Literal["PENDING", "SENDING", "SENT", "FAILED", "REJECTED"]
    decided_by: str | None
    decided_at: str | None
    tx_hash: str | None
    failure: str | None


class ProposalPage(BaseModel):
    items: list[Proposal]
    next: str | None


def _signer(request: web.Request) -> SettlementSigner:
    signer = request.config_dict.get(SIGNER)
    if signer is None:
        raise NotReady("this service holds no account key: it cannot act on chain")
    return signer


def _sent(sent: Any) -> web.Response:
    return reply(Sent(tx_hash=sent.tx_hash, block_number=sent.block_number))


@routes.post("/cycles/{cycle_id}/confirm", OFFICER_WRITE)
async def confirm_cycle(
    request: web.Request, cycle_id: CycleId, /
) -> (
    r200[Sent]
    | r401[ErrorBody]
    | r403[ErrorBody]
    | r404[ErrorBody]
    | r409[ErrorBody]
    | r502[ErrorBody]
    | r503[ErrorBody]
):
    """Confirm the netting result of a cycle for the service's bank (signed with its key)."""
    own_bank(request)
    visible_cycle(request, cycle_id)
    return _sent(await _signer(request).confirm_cycle(cycle_id))


def _own_instruction(request: web.Request, cycle_id: int, index: int, side: str) -> Instruction:
    bank = own_bank(request)
    visible_cycle(request, cycle_id)
    instruction = request.config_dict[SETTLEMENT].instruction(cycle_id, index)
    if instruction is None:
        raise hidden(f"instruction {cycle_id}/{index}")
    if getattr(instruction, side) != bank:
        raise Conflict(f"{bank} is not the {side} of instruction {cycle_id}/{index}")
    return instruction


def proposal_model(p: ProposalRow) -> Proposal:
    values = dict(p.__dict__)
    values["state"] = p.state.value
    return Proposal(**values)


@routes.post("/cycles/{cycle_id}/instructions/{index}/payment", OFFICER_WRITE)
async def propose_payment(
    request: web.Request, cycle_id: CycleId, index: InstructionIndex, /, body: PaymentRefIn
) -> r201[Proposal] | r400[ErrorBody] | r401[ErrorBody] | r403[ErrorBody] | r404[ErrorBody] | r409[ErrorBody]:
    """Enter the payment reference of an instruction this bank pays. It goes on chain only after a second
    officer approves it (four eyes)."""
    instruction = _own_instruction(request, cycle_id, index, "payer")
    if instruction.payment_ref is not None:
        raise Conflict(f"instruction {cycle_id}/{index} already has payment reference {instruction.payment_ref}")
    proposal = request.config_dict[APPROVALS].propose(
        bank=own_bank(request), cycle_id=cycle_id, index=index, payment_ref=body.payment_ref,
        by=principal(request).key_id, at=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    return reply(proposal_model(proposal), status=201)


@routes.get("/payments", READ)
async def list_payments(
    request: web.Request, state: ProposalState | None = None, after: Cursor = None, limit: Limit = 50
) -> Listed[ProposalPage]:
    """Payment references entered, pending a second officer, sent or refused; newest first."""
    items = request.config_dict[APPROVALS].page(bank=scope(request), after=int_cursor(after), limit=limit, state=state)
    return page_reply(ProposalPage, items, limit, lambda p: p.proposal_id, proposal_model)


@routes.post("/payments/{proposal_id}/approve", OFFICER_WRITE)
async def approve_payment(
    request: web.Request, proposal_id: ProposalId, /
) -> r200[Proposal] | r401[ErrorBody] | r403[ErrorBody] | r404[ErrorBody] | r409[ErrorBody] | r502[ErrorBody]:
    """Approve a payment reference entered by another officer: the service records it on chain."""
    bank = own_bank(request)
    store = request.config_dict[APPROVALS]
    signer = _signer(request)
    proposal = store.start_sending(bank, proposal_id, by=principal(request).key_id, at=dt.datetime.now(dt.UTC))
    try:
        sent = await signer.record_payment(proposal.cycle_id, proposal.index, proposal.payment_ref)
    except Exception as exc:
        store.finish(proposal_id, tx_hash=None, failure=str(getattr(exc, "message", exc)))
        raise
    store.finish(proposal_id, tx_hash=sent.tx_hash, failure=None)
    return reply(proposal_model(store.get(bank, proposal_id)))


@routes.post("/payments/{proposal_id}/reject", OFFICER_WRITE)
async def reject_payment(
    request: web.Request, proposal_id: ProposalId, /
) -> r200[Proposal] | r401[ErrorBody] | r403[ErrorBody] | r404[ErrorBody] | r409[ErrorBody]:
    """Turn down a pending payment reference (nothing goes on chain; a corrected one may be entered)."""
    bank = own_bank(request)
    proposal = request.config_dict[APPROVALS].reject(bank, proposal_id, by=principal(request).key_id, at=dt.datetime.now(dt.UTC))
    return reply(proposal_model(proposal))


@routes.post("/cycles/{cycle_id}/instructions/{index}/acknowledge", OFFICER_WRITE)
async def acknowledge_payment(
    request: web.Request, cycle_id: CycleId, index: InstructionIndex, /
) -> r200[Sent] | r401[ErrorBody] | r403[ErrorBody] | r404[ErrorBody] | r409[ErrorBody] | r502[ErrorBody]:
    """Acknowledge receipt of an instruction this bank is paid (the last acknowledgement settles the cycle)."""
    _own_instruction(request, cycle_id, index, "payee")
    return _sent(await _signer(request).acknowledge_payment(cycle_id, index))
