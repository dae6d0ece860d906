"""The dashboard: server-rendered pages (aiohttp-jinja2), readable without JavaScript; plain forms for
assigning and resolving breaks and starting runs, each answered by a redirect back (post/redirect/get).

It reads through the same helpers as the API, so scope rules and amounts agree; amounts are shown in yuan
with thousands separators (contracts.money.fen, the one formatter), times in the bank's zone from the config.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import web

from clearing.errors import BadRequest, ClearingError, Unauthenticated
from clearing.recon.breaks import AGE_BUCKET_NAMES, BreakState, BreakType, first_seen_window
from clearing.service.access import OFFICER_WRITE, PRINCIPAL, PUBLIC, READ, access, principal, scope
from clearing.service.keys import Role
from clearing.service.middlewares import KEY_COOKIE
from clearing.service.routes.breaks import break_bank, break_model, break_write
from clearing.service.routes.breaks import today as zone_today
from clearing.service.routes.common import int_cursor, next_cursor
from clearing.service.routes.cycles import positions, settlement_status, visible_cycle
from clearing.service.routes.health import readiness
from clearing.service.routes.regulator import REGULATOR_READ
from clearing.service.routes.runs import run_manager
from clearing.service.state import BREAKS, CONFIG, KEYS, POLICY, RUN_HISTORY, RUNS, SETTLEMENT
from contracts.money import fen

TEMPLATES = Path(__file__).parent / "templates"
routes = web.RouteTableDef()
CHART_WIDTH, BAR_HEIGHT, LABEL_WIDTH, VALUE_WIDTH = 640, 24, 90, 130


def yuan(amount: int | None) -> str:
    return fen(amount)


def _context(request: web.Request, nav: str, **values: Any) -> dict[str, Any]:
    config = request.config_dict[CONFIG]
    who = request.get(PRINCIPAL)
    return {
        "service_name": config.bank or "regulator",
        "nav": nav,
        "who": who,
        "tz": str(config.timezone),
        "flash": request.query.get("flash"),
        **values,
    }


def position_chart(multilateral: list[dict[str, Any]]) -> dict[str, Any]:
    """Horizontal bars around a zero line: receivers right (green), payers left (red)."""
    plot = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    zero = LABEL_WIDTH + plot // 2
    largest = max((abs(p["position_fen"]) for p in multilateral), default=0) or 1
    bars = []
    for row, p in enumerate(multilateral):
        value = p["position_fen"]
        width = abs(value) * (plot // 2) // largest
        x = zero if value >= 0 else zero - width
        bars.append({"bank": p["bank"], "value": value, "y": 4 + row * BAR_HEIGHT, "w": max(width, 1), "x": x})
    return {"width": CHART_WIDTH, "height": 8 + BAR_HEIGHT * max(len(bars), 1), "zero": zero, "bars": bars}


@routes.get("/login")
@access(PUBLIC)
@aiohttp_jinja2.template("login.html")
async def login_form(request: web.Request) -> dict[str, Any]:
    return _context(request, "login")


@routes.post("/login")
@access(PUBLIC)
async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    key = str(form.get("api_key", ""))
    try:
        request.config_dict[KEYS].authenticate(key)
    except Unauthenticated as exc:
        return aiohttp_jinja2.render_template("login.html", request, _context(request, "login", error=exc.message), status=401)
    response = web.HTTPSeeOther("/dashboard/")
    response.set_cookie(KEY_COOKIE, key, httponly=True, samesite="Strict", path="/")
    raise response


@routes.get("/")
@access(READ)
@aiohttp_jinja2.template("cycles.html")
async def cycles_page(request: web.Request) -> dict[str, Any]:
    after = int_cursor(request.query.get("after"))
    cycles = request.config_dict[SETTLEMENT].cycles(bank=scope(request), after=after, limit=50)
    return _context(
        request, "cycles", cycles=cycles, ready=readiness(request),
        next=next_cursor(cycles, 50, lambda c: c.cycle_id),
    )  # fmt: skip


@routes.get("/cycles/{cycle_id:\\d{1,18}}")
@access(READ)
@aiohttp_jinja2.template("cycle.html")
async def cycle_page(request: web.Request) -> dict[str, Any]:
    cycle_id = int(request.match_info["cycle_id"])
    cycle = visible_cycle(request, cycle_id)
    store = request.config_dict[SETTLEMENT]
    detail = {
        "positions": positions(store, cycle_id).model_dump(),
        "settlement": settlement_status(store, cycle).model_dump(),
    }
    return _context(request, "cycles", cycle=cycle, detail=detail, chart=position_chart(detail["positions"]["multilateral"]))


@routes.get("/breaks")
@access(READ)
@aiohttp_jinja2.template("breaks.html")
async def breaks_page(request: web.Request) -> dict[str, Any]:
    query = request.query
    state = query.get("state") or None
    btype = query.get("type") or None
    assignee = query.get("assignee") or None
    age = query.get("age") or None
    if age is not None and age not in AGE_BUCKET_NAMES:
        raise BadRequest(f"unknown age bucket {age!r}")
    if state is not None and state not in BreakState.__members__:
        raise BadRequest(f"unknown break state {state!r}")
    if btype is not None and btype not in BreakType.__members__:
        raise BadRequest(f"unknown break type {btype!r}")
    bank = break_bank(request)
    today = zone_today(request)
    found = request.config_dict[BREAKS].page(
        bank, states=(BreakState(state),) if state else None, types=(btype,) if btype else None,
        assignee=assignee, first_seen_between=first_seen_window(age, today) if age else (None, None),
        after=query.get("after"), limit=100,
    )  # fmt: skip
    filters = {k: v for k, v in (("state", state), ("type", btype), ("assignee", assignee), ("age", age)) if v}
    cursor = next_cursor(found, 100, lambda b: b.break_id)
    more = None if cursor is None else "/dashboard/breaks?" + urlencode({**filters, "after": cursor})
    return _context(
        request, "breaks", bank=bank, breaks=[break_model(b, today).model_dump() for b in found],
        states=[s.value for s in BreakState], types=[t.value for t in BreakType], ages=AGE_BUCKET_NAMES, f=filters,
        back="/dashboard/breaks" + ("?" + urlencode(filters) if filters else ""),
        can_write=principal(request).role is Role.CLEARING_OFFICER, next=more,
    )  # fmt: skip


def _back(form: Any, fallback: str) -> str:
    back = str(form.get("back") or fallback)
    return back if back.startswith("/dashboard/") else fallback  # never redirect off the dashboard


def _with_flash(url: str, message: str) -> str:
    return url + ("&" if "?" in url else "?") + urlencode({"flash": message})


async def _break_form(request: web.Request, action: str) -> web.StreamResponse:
    form = await request.post()
    break_id = str(form.get("break_id", ""))
    back = _back(form, "/dashboard/breaks")
    kwargs = {"comment": str(form.get("comment", ""))}
    if action == "assign":
        kwargs["assignee"] = str(form.get("assignee", ""))
    if not break_id or not all(v.strip() for v in kwargs.values()):
        raise BadRequest("break id, comment (and assignee) are required")
    await break_write(request, action, break_id, **kwargs)
    raise web.HTTPSeeOther(_with_flash(back, f"{break_id}: {action} done"))


@routes.post("/breaks/assign")
@access(OFFICER_WRITE)
async def assign_form(request: web.Request) -> web.StreamResponse:
    return await _break_form(request, "assign")


@routes.post("/breaks/resolve")
@access(OFFICER_WRITE)
async def resolve_form(request: web.Request) -> web.StreamResponse:
    return await _break_form(request, "resolve")


@routes.get("/runs")
@access(READ)
@aiohttp_jinja2.template("runs.html")
async def runs_page(request: web.Request) -> dict[str, Any]:
    rows = request.config_dict[RUN_HISTORY].page(bank=scope(request), after=int_cursor(request.query.get("after")), limit=50)
    runs = request.config_dict.get(RUNS)
    return _context(
        request, "runs", runs=rows, current=None if runs is None else runs.current,
        can_write=runs is not None and principal(request).role is Role.CLEARING_OFFICER,
        next=next_cursor(rows, 50, lambda r: r.seq),
    )  # fmt: skip


@routes.post("/runs")
@access(OFFICER_WRITE)
async def start_run_form(request: web.Request) -> web.StreamResponse:
    progress = run_manager(request).start(f"dashboard:{principal(request).key_id}")
    raise web.HTTPSeeOther(_with_flash("/dashboard/runs", f"run {progress.run_id} started"))


@routes.get("/runs/{run_id}")
@access(READ)
@aiohttp_jinja2.template("run.html")
async def run_page(request: web.Request) -> dict[str, Any]:
    run = request.config_dict[RUN_HISTORY].get(request.match_info["run_id"], bank=scope(request))
    return _context(request, "runs", run=run, s=run.statement)


@routes.get("/exposures")
@access(REGULATOR_READ)
@aiohttp_jinja2.template("exposures.html")
async def exposures_page(request: web.Request) -> dict[str, Any]:
    try:
        report = (await request.config_dict[POLICY].current()).to_dict()
    except ClearingError as exc:
        return _context(request, "exposures", unavailable=exc.message, report=None)
    return _context(request, "exposures", report=report, unavailable=None)


def setup_templates(app: web.Application, timezone: dt.tzinfo) -> None:
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html"]))

    def local(text: str | None) -> str:
        if not text:
            return ""
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return text
        return moment.astimezone(timezone).strftime("%Y-%m-%d %H:%M:%S %Z")

    env.filters["yuan"] = yuan
    env.filters["local"] = local


def dashboard_app(timezone: dt.tzinfo) -> web.Application:
    app = web.Application()
    setup_templates(app, timezone)
    app.add_routes(routes)
    return app
