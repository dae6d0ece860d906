"""One authenticated peer connection: its identity, the WebSocket, a bounded send queue drained by a task,
and which ledger groups it carries.

Senders only ever enqueue; a peer that stops reading fills its own queue and is dropped (PeerStalled)
instead of blocking the consensus thread or the other peers. In-session control frames (text: the groups
this end holds and admits the peer in) go through the same queue, so the peer reads them in order with the
binary frames around them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from aiohttp import ClientWebSocketResponse, web

from network.p2p.abc import GroupTag
from network.pki.identity import NodeIdentity

if TYPE_CHECKING:
    from network.p2p.groups import Group

log = logging.getLogger("colend.p2p")
WebSocket = web.WebSocketResponse | ClientWebSocketResponse


class PeerSession:
    def __init__(self, identity: NodeIdentity, ws: WebSocket, *, outbound: bool, queue_limit: int) -> None:
        self.identity = identity
        self.ws = ws
        self.outbound = outbound
        self.queue: asyncio.Queue[bytes | str] = asyncio.Queue(queue_limit)
        self.closed = asyncio.Event()
        self.close_code: str | None = None
        self.closing = False  # set the moment the host decides to drop it: nothing more is queued
        self._writer: asyncio.Task[None] | None = None
        # -- its groups (network/p2p/carriage.py keeps them)
        self.peer_held: dict[str, GroupTag] = {}  # what the peer last said it holds
        self.peer_admits: frozenset[str] = frozenset()  # the groups the peer last said it admits us in
        self.admitted: frozenset[str] = frozenset()  # the groups this end admits the peer in
        self.told: tuple[tuple[GroupTag, ...], frozenset[str]] = ((), frozenset())  # what the peer last heard
        self.carried: dict[str, Group] = {}  # admitted by both ends: frames of these flow both ways
        self.withdrawn: dict[int, float] = {}  # chain id -> when this end stopped carrying it (monotonic)
        self.strikes = 0  # frames of groups it is not in

    @property
    def address(self) -> bytes:
        return self.identity.address

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop())

    def enqueue(self, frame: bytes | str) -> bool:
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
                if isinstance(frame, bytes):
                    await self.ws.send_bytes(frame)
                else:
                    await self.ws.send_str(frame)
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
