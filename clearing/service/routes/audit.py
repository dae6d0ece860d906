"""The append-only audit log of write attempts, as the API pages it."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from clearing.service.access import READ, scope
from clearing.service.audit import AuditEntry
from clearing.service.routes.common import ApiRoutes, Cursor, Limit, Listed, int_cursor, page_reply
from clearing.service.state import AUDIT

routes = ApiRoutes("access")


class AuditPage(BaseModel):
    items: list[AuditEntry]  # the log's own rows: their fields are written once, in clearing.service.audit
    next: str | None


@routes.get("/audit", READ)
async def list_audit(request: web.Request, after: Cursor = None, limit: Limit = 50) -> Listed[AuditPage]:
    """The append-only audit log of write attempts (the bank's own; every bank's for a regulator)."""
    rows = request.config_dict[AUDIT].page(bank=scope(request), after=int_cursor(after), limit=limit)
    return page_reply(AuditPage, rows, limit, lambda r: r.seq)
