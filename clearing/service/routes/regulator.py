"""The regulator's views: joint-lending exposures against the 2021 notice's limits, and only the breaches."""

from __future__ import annotations

from aiohttp import web
from aiohttp_pydantic.oas.typing import r200, r401, r403, r503

from clearing.service.access import Access
from clearing.service.keys import Role
from clearing.service.routes.common import ApiRoutes, ErrorBody
from clearing.service.state import POLICY

REGULATOR_READ = Access(frozenset({Role.REGULATOR}), write=False)
routes = ApiRoutes("regulator")


@routes.get("/regulator/exposures", REGULATOR_READ)
async def exposures(request: web.Request) -> r200[dict] | r401[ErrorBody] | r403[ErrorBody] | r503[ErrorBody]:
    """Joint-lending exposures per bank and per cooperating partner against the 2021 notice's limits
    (25% of tier-1 net capital per partner, 50% of total loans overall), with breaches and their loans."""
    report = await request.config_dict[POLICY].current()
    return web.json_response(report.to_dict())


@routes.get("/regulator/breaches", REGULATOR_READ)
async def breaches(request: web.Request) -> r200[dict] | r401[ErrorBody] | r403[ErrorBody] | r503[ErrorBody]:
    """Only the breached limit checks, the largest excess first, each with the loans that cause it."""
    report = await request.config_dict[POLICY].current()
    return web.json_response({"index_block": report.index_block, "breaches": [c.to_dict() for c in report.breaches]})
