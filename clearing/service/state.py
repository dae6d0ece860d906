"""Typed app state (aiohttp AppKey): every resource the handlers use, set up by the cleanup contexts."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from clearing.indexer.store import IndexStore
from clearing.recon.break_store import BreakStore
from clearing.service.approvals import ApprovalStore
from clearing.service.audit import AuditLog
from clearing.service.config import ServiceConfig
from clearing.service.keys import KeyRing
from clearing.service.metrics import ServiceMetrics
from clearing.service.policy_view import PolicyView
from clearing.service.runs import RunHistory, RunManager
from clearing.service.signer import SettlementSigner
from clearing.settlement.store import SettlementStore


@dataclass
class FollowState:
    """Where the index stands against the node, as the follower task last saw it."""

    head: int | None = None
    error: str | None = None
    syncs: int = 0


CONFIG = web.AppKey("config", ServiceConfig)
KEYS = web.AppKey("keys", KeyRing)
INDEX = web.AppKey("index", IndexStore)
SETTLEMENT = web.AppKey("settlement", SettlementStore)
BREAKS = web.AppKey("breaks", BreakStore)
AUDIT = web.AppKey("audit", AuditLog)
APPROVALS = web.AppKey("approvals", ApprovalStore)
RUN_HISTORY = web.AppKey("run_history", RunHistory)
RUNS = web.AppKey("runs", RunManager)
SIGNER = web.AppKey("signer", SettlementSigner)
FOLLOW = web.AppKey("follow", FollowState)
METRICS = web.AppKey("metrics", ServiceMetrics)
POLICY = web.AppKey("policy", PolicyView)
STATUS_CACHE = web.AppKey("status_cache", dict)  # (cycle, scope) -> (settlement version, JSON body)
