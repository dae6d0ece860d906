"""The JSON-RPC server: one standard Ethereum endpoint per ledger group the node holds, one app factory.

Each group is served at /g/<group> (POST for HTTP, GET upgraded to a WebSocket for subscriptions), and / is
the node's default group: with one group, / and /g/<group> are the same endpoint. A path naming a group the
node does not hold is answered 404 with the error node.unknown_group (node/rpc/endpoints.py), after the
exposure middlewares, which guard every path alike. Endpoints are added and removed while the server runs.

HTTP requests are dispatched on worker threads, never on the event loop, and small requests (a call, a
read, a few txs) on threads of their own: a batch of a hundred raw txs (prepared by a worker process, then
admitted) never holds up the eth_call behind it, not even by taking every thread, and the loop only moves
bytes. The backend is thread-safe for that (reads come from the committed state, admission has
its lock). WebSocket messages stay on the loop, in order per connection. Notifications may arrive from any
thread and are handed to the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import ssl
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from node.errors import NodeError
from node.log_group import in_group
from node.rpc.backend.api import JsonDict, NodeBackend
from node.rpc.dispatch import Dispatcher
from node.rpc.endpoints import DEFAULT_GROUP, GROUP_PATH, Endpoint, RpcEndpoints, group_path
from node.rpc.errors import InternalError, InvalidRequest, LimitExceeded, MethodNotFound, UnknownGroup, error_data
from node.rpc.limits import RpcLimits
from node.rpc.logfmt import log_event
from node.rpc.subscriptions import SubscriptionSession

logger = logging.getLogger("colend.rpc")

ENDPOINTS = web.AppKey("rpc_endpoints", RpcEndpoints)
LIMITS = web.AppKey("rpc_limits", RpcLimits)
DISPATCHER = web.AppKey("rpc_dispatcher", Dispatcher)  # the default group's, as the app starts
WEBSOCKETS = web.AppKey("rpc_websockets", weakref.WeakSet[web.WebSocketResponse])
WORKERS = web.AppKey("rpc_workers", ThreadPoolExecutor)
LIGHT_WORKERS = web.AppKey("rpc_light_workers", ThreadPoolExecutor)

HTTP_WORKER_THREADS = 4  # big bodies: batches of txs
LIGHT_WORKER_THREADS = 2  # bodies under LIGHT_BODY_BYTES: single calls and reads
LIGHT_BODY_BYTES = 16_384

Middleware = Callable[[web.Request, Callable[[web.Request], Awaitable[web.StreamResponse]]],
                      Awaitable[web.StreamResponse]]
WS_HEARTBEAT_SECONDS = 30.0
SHUTDOWN_TIMEOUT_SECONDS = 5.0


def create_app(backend: NodeBackend, *, group: str = DEFAULT_GROUP, limits: RpcLimits | None = None,
               middlewares: Sequence[Middleware] = ()) -> web.Application:
    """The JSON-RPC application of one node: `backend` is its default group `group`, at / and /g/<group>; more
    groups join with add_endpoint. All state hangs off the app. `middlewares` run inside the error middleware
    (e.g. node/rpc/exposure.py's caller authentication), on every path."""
    limits = limits or RpcLimits()
    app = web.Application(client_max_size=limits.max_body_bytes, middlewares=[_error_middleware, *middlewares])
    endpoints = RpcEndpoints(limits, default=group)
    app[ENDPOINTS] = endpoints
    app[LIMITS] = limits
    app[DISPATCHER] = endpoints.add(group, backend).dispatcher
    app[WEBSOCKETS] = weakref.WeakSet()
    app[WORKERS] = ThreadPoolExecutor(HTTP_WORKER_THREADS, thread_name_prefix="colend-rpc")
    app[LIGHT_WORKERS] = ThreadPoolExecutor(LIGHT_WORKER_THREADS, thread_name_prefix="colend-rpc-light")
    app.router.add_post("/", _post_default)
    app.router.add_get("/", _get_default)
    app.router.add_post(GROUP_PATH, _post_group)
    app.router.add_get(GROUP_PATH, _get_group)
    app.on_startup.append(_adopt_dispatcher)
    app.on_shutdown.append(_close_websockets)
    app.on_cleanup.append(_stop_workers)
    return app


def add_endpoint(app: web.Application, name: str, backend: NodeBackend) -> None:
    """Serve another group at /g/<name>, at once; on the server's event loop."""
    app[ENDPOINTS].add(name, backend)
    log_event(logger, logging.INFO, "rpc_endpoint_added", group=name, path=group_path(name), chain_id=backend.chain_id)


async def remove_endpoint(app: web.Application, name: str) -> None:
    """Stop serving a group: its path answers node.unknown_group from now on, and its WebSockets (with their
    subscriptions) are closed; a request already on a worker thread still completes against its backend."""
    endpoint = app[ENDPOINTS].remove(name)
    await _close(endpoint.sockets, b"group no longer served")
    log_event(logger, logging.INFO, "rpc_endpoint_removed", group=name, path=group_path(name))


async def _adopt_dispatcher(app: web.Application) -> None:
    # app[DISPATCHER] may have been replaced before the app started (tests do); / then serves through it.
    endpoints = app[ENDPOINTS]
    if endpoints.default in endpoints:
        endpoints.use_dispatcher(endpoints.default, app[DISPATCHER])


async def _stop_workers(app: web.Application) -> None:
    app[WORKERS].shutdown(wait=False, cancel_futures=True)
    app[LIGHT_WORKERS].shutdown(wait=False, cancel_futures=True)


async def serve(
    backend: NodeBackend, host: str, port: int, *, group: str = DEFAULT_GROUP, limits: RpcLimits | None = None,
    middlewares: Sequence[Middleware] = (), ssl_context: ssl.SSLContext | None = None,
) -> RpcServer:
    """Start listening; the caller owns the server and calls `await server.cleanup()` to stop."""
    runner = web.AppRunner(
        create_app(backend, group=group, limits=limits, middlewares=middlewares), access_log=None,
        shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    await site.start()
    server = RpcServer(runner)
    log_event(logger, logging.INFO, "rpc_listening", host=host, port=bound_port(server), default_group=group)
    return server


class RpcServer:
    """A listening JSON-RPC server: its endpoints can be added and removed while it runs."""

    def __init__(self, runner: web.AppRunner) -> None:
        self.runner = runner

    @property
    def app(self) -> web.Application:
        return self.runner.app

    @property
    def addresses(self) -> list[Any]:
        return self.runner.addresses

    @property
    def endpoints(self) -> RpcEndpoints:
        return self.app[ENDPOINTS]

    def add_endpoint(self, name: str, backend: NodeBackend) -> None:
        add_endpoint(self.app, name, backend)

    async def remove_endpoint(self, name: str) -> None:
        await remove_endpoint(self.app, name)

    async def cleanup(self) -> None:
        await self.runner.cleanup()


def bound_port(server: RpcServer | web.AppRunner) -> int:
    """The TCP port actually bound (useful with port 0)."""
    return int(server.addresses[0][1])


def _error_response(status: int, error: NodeError) -> web.Response:
    body = {"code": error.rpc_code, "message": error.message, "data": error_data(error)}
    return web.json_response({"jsonrpc": "2.0", "id": None, "error": body}, status=status)


@web.middleware
async def _error_middleware(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    """HTTP-level failures as JSON-RPC error bodies; nothing a client sends brings the server down."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status == 404:
            error = MethodNotFound(f"no JSON-RPC endpoint at {request.path[:80]}; use / or /g/<group>")
            return _error_response(404, error)
        if exc.status == 413:
            return _body_too_large(request)
        return _error_response(exc.status, InvalidRequest(f"{exc.status} {exc.reason}"))
    except UnknownGroup as exc:
        log_event(logger, logging.INFO, "rpc_error", code=exc.rpc_code, kind=exc.code, peer=request.remote,
                  path=request.path[:80])
        return _error_response(404, exc)
    except Exception as exc:
        log_event(
            logger, logging.ERROR, "rpc_http_internal_error",
            path=request.path[:80], peer=request.remote, exc_type=type(exc).__name__, exc=str(exc),
        )
        return _error_response(500, InternalError("internal error"))


def _body_too_large(request: web.Request) -> web.Response:
    limit = request.app[LIMITS].max_body_bytes
    log_event(
        logger, logging.INFO, "rpc_error", code=-32600, kind="body_too_large", peer=request.remote,
        content_length=request.content_length, limit=limit,
    )
    return _error_response(
        413, InvalidRequest(f"request body too large, limit {limit} bytes", data={"limit": limit})
    )


async def _post_default(request: web.Request) -> web.StreamResponse:
    return await _handle_http(request, request.app[ENDPOINTS].default_endpoint())


async def _post_group(request: web.Request) -> web.StreamResponse:
    return await _handle_http(request, request.app[ENDPOINTS].endpoint(request.match_info["group"]))


async def _get_default(request: web.Request) -> web.StreamResponse:
    return await _handle_get(request, request.app[ENDPOINTS].default_endpoint())


async def _get_group(request: web.Request) -> web.StreamResponse:
    return await _handle_get(request, request.app[ENDPOINTS].endpoint(request.match_info["group"]))


async def _handle_http(request: web.Request, endpoint: Endpoint) -> web.StreamResponse:
    limit = request.app[LIMITS].max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return _body_too_large(request)
    body = await request.read()  # raises 413 past client_max_size, for bodies without a length
    handle = functools.partial(in_group, endpoint.name, endpoint.dispatcher.handle, body, None,
                               peer=request.remote or "-")
    workers = request.app[LIGHT_WORKERS if len(body) < LIGHT_BODY_BYTES else WORKERS]
    reply = await asyncio.get_running_loop().run_in_executor(workers, handle)
    if reply is None:
        return web.Response(status=204)
    return web.Response(text=reply, content_type="application/json")


async def _handle_get(request: web.Request, endpoint: Endpoint) -> web.StreamResponse:
    app = request.app
    limits = app[LIMITS]
    ws = web.WebSocketResponse(max_msg_size=limits.max_body_bytes, heartbeat=WS_HEARTBEAT_SECONDS)
    if not ws.can_prepare(request).ok:
        error = InvalidRequest("use POST for JSON-RPC over HTTP, or GET with a WebSocket upgrade")
        return _error_response(405, error)
    if len(app[WEBSOCKETS]) >= limits.max_ws_connections:
        error = LimitExceeded(f"too many WebSocket connections ({limits.max_ws_connections})")
        return _error_response(503, error)
    await ws.prepare(request)
    app[WEBSOCKETS].add(ws)
    endpoint.sockets.add(ws)
    peer = request.remote or "-"
    outbox = _Outbox(ws, limits.ws_outbox_size, peer)
    # The session subscribes to this group's backend alone: its heads and logs are all this socket ever gets.
    session = SubscriptionSession(endpoint.backend, limits, outbox.push_threadsafe)
    writer = asyncio.create_task(outbox.drain())
    try:
        async for message in ws:
            if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                break
            reply = endpoint.dispatcher.handle(message.data, session, peer=peer)
            if reply is not None:
                outbox.push(reply)
        if ws.exception() is not None:
            log_event(logger, logging.INFO, "rpc_ws_closed", peer=peer, reason=str(ws.exception()))
    finally:
        session.close()
        outbox.close()
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        app[WEBSOCKETS].discard(ws)
        endpoint.sockets.discard(ws)
    return ws


class _Outbox:
    """Messages waiting for one socket, in order: replies and notifications share it, so a subscription's
    id reaches the client before its first notification. A client too slow to drain it is disconnected."""

    def __init__(self, ws: web.WebSocketResponse, size: int, peer: str) -> None:
        self._ws = ws
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=size)
        self._loop = asyncio.get_running_loop()
        self._peer = peer
        self._closed = False
        self._closing: asyncio.Task[bool] | None = None

    def push(self, text: str) -> None:
        """On the loop: queue a message, or drop the client if it has fallen too far behind."""
        if self._closed:
            return
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            self._closed = True
            log_event(logger, logging.WARNING, "rpc_ws_slow_consumer", peer=self._peer, queued=self._queue.qsize())
            self._closing = self._loop.create_task(
                self._ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow: outbox full")
            )

    def push_threadsafe(self, message: JsonDict) -> None:
        """From any thread (backend callbacks): hand a notification to the loop."""
        text = json.dumps(message)
        with contextlib.suppress(RuntimeError):  # the loop is gone: the server is stopping
            self._loop.call_soon_threadsafe(self.push, text)

    def close(self) -> None:
        self._closed = True

    async def drain(self) -> None:
        while True:
            text = await self._queue.get()
            if self._ws.closed:
                return
            try:
                await self._ws.send_str(text)
            except ConnectionError:
                return  # the client went away; the reader loop ends and cleans up


async def _close_websockets(app: web.Application) -> None:
    await _close(app[WEBSOCKETS], b"server shutdown")


async def _close(sockets: Iterable[web.WebSocketResponse], reason: bytes) -> None:
    for ws in list(sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=reason)
