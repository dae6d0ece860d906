"""Reconciliation runs: start one now, the history with each run's statement, and the run going now."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from aiohttp_pydantic.oas.typing import r202, r401, r403, r409, r503
from pydantic import BaseModel, Field, WithJsonSchema

from clearing.errors import NotReady
from clearing.recon.statement import Statement
from clearing.service.access import OFFICER_WRITE, READ, principal, scope
from clearing.service.routes.common import ApiRoutes, Cursor, ErrorBody, Found, Limit, Listed, int_cursor, page_reply, reply
from clearing.service.runs import RunManager, RunRow
from clearing.service.state import RUN_HISTORY, RUNS

routes = ApiRoutes("reconciliation")
# the engine's statement itself, documented as a JSON object as it always was (its fields: clearing.recon.statement)
StatementObject = Annotated[Statement, WithJsonSchema({"additionalProperties": True, "type": "object"})]


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
    statement: StatementObject | None = Field(title="Statement")


class RunPage(BaseModel):
    items: list[Run]
    current: RunProgress | None
    next: str | None


def run_manager(request: web.Request) -> RunManager:
    runs = request.config_dict.get(RUNS)
    if runs is None:
        raise NotReady("no books configured: this service does not reconcile")
    return runs


def progress_model(request: web.Request) -> RunProgress | None:
    runs = request.config_dict.get(RUNS)
    current = None if runs is None else runs.current
    return None if current is None else RunProgress(**current.__dict__)


@routes.post("/runs", OFFICER_WRITE)
async def start_run(
    request: web.Request,
) -> r202[RunProgress] | r401[ErrorBody] | r403[ErrorBody] | r409[ErrorBody] | r503[ErrorBody]:
    """Start a reconciliation run now; it runs in the background (poll GET /v1/runs/current)."""
    progress = run_manager(request).start(f"request:{principal(request).key_id}")
    return reply(RunProgress(**progress.__dict__), status=202)


def run_model(row: RunRow) -> Run:
    return Run(
        run_id=row.run_id, bank=row.bank, trigger=row.trigger, started_at=row.started_at, finished_at=row.finished_at,
        verdict=row.verdict, error_code=row.error_code, error_message=row.error_message, statement=row.statement,
    )  # fmt: skip


@routes.get("/runs", READ)
async def list_runs(request: web.Request, after: Cursor = None, limit: Limit = 20) -> Listed[RunPage]:
    """Reconciliation runs, newest first, with their statements; `current` is the run going now."""
    rows = request.config_dict[RUN_HISTORY].page(bank=scope(request), after=int_cursor(after), limit=limit)
    return page_reply(RunPage, rows, limit, lambda r: r.seq, run_model, current=progress_model(request))


@routes.get("/runs/{run_id}", READ)
async def get_run(request: web.Request, run_id: Annotated[str, Field(max_length=120)], /) -> Found[Run]:
    """One run and its statement (figures per kind, residual, verdict)."""
    return reply(run_model(request.config_dict[RUN_HISTORY].get(run_id, bank=scope(request))))
