"""The service's aiohttp application: one app per concern (API under /v1, dashboard, metrics, health),
typed AppKey state, resources opened and closed by cleanup contexts, middlewares for errors, auth, audit.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from clearing.indexer.store import IndexStore
from clearing.recon.break_store import BreakStore
from clearing.service import openapi
from clearing.service.access import METRICS_READ, PUBLIC, access
from clearing.service.approvals import ApprovalStore
from clearing.service.audit import AuditLog
from clearing.service.background import discover, follow, refresh_policy, schedule_runs
from clearing.service.config import ServiceConfig
from clearing.service.dashboard import dashboard_app
from clearing.service.keys import KeyRing
from clearing.service.metrics import Gauges, ServiceMetrics
from clearing.service.middlewares import audit_middleware, auth_middleware, errors_middleware
from clearing.service.policy_view import PolicyView
from clearing.service.routes import audit, breaks, cycles, entries, health, loans, payments, regulator, runs
from clearing.service.runs import RunHistory, RunManager
from clearing.service.signer import SettlementSigner
from clearing.service.state import (
    APPROVALS,
    AUDIT,
    BREAKS,
    CONFIG,
    FOLLOW,
    INDEX,
    KEYS,
    METRICS,
    POLICY,
    RUN_HISTORY,
    RUNS,
    SETTLEMENT,
    SIGNER,
    STATUS_CACHE,
    FollowState,
)
from clearing.settlement.store import SettlementStore

log = logging.getLogger("clearing.service")
POLICY_REFRESH_S = 10.0
RESOURCES = (health, loans, cycles, payments, entries, runs, breaks, audit, regulator)  # the OpenAPI document's order


async def stores_ctx(app: web.Application) -> AsyncIterator[None]:
    """The index, settlement view, break store (reads), audit log, approvals and run history."""
    config = app[CONFIG]
    config.data_dir.mkdir(parents=True, exist_ok=True)
    app[INDEX] = IndexStore(config.index_dir)
    app[SETTLEMENT] = SettlementStore(config.db("settlement"))
    app[BREAKS] = BreakStore(config.db("breaks"))
    app[AUDIT] = AuditLog(config.db("audit"))
    app[APPROVALS] = ApprovalStore(config.db("approvals"))
    app[RUN_HISTORY] = RunHistory(config.db("runs"))
    app[RUN_HISTORY].abandon_unfinished(dt.datetime.now(dt.UTC).isoformat())
    app[POLICY] = PolicyView(app[INDEX])
    settlement = app[SETTLEMENT]

    def recorded_ref(cycle_id: int, index: int) -> str | None:
        instruction = settlement.instruction(cycle_id, index)
        return None if instruction is None else instruction.payment_ref

    app[APPROVALS].recover(recorded_ref)
    yield
    await app[POLICY].drain()  # a report's thread may still be reading the index
    for key in (RUN_HISTORY, APPROVALS, AUDIT, BREAKS, SETTLEMENT, INDEX):
        app[key].close()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def follower_ctx(app: web.Application) -> AsyncIterator[None]:
    """Follows the node into the index and the settlement view; the signer needs the suite's addresses."""
    config = app[CONFIG]
    if config.node is None:
        yield
        return
    node = config.node

    async def run() -> None:
        suite = await discover(node.url, node.deployment, app[FOLLOW])
        if node.account_key_file is not None and config.mode == "bank":
            app[SIGNER] = SettlementSigner(node.url, suite.addresses, node.account_key_file)
        await follow(node.url, suite, app[INDEX], app[SETTLEMENT], app[FOLLOW], node.poll_s)

    task = asyncio.create_task(run(), name="follower")
    yield
    await _cancel(task)
    signer = app.get(SIGNER)
    if signer is not None:
        signer.close()


async def runs_ctx(app: web.Application) -> AsyncIterator[None]:
    """Reconciliation runs and their scheduler (bank mode with [books] only)."""
    config = app[CONFIG]
    if config.books is None or config.bank is None:
        yield
        return
    follow_state = app[FOLLOW]
    runs = RunManager(
        bank=config.bank, books=config.books, index=app[INDEX], breaks_db=config.db("breaks"),
        history=app[RUN_HISTORY], timezone=config.timezone, chain_head=lambda: follow_state.head,
    )  # fmt: skip
    app[RUNS] = runs
    task = None
    if config.books.schedule_s > 0 or config.books.watch_s > 0:
        task = asyncio.create_task(schedule_runs(runs, every_s=config.books.schedule_s, watch_s=config.books.watch_s))
    yield
    if task is not None:
        await _cancel(task)
    await runs.wait()
    runs.close()


def _gauges(app: web.Application) -> Gauges:
    config = app[CONFIG]
    runs = app.get(RUNS)
    return Gauges(
        index_block=app[INDEX].last_block(),
        chain_head=app[FOLLOW].head,
        open_breaks=app[BREAKS].counts(config.bank),
        today=dt.datetime.now(config.timezone).date(),
        run_active=runs is not None and runs.current is not None,
        exposures=app[POLICY].gauges(),
    )


async def metrics_ctx(app: web.Application) -> AsyncIterator[None]:
    """Gauges read at scrape time; in regulator mode the policy report (heavy: every bank's records) is
    refreshed in the background instead."""
    app[METRICS].attach(lambda: _gauges(app))
    if app[CONFIG].mode != "regulator":  # a bank's service computes the report only when asked for it
        yield
        return
    task = asyncio.create_task(refresh_policy(app[POLICY], every_s=POLICY_REFRESH_S), name="policy")
    yield
    await _cancel(task)


def metrics_app() -> web.Application:
    app = web.Application()

    @access(METRICS_READ)
    async def metrics(request: web.Request) -> web.Response:
        body = request.config_dict[METRICS].render()
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    app.router.add_get("", metrics)
    return app


def api_app(title: str) -> web.Application:
    app = web.Application()
    for resource in RESOURCES:
        app.add_routes(resource.routes)
    openapi.attach(app, title)
    return app


def build_app(config: ServiceConfig, keys: KeyRing | None = None) -> web.Application:
    app = web.Application(
        middlewares=[errors_middleware, audit_middleware, auth_middleware],
        client_max_size=config.max_body_bytes,
    )
    app[CONFIG] = config
    app[KEYS] = keys if keys is not None else KeyRing.load(config.keys_file)
    app[FOLLOW] = FollowState()
    app[METRICS] = ServiceMetrics()
    app[STATUS_CACHE] = {}
    app.cleanup_ctx.extend([stores_ctx, follower_ctx, runs_ctx, metrics_ctx])
    name = config.bank or "regulator"
    app.add_subapp("/v1", api_app(f"Colend clearing service ({name})"))
    app.add_subapp("/dashboard", dashboard_app(config.timezone))
    app.add_subapp("/metrics", metrics_app())

    @access(PUBLIC)
    async def root(request: web.Request) -> web.Response:
        raise web.HTTPFound("/dashboard/")

    app.router.add_get("/", root)
    return app
