"""One authenticated peer connection: its identity, the WebSocket and a bounded send queue drained by a task.

Senders only ever enqueue; a peer that stops reading fills its own queue and is dropped (PeerStalled)
instead of blocking the consensus thread or the other peers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import ClientWebSocketResponse, web

from network.pki.identity import NodeIdentity

log = logging.getLogger("colend.p2p")
WebSocket = web.WebSocketResponse | ClientWebSocketResponse


class PeerSession:
    def __init__(self, identity: NodeIdentity, ws: WebSocket, *, outbound: bool, queue_limit: int) -> None:
        self.identity = identity
        self.ws = ws
        self.outbound = outbound
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(queue_limit)
        self.closed = asyncio.Event()
        self.close_code: str | None = None
        self.closing = False  # set the moment the host decides to drop it: nothing more is queued
        self._writer: asyncio.Task[None] | None = None

    @property
    def address(self) -> bytes:
        return self.identity.address

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop())

    def enqueue(self, frame: bytes) -> bool:
        """False when the queue is full: the caller drops the peer as stalled."""
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True

    async def _write_loop(self) -> None:
        try:
            while True:
                frame = await self.queue.get()
                await self.ws.send_bytes(frame)
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("event=peer_write_failed member=%s address=%s", self.identity.member_id,
                          self.identity.address_hex)
        finally:
            self.closed.set()

    async def close(self, code: str, message: str = "") -> None:
        """Close once; the refusal reason goes to the peer as a text frame first, best effort."""
        if self.close_code is not None:
            return
        self.close_code = code
        if message:
            from network.p2p.handshake import refuse_frame

            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.send_str(refuse_frame(code, message)), 1)
        if self._writer is not None:
            self._writer.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 2)
        self.closed.set()
