"""The service itself: liveness, readiness (how far the index follows the node) and whom it takes the caller for."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from aiohttp_pydantic.oas.typing import r200, r401, r503
from pydantic import BaseModel

from clearing.service.access import PUBLIC, READ, principal
from clearing.service.routes.common import ApiRoutes, ErrorBody, reply
from clearing.service.state import CONFIG, FOLLOW, INDEX

routes = ApiRoutes("health")


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


@routes.get("/health", PUBLIC)
async def health(request: web.Request) -> r200[Health]:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


def readiness(request: web.Request) -> Readiness:
    config = request.config_dict[CONFIG]
    follow = request.config_dict[FOLLOW]
    block = request.config_dict[INDEX].last_block()
    lag = None if follow.head is None else max(follow.head - (-1 if block is None else block), 0)
    ready = config.node is None or (follow.error is None and follow.syncs > 0)
    return Readiness(
        ready=ready, mode=config.mode, bank=config.bank, index_block=block, chain_head=follow.head,
        index_lag=lag, follower_error=follow.error,
    )  # fmt: skip


@routes.get("/ready", PUBLIC)
async def ready(request: web.Request) -> r200[Readiness] | r503[Readiness]:
    """Readiness: the index follows the node (lag is reported; a follower error makes it not ready)."""
    state = readiness(request)
    return web.json_response(state.model_dump(), status=200 if state.ready else 503)


@routes.get("/whoami", READ, tag="access")
async def whoami(request: web.Request) -> r200[WhoAmI] | r401[ErrorBody]:
    """The caller's key id, role and bank."""
    who = principal(request)
    return reply(WhoAmI(key_id=who.key_id, role=who.role.value, bank=who.bank))
