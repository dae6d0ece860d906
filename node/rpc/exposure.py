"""Who may call a node's JSON-RPC: anyone on the host itself by default; when exposed, only authenticated callers.

RPC binds 127.0.0.1 unless configured otherwise. A node whose RPC listens on any other address refuses to
start unless callers must authenticate: a bearer token (the secret in `rpc.token_file`) or a client
certificate chained to the consortium CA (`rpc.client_ca`; RPC is then HTTPS with the node's own TLS
certificate, and a revoked client certificate is refused). The p2p port is always a separate listener.
"""

from __future__ import annotations

import hmac
import ssl
from dataclasses import dataclass

from aiohttp import web

from network.pki.files import read_cert
from network.pki.identity import identity_from_der
from network.pki.revocation import RevocationList
from node.config import NodeConfig
from node.errors import RpcExposedWithoutAuth
from node.rpc.server import Middleware

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
UNAUTHORIZED = -32001


@dataclass(frozen=True)
class RpcGuard:
    middlewares: tuple[Middleware, ...]
    ssl_context: ssl.SSLContext | None

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_context is not None else "http"


def _refusal(status: int, message: str) -> web.Response:
    return web.json_response({"jsonrpc": "2.0", "id": None, "error": {"code": UNAUTHORIZED, "message": message}},
                             status=status)


def bearer_middleware(token: str) -> Middleware:
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def require_token(request: web.Request, handler: web.Handler) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return _refusal(401, "unauthorized: this node's RPC needs 'Authorization: Bearer <token>'")
        return await handler(request)

    return require_token


def client_cert_middleware(revocations: RevocationList) -> Middleware:
    @web.middleware
    async def refuse_revoked(request: web.Request, handler: web.Handler) -> web.StreamResponse:
        transport = request.transport
        ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        revocations.reload_if_changed()
        if not der or revocations.is_revoked(identity_from_der(der).serial):
            return _refusal(403, "forbidden: client certificate missing or revoked")
        return await handler(request)

    return refuse_revoked


def rpc_guard(config: NodeConfig) -> RpcGuard:
    """The middlewares and TLS context the node's RPC runs with; raises if it would be exposed unauthenticated."""
    middlewares: list[Middleware] = []
    ctx: ssl.SSLContext | None = None
    if config.rpc_token_file:
        token = config.path(config.rpc_token_file).read_text().strip()
        if len(token) < 16:
            raise RpcExposedWithoutAuth(f"{config.rpc_token_file}: the RPC token must be at least 16 characters")
        middlewares.append(bearer_middleware(token))
    if config.rpc_client_ca:
        if config.p2p is None:
            raise RpcExposedWithoutAuth("rpc.client_ca needs the node's TLS certificate ([p2p] tls_cert, tls_key)")
        ca = config.path(config.rpc_client_ca)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cafile=str(ca))
        ctx.load_cert_chain(str(config.path(config.p2p.tls_cert)), str(config.path(config.p2p.tls_key)))
        crl = config.path(config.p2p.tls_crl) if config.p2p.tls_crl else None
        middlewares.append(client_cert_middleware(RevocationList(read_cert(ca), crl)))
    if config.rpc_host not in LOOPBACK_HOSTS and not middlewares:
        raise RpcExposedWithoutAuth(
            f"RPC would listen on {config.rpc_host} without authentication: set rpc.token_file (bearer token) or "
            "rpc.client_ca (consortium CA client certificates), or bind rpc.host to 127.0.0.1")
    return RpcGuard(tuple(middlewares), ctx)
