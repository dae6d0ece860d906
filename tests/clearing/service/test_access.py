"""Every route, every role: allowed or refused as the access rules say, walked from the route table so a
new route without a sample request fails here."""

from __future__ import annotations

from dataclasses import replace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from clearing.service.access import METRICS_READ, OFFICER_WRITE, PUBLIC, READ, rule_of
from clearing.service.app import build_app
from clearing.service.routes.regulator import REGULATOR_READ
from clearing.service.state import AUDIT
from tests.clearing.service.conftest import as_
from tests.clearing.service.world import key_of, keyring

BREAK = "AMOUNT_MISMATCH/CLEARING_ENTRY/E2"
# route (method, canonical path) -> a concrete request: (path, JSON body or form)
SAMPLES: dict[tuple[str, str], tuple[str, object]] = {
    ("GET", "/"): ("/", None),
    ("GET", "/v1/health"): ("/v1/health", None),
    ("GET", "/v1/ready"): ("/v1/ready", None),
    ("GET", "/v1/whoami"): ("/v1/whoami", None),
    ("GET", "/v1/loans"): ("/v1/loans", None),
    ("GET", "/v1/loans/{loan_id}"): ("/v1/loans/LN-1", None),
    ("GET", "/v1/cycles"): ("/v1/cycles", None),
    ("GET", "/v1/cycles/{cycle_id}"): ("/v1/cycles/1", None),
    ("GET", "/v1/cycles/{cycle_id}/positions"): ("/v1/cycles/1/positions", None),
    ("GET", "/v1/cycles/{cycle_id}/instructions"): ("/v1/cycles/1/instructions", None),
    ("GET", "/v1/cycles/{cycle_id}/status"): ("/v1/cycles/1/status", None),
    ("POST", "/v1/cycles/{cycle_id}/confirm"): ("/v1/cycles/1/confirm", {}),
    ("POST", "/v1/cycles/{cycle_id}/instructions/{index}/payment"): (
        "/v1/cycles/3/instructions/0/payment",
        {"payment_ref": "CNAPS-1"},
    ),
    ("GET", "/v1/payments"): ("/v1/payments", None),
    ("POST", "/v1/payments/{proposal_id}/approve"): ("/v1/payments/1/approve", {}),
    ("POST", "/v1/payments/{proposal_id}/reject"): ("/v1/payments/1/reject", {}),
    ("POST", "/v1/cycles/{cycle_id}/instructions/{index}/acknowledge"): ("/v1/cycles/1/instructions/0/acknowledge", {}),
    ("GET", "/v1/entries"): ("/v1/entries", None),
    ("POST", "/v1/runs"): ("/v1/runs", {}),
    ("GET", "/v1/runs"): ("/v1/runs", None),
    ("GET", "/v1/runs/{run_id}"): ("/v1/runs/nope", None),
    ("GET", "/v1/breaks"): ("/v1/breaks", None),
    ("GET", "/v1/breaks/{break_id}"): (f"/v1/breaks/{BREAK}", None),
    ("POST", "/v1/breaks/{break_id}/assign"): (f"/v1/breaks/{BREAK}/assign", {"assignee": "bob", "comment": "look"}),
    ("POST", "/v1/breaks/{break_id}/comment"): (f"/v1/breaks/{BREAK}/comment", {"comment": "note"}),
    ("POST", "/v1/breaks/{break_id}/resolve"): (f"/v1/breaks/{BREAK}/resolve", {"comment": "fixed"}),
    ("GET", "/v1/audit"): ("/v1/audit", None),
    ("GET", "/v1/regulator/exposures"): ("/v1/regulator/exposures", None),
    ("GET", "/v1/regulator/breaches"): ("/v1/regulator/breaches", None),
    ("GET", "/v1/openapi.json"): ("/v1/openapi.json", None),
    ("GET", "/v1/docs"): ("/v1/docs", None),
    ("GET", "/metrics"): ("/metrics", None),
    ("GET", "/dashboard/login"): ("/dashboard/login", None),
    ("POST", "/dashboard/login"): ("/dashboard/login", {"api_key": "nobody.x"}),
    ("GET", "/dashboard/"): ("/dashboard/", None),
    ("GET", "/dashboard/cycles/{cycle_id}"): ("/dashboard/cycles/1", None),
    ("GET", "/dashboard/breaks"): ("/dashboard/breaks", None),
    ("POST", "/dashboard/breaks/assign"): ("/dashboard/breaks/assign", {"break_id": BREAK, "assignee": "bob", "comment": "x"}),
    ("POST", "/dashboard/breaks/resolve"): ("/dashboard/breaks/resolve", {"break_id": BREAK, "comment": "x"}),
    ("GET", "/dashboard/runs"): ("/dashboard/runs", None),
    ("POST", "/dashboard/runs"): ("/dashboard/runs", {}),
    ("GET", "/dashboard/runs/{run_id}"): ("/dashboard/runs/nope", None),
    ("GET", "/dashboard/exposures"): ("/dashboard/exposures", None),
}
CALLERS = ("alice", "vera", "rita", "mallory", None)  # officer, viewer, regulator, another bank's officer, no key


def route_table(app: web.Application) -> list[tuple[str, str, object]]:
    """(method, canonical path, handler) of every route of the app and its sub-apps, HEAD left out."""
    found = []
    for resource in app.router.resources():
        sub = getattr(resource, "_app", None)
        if sub is not None:
            prefix = resource.canonical
            for inner in sub.router.resources():
                for route in inner:
                    if route.method != "HEAD":
                        path = inner.canonical if inner.canonical.startswith(prefix) else prefix + inner.canonical
                        found.append((route.method, path.replace("{break_id:.+}", "{break_id}"), route.handler))
            continue
        for route in resource:
            if route.method != "HEAD":
                found.append((route.method, resource.canonical, route.handler))
    return found


def expected(rule, caller: str | None) -> str:
    if rule is PUBLIC or rule is METRICS_READ:  # the test service listens on loopback
        return "allowed"
    if caller is None:
        return "unauthenticated"
    if caller == "mallory":  # a key of another bank is refused by this bank's service
        return "forbidden"
    if rule is READ:
        return "allowed"
    if rule is OFFICER_WRITE:
        return "allowed" if caller == "alice" else "forbidden"
    if rule is REGULATOR_READ:
        return "allowed" if caller == "rita" else "forbidden"
    raise AssertionError(f"unknown rule {rule}")


async def test_every_route_has_a_sample_and_a_rule(client) -> None:
    table = route_table(client.server.app)
    assert {(m, p) for m, p, _ in table} == set(SAMPLES)
    assert all(rule_of(handler) is not None for _, _, handler in table)


@pytest.mark.parametrize("caller", CALLERS)
async def test_each_role_is_allowed_or_refused_on_every_route(client, caller) -> None:
    writes = 0
    for method, path, handler in route_table(client.server.app):
        rule = rule_of(handler)
        url, body = SAMPLES[(method, path)]
        if (method, path) == ("POST", "/dashboard/login"):  # signing in is public; a wrong key is refused
            body = {"api_key": key_of(caller) if caller else "nobody.x"}
        kwargs: dict = {"headers": as_(caller), "allow_redirects": False}
        if body is not None:
            kwargs["data" if path.startswith("/dashboard") else "json"] = body
        response = await client.request(method, url, **kwargs)
        outcome = {401: "unauthenticated", 403: "forbidden"}.get(response.status, "allowed")
        if path.startswith("/dashboard") and response.status == 303 and response.headers["Location"] == "/dashboard/login":
            outcome = "unauthenticated"
        want = expected(rule, caller) if (method, path, caller) != ("POST", "/dashboard/login", None) else "unauthenticated"
        assert outcome == want, f"{caller} {method} {url}: {response.status} {await response.text()}"
        assert response.status < 500 or response.status in (502, 503), f"{method} {url}: {response.status}"
        if response.status >= 400 and not path.startswith("/dashboard") and path != "/metrics":
            error = (await response.json())["error"]
            assert error["code"].startswith("clearing.") and error["message"]
        writes += rule.write
    audit = client.server.app[AUDIT].page(bank=None, after=None, limit=500)
    assert len(audit) == writes  # every write attempt, allowed or refused, is in the audit log
    assert {e.actor for e in audit} == {caller or "-"}


async def test_metrics_need_a_key_once_the_service_listens_beyond_loopback(world, signer) -> None:
    """Exposures and limits are every bank's figures: a scraper on the host reads them, anyone else shows a key."""
    for host, anonymous in (("127.0.0.1", 200), ("::1", 200), ("localhost", 200), ("0.0.0.0", 401), ("10.1.2.3", 401)):
        app = build_app(replace(world.config, host=host), keyring())
        async with TestClient(TestServer(app)) as client:
            assert (await client.get("/metrics")).status == anonymous, host
            assert (await client.get("/metrics", headers=as_("vera"))).status == 200  # a viewer's key
            refused = 403 if anonymous == 401 else 200  # exposed: another bank's key is refused like anywhere else
            assert (await client.get("/metrics", headers=as_("mallory"))).status == refused
