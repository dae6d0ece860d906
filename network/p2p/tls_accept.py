"""Accepting peers: plain TCP, then our own TLS handshake (loop.start_tls), then aiohttp's HTTP/WebSocket.

asyncio's TLS servers swallow handshake failures (an SSLError is only logged in debug mode), so a peer
refused for an unknown CA or an expired certificate would leave no trace. Running the handshake
ourselves gives every refusal its stable code in one log line before the connection is closed.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

from network.errors import NetworkError
from network.pki.tls import classify_tls_error

HANDSHAKE_TIMEOUT_S = 10.0


class TlsAcceptor(asyncio.Protocol):
    """Protocol of one accepted TCP connection until TLS is up; then hands the TLS transport to `serve`."""

    def __init__(self, ctx: ssl.SSLContext, serve: Callable[[], asyncio.Protocol],
                 refused: Callable[[str, NetworkError], None]) -> None:
        self._ctx = ctx
        self._serve = serve
        self._refused = refused
        self._early: list[bytes] = []
        self._task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.pause_reading()  # start_tls takes the stream over from the first byte
        self._task = asyncio.ensure_future(self._upgrade(transport))

    def data_received(self, data: bytes) -> None:
        self._early.append(data)  # decrypted bytes that arrive between the handshake and the hand-over

    def connection_lost(self, exc: Exception | None) -> None:
        pass

    async def _upgrade(self, transport: asyncio.Transport) -> None:
        peer = transport.get_extra_info("peername")
        label = f"{peer[0]}:{peer[1]}" if peer else "?"
        try:
            tls = await asyncio.get_running_loop().start_tls(transport, self, self._ctx, server_side=True,
                                                             ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S)
        except (TimeoutError, OSError, ConnectionError) as exc:
            error = classify_tls_error(exc)
            if error.code == "network.unreachable":  # it hung up mid-handshake: likely it refused our certificate
                error = NetworkError(f"peer closed the TLS handshake: {exc!r}", code="network.tls_aborted")
            self._refused(label, error)
            transport.close()
            return
        if tls is None:
            transport.close()
            return
        protocol = self._serve()
        tls.set_protocol(protocol)
        protocol.connection_made(tls)
        for data in self._early:
            protocol.data_received(data)
        self._early.clear()
