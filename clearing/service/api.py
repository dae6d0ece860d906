"""The /v1 JSON API: route table and typed handlers (aiohttp-pydantic validates inputs and documents them).

Every list that can grow pages by cursor (`after` = the `next` of the previous page, `limit` <= 500).
A bank sees only loans in which it holds a tranche and cycles and entries it is party to; anything else
answers exactly like something that does not exist.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Any

from aiohttp import web
from aiohttp_pydantic.decorator import inject_params
from aiohttp_pydantic.oas.typing import r200, r201, r202, r400, r401, r403, r404, r409, r502, r503
from pydantic import Field, ValidationError

from clearing.errors import BadRequest, Conflict, NotReady
from clearing.recon.break_store import BreakRecord, BreakStore
from clearing.recon.breaks import BreakState, BreakType, age_bucket, age_days
from clearing.records import RecordKind
from clearing.service import models as m
from clearing.service.access import OFFICER_WRITE, PUBLIC, READ, Access, access, hidden, own_bank, principal, scope
from clearing.service.approvals import Proposal, ProposalState
from clearing.service.keys import Role
from clearing.service.runs import RunManager
from clearing.service.signer import SettlementSigner
from clearing.service.state import (
    APPROVALS,
    AUDIT,
    BREAKS,
    CONFIG,
    FOLLOW,
    INDEX,
    POLICY,
    RUN_HISTORY,
    RUNS,
    SETTLEMENT,
    SIGNER,
    STATUS_CACHE,
)
from clearing.settlement.store import Cycle, Instruction, SettlementStore

STATUS_CACHE_SIZE = 10_000
Limit = Annotated[int, Field(ge=1, le=500)]
CycleId = Annotated[int, Field(ge=0, le=2**63 - 1)]
InstructionIndex = Annotated[int, Field(ge=0, le=2**31)]
Cursor = Annotated[str | None, Field(max_length=200)]
IdText = Annotated[str, Field(pattern=m.ID_TEXT)]


async def _validation_error(exc: ValidationError, context: str) -> web.StreamResponse:
    first = exc.errors(include_url=False)[0] if exc.errors() else {"loc": (), "msg": "invalid"}
    where = ".".join(str(p) for p in first.get("loc", ()))
    raise BadRequest(f"{context} {where}: {first.get('msg')}".strip())


inject = inject_params(on_validation_error=_validation_error).and_request
routes = web.RouteTableDef()


def int_cursor(after: str | None) -> int | None:
    if after is None:
        return None
    try:
        return int(after)
    except ValueError as exc:
        raise BadRequest(f"bad cursor {after!r}") from exc


# ------------------------------------------------------------------------------------------ health


@routes.get("/health")
@access(PUBLIC)
@inject
async def health(request: web.Request) -> r200[m.Health]:
    """Liveness: the process answers.

    Tags: health
    """
    return web.json_response({"status": "ok"})


def readiness(request: web.Request) -> m.Readiness:
    config = request.config_dict[CONFIG]
    follow = request.config_dict[FOLLOW]
    block = request.config_dict[INDEX].last_block()
    lag = None if follow.head is None else max(follow.head - (-1 if block is None else block), 0)
    ready = config.node is None or (follow.error is None and follow.syncs > 0)
    return m.Readiness(
        ready=ready, mode=config.mode, bank=config.bank, index_block=block, chain_head=follow.head,
        index_lag=lag, follower_error=follow.error,
    )  # fmt: skip


@routes.get("/ready")
@access(PUBLIC)
@inject
async def ready(request: web.Request) -> r200[m.Readiness] | r503[m.Readiness]:
    """Readiness: the index follows the node (lag is reported; a follower error makes it not ready).

    Tags: health
    """
    state = readiness(request)
    return web.json_response(state.model_dump(), status=200 if state.ready else 503)


@routes.get("/whoami")
@access(READ)
@inject
async def whoami(request: web.Request) -> r200[m.WhoAmI] | r401[m.ErrorBody]:
    """The caller's key id, role and bank.

    Tags: access
    """
    who = principal(request)
    return _json(m.WhoAmI(key_id=who.key_id, role=who.role.value, bank=who.bank))


def _json(model: Any, status: int = 200) -> web.Response:
    return web.json_response(text=model.model_dump_json(), status=status)


# ------------------------------------------------------------------------------------------ loans


@routes.get("/loans")
@access(READ)
@inject
async def list_loans(
    request: web.Request, bank: IdText | None = None, after: Cursor = None, limit: Limit = 50
) -> r200[m.LoanPage] | r400[m.ErrorBody] | r401[m.ErrorBody]:
    """Loans in which a bank holds a tranche (a regulator names the bank), with that bank's outstanding.

    Tags: loans
    """
    whose = _whose(request, bank)
    records, cursor = request.config_dict[INDEX].scan(whose, RecordKind.LOAN_TRANCHE, after=after, limit=limit)
    items = [
        m.LoanSummary(loan_id=r.loan_id or r.key, currency=r.currency, status=r.status, outstanding_fen=r.amount) for r in records
    ]
    return _json(m.LoanPage(items=items, next=cursor))


def _whose(request: web.Request, bank: str | None) -> str:
    """The bank a per-bank listing reads: the caller's own, or for a regulator the one it names."""
    mine = scope(request)
    if mine is not None:
        if bank is not None and bank != mine:
            raise hidden(f"data of bank {bank}")
        return mine
    if bank is None:
        raise BadRequest("a regulator names the bank to list (?bank=...)")
    return bank


@routes.get("/loans/{loan_id}")
@access(READ)
@inject
async def get_loan(request: web.Request, loan_id: IdText, /) -> r200[m.Loan] | r401[m.ErrorBody] | r404[m.ErrorBody]:
    """A joint loan: servicer, tranches and outstanding per tranche. Another bank's loan answers 404, as an
    unknown one does.

    Tags: loans
    """
    tranches = [r for r in request.config_dict[INDEX].find("loan", loan_id) if r.kind == RecordKind.LOAN_TRANCHE]
    mine = scope(request)
    if not tranches or (mine is not None and all(t.bank != mine for t in tranches)):
        raise hidden(f"loan {loan_id!r}")
    tranches.sort(key=lambda t: t.bank)
    servicer = next((t.bank for t in tranches if t.counterparty is None), None)
    parts = [m.Tranche(bank=t.bank, outstanding_fen=t.amount, status=t.status, is_servicer=t.bank == servicer) for t in tranches]
    body = m.Loan(
        loan_id=loan_id, servicer=servicer, currency=tranches[0].currency, status=tranches[0].status,
        outstanding_fen=sum(t.amount for t in tranches), tranches=parts,
    )  # fmt: skip
    return _json(body)


# ------------------------------------------------------------------------------------------ cycles


def cycle_summary(c: Cycle) -> m.CycleSummary:
    return m.CycleSummary(**c.__dict__)


def instruction_model(i: Instruction) -> m.SettlementInstruction:
    return m.SettlementInstruction(
        index=i.index, payer=i.payer, payee=i.payee, amount_fen=i.amount, state=i.state,  # type: ignore[arg-type]
        payment_ref=i.payment_ref, paid_block=i.paid_block, acknowledged_block=i.acknowledged_block,
    )  # fmt: skip


def visible_cycle(request: web.Request, cycle_id: int) -> Cycle:
    found = request.config_dict[SETTLEMENT].cycle(cycle_id, bank=scope(request))
    if found is None:
        raise hidden(f"cycle {cycle_id}")
    return found


def settlement_status(store: SettlementStore, cycle: Cycle) -> m.SettlementStatus:
    return m.SettlementStatus(
        cycle_id=cycle.cycle_id,
        status=cycle.status,
        confirmations=store.confirmations(cycle.cycle_id),
        parties=[
            m.PartyStatus(
                bank=p.bank,
                position_fen=p.position,
                confirmed=p.confirmed,
                payments_to_make=p.to_pay,
                payments_made=p.paid,
                payments_to_receive=p.to_receive,
                payments_acknowledged=p.acknowledged,
            )
            for p in store.party_status(cycle.cycle_id)
        ],
        instructions=[instruction_model(i) for i in store.instructions(cycle.cycle_id)],
    )


def positions(store: SettlementStore, cycle_id: int) -> m.Positions:
    return m.Positions(
        cycle_id=cycle_id,
        multilateral=[m.Position(bank=b, position_fen=p) for b, p in store.positions(cycle_id).items()],
        bilateral=[m.BilateralPosition(payer=a, payee=b, amount_fen=x) for a, b, x in store.bilateral(cycle_id)],
    )


@routes.get("/cycles")
@access(READ)
@inject
async def list_cycles(
    request: web.Request, status: str | None = None, after: Cursor = None, limit: Limit = 50
) -> r200[m.CyclePage] | r400[m.ErrorBody] | r401[m.ErrorBody]:
    """Clearing cycles the caller's bank is party to (all for a regulator), newest first.

    Tags: cycles
    """
    cycles = request.config_dict[SETTLEMENT].cycles(bank=scope(request), after=int_cursor(after), limit=limit, status=status)
    cursor = str(cycles[-1].cycle_id) if len(cycles) == limit else None
    return _json(m.CyclePage(items=[cycle_summary(c) for c in cycles], next=cursor))


@routes.get("/cycles/{cycle_id}")
@access(READ)
@inject
async def get_cycle(request: web.Request, cycle_id: CycleId, /) -> r200[m.CycleDetail] | r401[m.ErrorBody] | r404[m.ErrorBody]:
    """One cycle: parties, net positions and settlement status.

    Tags: cycles
    """
    cycle = visible_cycle(request, cycle_id)
    store = request.config_dict[SETTLEMENT]
    return _json(
        m.CycleDetail(
            cycle=cycle_summary(cycle),
            parties=store.parties(cycle_id),
            positions=positions(store, cycle_id),
            settlement=settlement_status(store, cycle),
        )
    )


@routes.get("/cycles/{cycle_id}/positions")
@access(READ)
@inject
async def get_positions(request: web.Request, cycle_id: CycleId, /) -> r200[m.Positions] | r401[m.ErrorBody] | r404[m.ErrorBody]:
    """Multilateral and bilateral net positions of a cycle.

    Tags: cycles
    """
    visible_cycle(request, cycle_id)
    return _json(positions(request.config_dict[SETTLEMENT], cycle_id))


@routes.get("/cycles/{cycle_id}/instructions")
@access(READ)
@inject
async def get_instructions(
    request: web.Request, cycle_id: CycleId, /
) -> r200[m.Instructions] | r401[m.ErrorBody] | r404[m.ErrorBody]:
    """Settlement instructions of a cycle with their payment references and acknowledgements.

    Tags: cycles
    """
    visible_cycle(request, cycle_id)
    items = [instruction_model(i) for i in request.config_dict[SETTLEMENT].instructions(cycle_id)]
    return _json(m.Instructions(cycle_id=cycle_id, items=items))


@routes.get("/cycles/{cycle_id}/status")
@access(READ)
@inject
async def get_status(
    request: web.Request, cycle_id: CycleId, /
) -> r200[m.SettlementStatus] | r401[m.ErrorBody] | r404[m.ErrorBody]:
    """Settlement status per counterparty: confirmations, payments made and acknowledged.

    Tags: cycles
    """
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


# ------------------------------------------------------------------------------------------ settlement actions


def _signer(request: web.Request) -> SettlementSigner:
    signer = request.config_dict.get(SIGNER)
    if signer is None:
        raise NotReady("this service holds no account key: it cannot act on chain")
    return signer


def _sent(sent: Any) -> web.Response:
    return _json(m.Sent(tx_hash=sent.tx_hash, block_number=sent.block_number))


@routes.post("/cycles/{cycle_id}/confirm")
@access(OFFICER_WRITE)
@inject
async def confirm_cycle(
    request: web.Request, cycle_id: CycleId, /
) -> (
    r200[m.Sent]
    | r401[m.ErrorBody]
    | r403[m.ErrorBody]
    | r404[m.ErrorBody]
    | r409[m.ErrorBody]
    | r502[m.ErrorBody]
    | r503[m.ErrorBody]
):
    """Confirm the netting result of a cycle for the service's bank (signed with its key).

    Tags: settlement
    """
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


def proposal_model(p: Proposal) -> m.Proposal:
    values = dict(p.__dict__)
    values["state"] = p.state.value
    return m.Proposal(**values)


@routes.post("/cycles/{cycle_id}/instructions/{index}/payment")
@access(OFFICER_WRITE)
@inject
async def propose_payment(
    request: web.Request, cycle_id: CycleId, index: InstructionIndex, /, body: m.PaymentRefIn
) -> r201[m.Proposal] | r400[m.ErrorBody] | r401[m.ErrorBody] | r403[m.ErrorBody] | r404[m.ErrorBody] | r409[m.ErrorBody]:
    """Enter the payment reference of an instruction this bank pays. It goes on chain only after a second
    officer approves it (four eyes).

    Tags: settlement
    """
    instruction = _own_instruction(request, cycle_id, index, "payer")
    if instruction.payment_ref is not None:
        raise Conflict(f"instruction {cycle_id}/{index} already has payment reference {instruction.payment_ref}")
    proposal = request.config_dict[APPROVALS].propose(
        bank=own_bank(request), cycle_id=cycle_id, index=index, payment_ref=body.payment_ref,
        by=principal(request).key_id, at=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    return _json(proposal_model(proposal), status=201)


@routes.get("/payments")
@access(READ)
@inject
async def list_payments(
    request: web.Request, state: ProposalState | None = None, after: Cursor = None, limit: Limit = 50
) -> r200[m.ProposalPage] | r400[m.ErrorBody] | r401[m.ErrorBody]:
    """Payment references entered, pending a second officer, sent or refused; newest first.

    Tags: settlement
    """
    items = request.config_dict[APPROVALS].page(bank=scope(request), after=int_cursor(after), limit=limit, state=state)
    cursor = str(items[-1].proposal_id) if len(items) == limit else None
    return _json(m.ProposalPage(items=[proposal_model(p) for p in items], next=cursor))


@routes.post("/payments/{proposal_id}/approve")
@access(OFFICER_WRITE)
@inject
async def approve_payment(
    request: web.Request, proposal_id: Annotated[int, Field(ge=1, le=2**62)], /
) -> r200[m.Proposal] | r401[m.ErrorBody] | r403[m.ErrorBody] | r404[m.ErrorBody] | r409[m.ErrorBody] | r502[m.ErrorBody]:
    """Approve a payment reference entered by another officer: the service records it on chain.

    Tags: settlement
    """
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
    return _json(proposal_model(store.get(bank, proposal_id)))


@routes.post("/payments/{proposal_id}/reject")
@access(OFFICER_WRITE)
@inject
async def reject_payment(
    request: web.Request, proposal_id: Annotated[int, Field(ge=1, le=2**62)], /
) -> r200[m.Proposal] | r401[m.ErrorBody] | r403[m.ErrorBody] | r404[m.ErrorBody] | r409[m.ErrorBody]:
    """Turn down a pending payment reference (nothing goes on chain; a corrected one may be entered).

    Tags: settlement
    """
    bank = own_bank(request)
    proposal = request.config_dict[APPROVALS].reject(bank, proposal_id, by=principal(request).key_id, at=dt.datetime.now(dt.UTC))
    return _json(proposal_model(proposal))


@routes.post("/cycles/{cycle_id}/instructions/{index}/acknowledge")
@access(OFFICER_WRITE)
@inject
async def acknowledge_payment(
    request: web.Request, cycle_id: CycleId, index: InstructionIndex, /
) -> r200[m.Sent] | r401[m.ErrorBody] | r403[m.ErrorBody] | r404[m.ErrorBody] | r409[m.ErrorBody] | r502[m.ErrorBody]:
    """Acknowledge receipt of an instruction this bank is paid (the last acknowledgement settles the cycle).

    Tags: settlement
    """
    _own_instruction(request, cycle_id, index, "payee")
    return _sent(await _signer(request).acknowledge_payment(cycle_id, index))


# ------------------------------------------------------------------------------------------ entries


@routes.get("/entries")
@access(READ)
@inject
async def list_entries(
    request: web.Request,
    bank: IdText | None = None,
    counterparty: IdText | None = None,
    cycle: Annotated[str | None, Field(max_length=78)] = None,
    loan: IdText | None = None,
    after: Cursor = None,
    limit: Limit = 50,
) -> r200[m.EntryPage] | r400[m.ErrorBody] | r401[m.ErrorBody] | r404[m.ErrorBody]:
    """Clearing entries as the bank sees them (signed from its side), filtered, in entry id order.

    Tags: entries
    """
    whose = _whose(request, bank)

    def wanted(r: Any) -> bool:
        return (
            (counterparty is None or r.counterparty == counterparty)
            and (cycle is None or r.cycle_id == cycle)
            and (loan is None or r.loan_id == loan)
        )

    records, cursor = request.config_dict[INDEX].scan(whose, RecordKind.CLEARING_ENTRY, after=after, limit=limit, where=wanted)
    items = [
        m.Entry(
            entry_id=r.key,
            bank=r.bank,
            counterparty=r.counterparty,
            amount_fen=r.amount,
            currency=r.currency,
            value_date=r.value_date.isoformat(),
            cycle_id=r.cycle_id,
            loan_id=r.loan_id,
            reference=r.reference,
            status=r.status,
        )
        for r in records
    ]
    return _json(m.EntryPage(items=items, next=cursor))


# ------------------------------------------------------------------------------------------ runs


def run_manager(request: web.Request) -> RunManager:
    runs = request.config_dict.get(RUNS)
    if runs is None:
        raise NotReady("no books configured: this service does not reconcile")
    return runs


def progress_model(request: web.Request) -> m.RunProgress | None:
    runs = request.config_dict.get(RUNS)
    current = None if runs is None else runs.current
    return None if current is None else m.RunProgress(**current.__dict__)


@routes.post("/runs")
@access(OFFICER_WRITE)
@inject
async def start_run(
    request: web.Request,
) -> r202[m.RunProgress] | r401[m.ErrorBody] | r403[m.ErrorBody] | r409[m.ErrorBody] | r503[m.ErrorBody]:
    """Start a reconciliation run now; it runs in the background (poll GET /v1/runs/current).

    Tags: reconciliation
    """
    progress = run_manager(request).start(f"request:{principal(request).key_id}")
    return _json(m.RunProgress(**progress.__dict__), status=202)


def run_model(row: Any) -> m.Run:
    return m.Run(
        run_id=row.run_id, bank=row.bank, trigger=row.trigger, started_at=row.started_at, finished_at=row.finished_at,
        verdict=row.verdict, error_code=row.error_code, error_message=row.error_message, statement=row.statement,
    )  # fmt: skip


@routes.get("/runs")
@access(READ)
@inject
async def list_runs(
    request: web.Request, after: Cursor = None, limit: Limit = 20
) -> r200[m.RunPage] | r400[m.ErrorBody] | r401[m.ErrorBody]:
    """Reconciliation runs, newest first, with their statements; `current` is the run going now.

    Tags: reconciliation
    """
    rows = request.config_dict[RUN_HISTORY].page(bank=scope(request), after=int_cursor(after), limit=limit)
    cursor = str(rows[-1].seq) if len(rows) == limit else None
    return _json(m.RunPage(items=[run_model(r) for r in rows], current=progress_model(request), next=cursor))


@routes.get("/runs/{run_id}")
@access(READ)
@inject
async def get_run(
    request: web.Request, run_id: Annotated[str, Field(max_length=120)], /
) -> r200[m.Run] | r401[m.ErrorBody] | r404[m.ErrorBody]:
    """One run and its statement (figures per kind, residual, verdict).

    Tags: reconciliation
    """
    return _json(run_model(request.config_dict[RUN_HISTORY].get(run_id, bank=scope(request))))


# ------------------------------------------------------------------------------------------ breaks


def break_model(b: BreakRecord, today: dt.date) -> m.Break:
    return m.Break(
        break_id=b.break_id, break_type=b.break_type, kind=b.kind, key=b.key, state=b.state.value,  # type: ignore[arg-type]
        assignee=b.assignee, first_seen=b.first_seen.isoformat(), last_seen=b.last_seen.isoformat(),
        age_days=age_days(b.first_seen, today), age_bucket=age_bucket(b.first_seen, today),
        chain_amount_fen=b.chain_amount, books_amount_fen=b.books_amount, difference_fen=b.difference, detail=b.detail,
    )  # fmt: skip


def today(request: web.Request) -> dt.date:
    return dt.datetime.now(request.config_dict[CONFIG].timezone).date()


@routes.get("/breaks")
@access(READ)
@inject
async def list_breaks(
    request: web.Request,
    bank: IdText | None = None,
    state: BreakState | None = None,
    type: BreakType | None = None,
    assignee: Annotated[str | None, Field(max_length=64)] = None,
    after: Cursor = None,
    limit: Limit = 50,
) -> r200[m.BreakPage] | r400[m.ErrorBody] | r401[m.ErrorBody] | r404[m.ErrorBody]:
    """Breaks of the bank's reconciliation, filtered by state, type and assignee, in break id order.

    Tags: breaks
    """
    whose = _whose(request, bank)
    found = request.config_dict[BREAKS].page(
        whose, states=(state,) if state else None, types=(type.value,) if type else None, assignee=assignee,
        after=after, limit=limit,
    )  # fmt: skip
    now = today(request)
    cursor = found[-1].break_id if len(found) == limit else None
    return _json(m.BreakPage(items=[break_model(b, now) for b in found], next=cursor))


def break_bank(request: web.Request) -> str:
    mine = scope(request)
    if mine is not None:
        return mine
    config = request.config_dict[CONFIG]
    if config.bank is None:
        raise BadRequest("a regulator service keeps no breaks")
    return config.bank


@routes.get("/breaks/{break_id:.+}")
@access(READ)
@inject
async def get_break(
    request: web.Request, break_id: Annotated[str, Field(max_length=300)], /
) -> r200[m.BreakDetail] | r401[m.ErrorBody] | r404[m.ErrorBody]:
    """One break with its full audit trail.

    Tags: breaks
    """
    store = request.config_dict[BREAKS]
    bank = break_bank(request)
    record = store.get(bank, break_id)
    history = [
        m.BreakEvent(
            seq=e.seq, at=e.at, actor=e.actor, from_state=e.from_state, to_state=e.to_state, comment=e.comment, run_id=e.run_id
        )
        for e in store.history(bank, break_id)
    ]
    return _json(m.BreakDetail(item=break_model(record, today(request)), history=history))


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
    return _json(break_model(store.get(bank, break_id), today(request)))


@routes.post("/breaks/{break_id:.+}/assign")
@access(OFFICER_WRITE)
@inject
async def assign_break(
    request: web.Request, break_id: Annotated[str, Field(max_length=300)], /, body: m.AssignIn
) -> r200[m.Break] | r400[m.ErrorBody] | r401[m.ErrorBody] | r403[m.ErrorBody] | r404[m.ErrorBody] | r409[m.ErrorBody]:
    """Assign (or reassign) a break to an officer, with a comment.

    Tags: breaks
    """
    return await break_write(request, "assign", break_id, assignee=body.assignee, comment=body.comment)


@routes.post("/breaks/{break_id:.+}/comment")
@access(OFFICER_WRITE)
@inject
async def comment_break(
    request: web.Request, break_id: Annotated[str, Field(max_length=300)], /, body: m.CommentIn
) -> r200[m.Break] | r400[m.ErrorBody] | r401[m.ErrorBody] | r403[m.ErrorBody] | r404[m.ErrorBody]:
    """Add a comment to a break's trail.

    Tags: breaks
    """
    return await break_write(request, "comment", break_id, comment=body.comment)


@routes.post("/breaks/{break_id:.+}/resolve")
@access(OFFICER_WRITE)
@inject
async def resolve_break(
    request: web.Request, break_id: Annotated[str, Field(max_length=300)], /, body: m.CommentIn
) -> r200[m.Break] | r400[m.ErrorBody] | r401[m.ErrorBody] | r403[m.ErrorBody] | r404[m.ErrorBody] | r409[m.ErrorBody]:
    """Resolve an assigned break, saying how.

    Tags: breaks
    """
    return await break_write(request, "resolve", break_id, comment=body.comment)


# ------------------------------------------------------------------------------------------ audit


@routes.get("/audit")
@access(READ)
@inject
async def list_audit(
    request: web.Request, after: Cursor = None, limit: Limit = 50
) -> r200[m.AuditPage] | r400[m.ErrorBody] | r401[m.ErrorBody]:
    """The append-only audit log of write attempts (the bank's own; every bank's for a regulator).

    Tags: access
    """
    rows = request.config_dict[AUDIT].page(bank=scope(request), after=int_cursor(after), limit=limit)
    cursor = str(rows[-1].seq) if len(rows) == limit else None
    return _json(m.AuditPage(items=[m.AuditEntry(**r.__dict__) for r in rows], next=cursor))


# ------------------------------------------------------------------------------------------ regulator

REGULATOR_READ = Access(frozenset({Role.REGULATOR}), write=False)


@routes.get("/regulator/exposures")
@access(REGULATOR_READ)
@inject
async def exposures(request: web.Request) -> r200[dict] | r401[m.ErrorBody] | r403[m.ErrorBody] | r503[m.ErrorBody]:
    """Joint-lending exposures per bank and per cooperating partner against the 2021 notice's limits
    (25% of tier-1 net capital per partner, 50% of total loans overall), with breaches and their loans.

    Tags: regulator
    """
    report = await request.config_dict[POLICY].current()
    return web.json_response(report.to_dict())


@routes.get("/regulator/breaches")
@access(REGULATOR_READ)
@inject
async def breaches(request: web.Request) -> r200[dict] | r401[m.ErrorBody] | r403[m.ErrorBody] | r503[m.ErrorBody]:
    """Only the breached limit checks, the largest excess first, each with the loans that cause it.

    Tags: regulator
    """
    report = await request.config_dict[POLICY].current()
    return web.json_response({"index_block": report.index_block, "breaches": [c.to_dict() for c in report.breaches]})
