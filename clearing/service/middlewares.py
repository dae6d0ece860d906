"""The three middlewares, outermost first: errors (one JSON shape, stable codes, never a traceback),
audit (every write attempt, allowed or refused, logged), auth (API key -> principal -> role check)."""

from __future__ import annotations

import datetime as dt
import html
import ipaddress
import json
import logging
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from clearing.errors import (
    BadRequest,
    BooksError,
    ClearingError,
    Forbidden,
    IllegalTransition,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    UnknownBreak,
)
from clearing.service.access import PRINCIPAL, check, rule_of
from clearing.service.keys import Principal
from clearing.service.state import AUDIT, CONFIG, KEYS, METRICS

log = logging.getLogger("clearing.service.http")
API_KEY_HEADER = "X-API-Key"
KEY_COOKIE = "colend_key"
HTTP_CODES = {
    400: BadRequest,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
}
STATUS_OF = {UnknownBreak: 404, IllegalTransition: 409, BooksError: 400}


def error_response(code: str, message: str, status: int, *, html_page: bool = False) -> web.Response:
    if html_page:  # the dashboard answers people: the same code and message, as a page
        text = f"<!doctype html><title>{status}</title><h1>{status}</h1>"
        text += f"<p><code>{html.escape(code)}</code>: {html.escape(message)}</p>"
        text += '<p><a href="/dashboard/">back to the dashboard</a></p>'
        return web.Response(text=text, status=status, content_type="text/html")
    body = {"error": {"code": code, "message": message}}
    return web.json_response(body, status=status)


def _status(exc: ClearingError) -> int:
    if isinstance(exc, ServiceError):
        return exc.status
    for kind, status in STATUS_OF.items():
        if isinstance(exc, kind):
            return status
    return 500


def _wants_html(request: web.Request) -> bool:
    return request.path.startswith("/dashboard")


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    start = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except ClearingError as exc:
        status = _status(exc)
        if status >= 500:
            log.error("event=request_failed path=%s code=%s message=%r", request.path, exc.code, exc.message)
        if _wants_html(request) and status == 401:
            raise web.HTTPSeeOther("/dashboard/login") from None
        return error_response(exc.code, exc.message, status, html_page=_wants_html(request))
    except UnicodeDecodeError:  # a body that is not UTF-8 text, met while reading it as JSON or a form
        status = 400
        return error_response(BadRequest.code, "the request body is not UTF-8 text", 400, html_page=_wants_html(request))
    except web.HTTPException as exc:
        status = exc.status
        if exc.status < 400:
            raise
        kind = HTTP_CODES.get(exc.status)
        code = kind.code if kind is not None else f"clearing.http_{exc.status}"
        message = _http_message(exc)
        return error_response(code, message, exc.status, html_page=_wants_html(request))
    except Exception:
        log.exception("event=request_crashed path=%s", request.path)
        return error_response("clearing.internal", "internal error; see the service log", 500)
    finally:
        metrics = request.config_dict.get(METRICS)
        if metrics is not None:
            route = request.match_info.route.resource
            name = route.canonical if route is not None else "unmatched"
            metrics.observe(name, request.method, status, time.perf_counter() - start)


def _http_message(exc: web.HTTPException) -> str:
    text = exc.text or exc.reason
    try:
        parsed = json.loads(text)
    except (TypeError, ValueError):
        return text
    if isinstance(parsed, dict) and "error" in parsed:
        return str(parsed["error"])
    return json.dumps(parsed)[:500]


def _listens_on_loopback(request: web.Request) -> bool:
    host = request.config_dict[CONFIG].host
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def _presented_key(request: web.Request) -> str | None:
    return request.headers.get(API_KEY_HEADER) or request.cookies.get(KEY_COOKIE)


@web.middleware
async def audit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every write attempt lands in the audit log with its outcome: allowed, refused (no key, wrong role,
    another bank's key) or failed. It wraps auth, so even an attempt without a valid key is recorded."""
    rule = rule_of(request.match_info.handler)
    if rule is None or not rule.write:
        return await handler(request)
    status, outcome = 500, "error"
    try:
        response = await handler(request)
        status, outcome = response.status, "ok"
        return response
    except ClearingError as exc:
        status, outcome = _status(exc), exc.code
        raise
    except web.HTTPException as exc:
        status, outcome = exc.status, "ok" if exc.status < 400 else f"http_{exc.status}"
        raise
    finally:
        who: Principal | None = request.get(PRINCIPAL)
        request.config_dict[AUDIT].append(
            at=dt.datetime.now(dt.UTC), actor=who.key_id if who else "-", role=who.role.value if who else "-",
            bank=who.bank if who else None, method=request.method, path=request.path_qs, status=status, outcome=outcome,
        )  # fmt: skip


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """API key (header, or the dashboard's cookie) -> principal; the handler's rule decides the role."""
    rule = rule_of(request.match_info.handler)
    if rule is None or rule.public or (rule.public_on_loopback and _listens_on_loopback(request)):
        return await handler(request)
    who = request.config_dict[KEYS].authenticate(_presented_key(request))
    request[PRINCIPAL] = who
    config = request.config_dict[CONFIG]
    if config.mode == "bank" and who.bank is not None and who.bank != config.bank:
        raise Forbidden(f"this service serves {config.bank}; key {who.key_id} belongs to {who.bank}")
    check(rule, who)
    return await handler(request)
