"""Who may call what: each handler declares the roles it admits and whether it writes.

Reads admit every role (scoped to the caller's bank, except a regulator's); writes admit clearing officers
only, so a viewer or a regulator gets 403 on every write. The middleware enforces it; the per-role route
test walks the route table to prove it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from clearing.errors import Forbidden, NotFound
from clearing.service.keys import Principal, Role

PRINCIPAL = web.RequestKey("colend.principal", Principal)  # the authenticated caller
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Access:
    roles: frozenset[Role]
    write: bool
    public: bool = False
    public_on_loopback: bool = False  # no key needed while the service listens on loopback only


ALL_ROLES = frozenset(Role)
READ = Access(ALL_ROLES, write=False)
OFFICER_WRITE = Access(frozenset({Role.CLEARING_OFFICER}), write=True)
PUBLIC = Access(ALL_ROLES, write=False, public=True)
# /metrics: a scraper on the same host needs no key; exposed beyond it, the gauges (every bank's exposures and
# limits) are read with a key, like any other read (Prometheus sends it as a header).
METRICS_READ = Access(ALL_ROLES, write=False, public_on_loopback=True)


def access(rule: Access) -> Callable[[F], F]:
    def mark(handler: F) -> F:
        handler.__colend_access__ = rule  # type: ignore[attr-defined]
        return handler

    return mark


def rule_of(handler: Any) -> Access | None:
    return getattr(handler, "__colend_access__", None)


def check(rule: Access, principal: Principal) -> None:
    if principal.role not in rule.roles:
        verb = "write" if rule.write else "read"
        raise Forbidden(f"role {principal.role} may not {verb} here")


def principal(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def scope(request: web.Request) -> str | None:
    """The bank whose data the caller sees (None: a regulator, every bank)."""
    return principal(request).scope


def own_bank(request: web.Request) -> str:
    """The caller's bank for a write; a write is always on behalf of the service's own bank."""
    who = principal(request)
    if who.bank is None:
        raise Forbidden("only a bank's officers write")
    return who.bank


def hidden(what: str) -> NotFound:
    """The one answer for 'does not exist' and 'not yours', so scope cannot be probed."""
    return NotFound(f"no {what}")
