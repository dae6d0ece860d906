"""The API's typed shapes (pydantic): request bodies and responses, from which the OpenAPI document is
generated. Amounts are int fen; times ISO 8601."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ID_TEXT = r"^[\x21-\x7e]{1,32}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine code, clearing.<reason>")
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    ready: bool
    mode: Literal["bank", "regulator"]
    bank: str | None
    index_block: int | None
    chain_head: int | None
    index_lag: int | None
    follower_error: str | None


class WhoAmI(BaseModel):
    key_id: str
    role: str
    bank: str | None


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


class CycleSummary(BaseModel):
    cycle_id: int
    status: str
    entry_count: int
    gross_fen: int
    opened_block: int | None
    closed_block: int | None
    netted_block: int | None
    settled_block: int | None
    disputed_by: str | None


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


class RunProgress(BaseModel):
    run_id: str
    trigger: str
    started_at: str
    stage: str
    stage_number: int
    stages: int


class Run(BaseModel):
    run_id: str
    bank: str
    trigger: str
    started_at: str
    finished_at: str | None
    verdict: str | None
    error_code: str | None
    error_message: str | None
    statement: dict | None


class RunPage(BaseModel):
    items: list[Run]
    current: RunProgress | None
    next: str | None


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


class AuditEntry(BaseModel):
    seq: int
    at: str
    actor: str
    role: str
    bank: str | None
    method: str
    path: str
    status: int
    outcome: str


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next: str | None
