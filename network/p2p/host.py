"""The p2p host: a generic authenticated message host between consortium nodes, for several ledger groups.

Every connection is mutual TLS 1.3 against the consortium CA, then the versioned handshake
(network/p2p/handshake.py: every group each end holds, agreed by chain id and genesis hash), then each
group's membership view; only then does it carry binary frames for consensus, tx gossip and block sync:
`[channel: 1 byte][group's chain id: 8 bytes, big-endian][payload]` (network/p2p/groups.py). A group's frames
go to, and are taken from, only the peers its own view admits (network/p2p/carriage.py). Static peers are
dialled and redialled with backoff; one session per peer address survives (the one dialled by the lower
address), so two nodes dialling each other at once converge. The revocation list and certificate expiry are
re-checked on a short poll and live sessions that fail them are closed; the node calls recheck() when a
group's membership moves.

Thread-safe at its edges: send()/broadcast()/recheck()/add_group()/remove_group() may be called from any
thread (the consensus threads do); everything else runs on the host's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import ssl
import threading
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass

import aiohttp
from aiohttp import WSMsgType, web

from network.errors import (
    CertificateExpired,
    CertificateRevoked,
    HandshakeFailed,
    IdentityMismatch,
    NetworkError,
    PeerStalled,
    PkiError,
    RefusedByPeer,
)
from network.p2p.abc import Channel, GroupTag, Inbound, MembershipView, PeerEvent, StaticPeer, admit_everyone
from network.p2p.carriage import Carriage
from network.p2p.groups import FRAME_PREFIX, FrameCounts, Group, GroupTable
from network.p2p.handshake import parse_frame, refuse_frame
from network.p2p.opening import open_session
from network.p2p.session import PeerSession, WebSocket
from network.p2p.tls_accept import HANDSHAKE_TIMEOUT_S, TlsAcceptor
from network.pki.files import read_cert
from network.pki.identity import NodeIdentity, identity_from_der, node_identity
from network.pki.revocation import RevocationList
from network.pki.tls import TlsFiles, classify_tls_error, client_context, server_context
from network.qbft.crypto import Signer

log = logging.getLogger("colend.p2p")
P2P_PATH = "/p2p"
MAX_REFUSALS_KEPT = 256
STABLE_SESSION_S = 30.0  # a session shorter than this does not reset the redial backoff (no flapping storms)


@dataclass(frozen=True, slots=True)
class HostConfig:
    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    peers: tuple[StaticPeer, ...] = ()
    queue_limit: int = 4_096  # frames per peer before it counts as stalled
    max_frame_bytes: int = 33 * 1024 * 1024  # a sync response at its budget (32 MiB) plus framing
    heartbeat_s: float = 5.0
    redial_min_s: float = 0.2
    redial_max_s: float = 10.0
    recheck_s: float = 1.0  # how often the CRL file and certificate expiry are looked at


class P2PHost:
    def __init__(self, config: HostConfig, tls: TlsFiles, signer: Signer,
                 groups: Iterable[tuple[GroupTag, MembershipView]] = (),
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        """`groups`: each ledger group this node holds, with the view that says whom it admits at its head."""
        self.config = config
        self.tls = tls
        self.signer = signer
        self.clock = clock
        self.identity = node_identity(read_cert(tls.cert_chain))
        if self.identity.address != signer.address:
            raise PkiError(f"node certificate binds {self.identity.address_hex}, the node key is 0x{signer.address.hex()}")
        self.crl = RevocationList(read_cert(tls.ca), tls.crl)
        self.port = 0
        self.refusals: deque[tuple[str, str]] = deque(maxlen=MAX_REFUSALS_KEPT)  # (peer label, code), newest last
        self._server_ctx = server_context(tls)
        self._client_ctx = client_context(tls)
        self._sessions: dict[bytes, PeerSession] = {}
        self._open: set[WebSocket] = set()  # every WebSocket, handshaking or up, so stop() closes them all
        self._table = GroupTable()
        self._carriage = Carriage(self._table, self._enqueue, self._drop, self._note, self._safely)
        self._tasks: list[asyncio.Task[None]] = []
        self._dialled: set[bytes] = set()  # static peers with a dial loop
        self._pending: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._runner: web.AppRunner | None = None
        self._server: asyncio.AbstractServer | None = None
        self._client: aiohttp.ClientSession | None = None
        self._stopping = False
        for tag, membership in groups:
            self._table.add(tag, membership)

    # -- groups and wiring ------------------------------------------------------------------------------

    def add_group(self, tag: GroupTag, membership: MembershipView = admit_everyone) -> None:
        """Hold another group from now on; live sessions learn it at once (GroupConflict on a name or chain id
        clash)."""
        self._table.add(tag, membership)
        self._on_loop(self._reconcile_all)

    def remove_group(self, name: str) -> None:
        """Stop holding a group: its peers go down in it, and sessions carrying nothing else close."""
        self._table.remove(name)
        self._on_loop(self._reconcile_all)

    def add_peer(self, peer: StaticPeer) -> None:
        """Dial one more static peer from now on (a group added at runtime may bring peers this node did not
        share a group with before); a peer already dialled, or this node itself, is left alone."""
        self._on_loop(self._add_peer_now, peer)

    def _add_peer_now(self, peer: StaticPeer) -> None:
        if self._stopping or peer.address == self.identity.address or peer.address in self._dialled:
            return
        self._dialled.add(peer.address)
        self._tasks.append(asyncio.create_task(self._dial_loop(peer)))

    def groups(self) -> tuple[GroupTag, ...]:
        return self._table.tags

    def on_message(self, group: str, channel: Channel, receive: Inbound) -> None:
        """`receive(sender_address, payload)` for each frame of the group's `channel` from a peer the group
        admits; runs on the host's loop."""
        self._table.get(group).routes[int(channel)].receive = receive

    def on_peer_up(self, group: str, callback: PeerEvent) -> None:
        """A peer now carries the group: its session is up and both ends' views of the group admit each other."""
        self._table.get(group).up.append(callback)

    def on_peer_down(self, group: str, callback: PeerEvent) -> None:
        self._table.get(group).down.append(callback)

    def peers(self, group: str | None = None) -> list[NodeIdentity]:
        """Every peer with a session, or those that carry `group` (none, for a group this host does not hold)."""
        if group is None:
            sessions = self._sessions
        else:
            held = self._table.groups.get(group)
            sessions = held.sessions if held is not None else {}
        return [s.identity for s in list(sessions.values())]

    def frame_counts(self) -> dict[int, FrameCounts]:
        """By chain id: frames received, sent and refused (by code), for held groups and any other a peer named."""
        return self._table.snapshot()

    # -- lifecycle --------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        app = web.Application()
        app.router.add_get(P2P_PATH, self._accept_ws)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        server = self._runner.server
        assert server is not None
        self._server = await self._loop.create_server(
            lambda: TlsAcceptor(self._server_ctx, server, self._refused), self.config.listen_host,
            self.config.listen_port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=5))
        self._dialled = {peer.address for peer in self.config.peers if peer.address != self.identity.address}
        self._tasks = [asyncio.create_task(self._dial_loop(peer)) for peer in self.config.peers
                       if peer.address in self._dialled]
        self._tasks.append(asyncio.create_task(self._recheck_loop()))
        log.info("event=p2p_listening host=%s port=%d member=%s address=%s peers=%d", self.config.listen_host,
                 self.port, self.identity.member_id, self.identity.address_hex, len(self.config.peers))

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await asyncio.gather(*(s.close("network.shutdown") for s in list(self._sessions.values())),
                             return_exceptions=True)
        await asyncio.gather(*(asyncio.wait_for(ws.close(), 1) for ws in list(self._open)), return_exceptions=True)
        if self._server is not None:
            self._server.close()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- sending (any thread) ---------------------------------------------------------------------------

    def send(self, group: str, address: bytes, channel: Channel, payload: bytes) -> None:
        """To one peer, if it carries the group (else dropped, as for a peer with no session)."""
        held = self._table.groups.get(group)
        if held is not None:
            self._on_loop(self._send_now, held, address, held.prefixes[channel] + payload)

    def broadcast(self, group: str, channel: Channel, payload: bytes) -> None:
        """To every peer that carries the group."""
        held = self._table.groups.get(group)
        if held is not None:
            self._on_loop(self._broadcast_now, held, held.prefixes[channel] + payload)

    def disconnect(self, address: bytes, reason: str) -> None:
        """Close the session with a peer that misbehaved; its dialler may bring it back later."""
        self._on_loop(self._disconnect_now, address, reason)

    def _disconnect_now(self, address: bytes, reason: str) -> None:
        session = self._sessions.get(address)
        if session is not None:
            self._drop(session, NetworkError(reason, code="network.peer_penalised"))

    def recheck(self) -> None:
        """Re-apply revocation, expiry and membership to every live session (e.g. after a block)."""
        self._on_loop(self._recheck_now)

    def _on_loop(self, fn: Callable[..., None], *args: object) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            fn(*args)
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing to send to
                loop.call_soon_threadsafe(fn, *args)

    def _send_now(self, group: Group, address: bytes, frame: bytes) -> None:
        session = group.sessions.get(address)
        if session is not None:
            self._enqueue(session, frame)
            group.counts.sent += 1

    def _broadcast_now(self, group: Group, frame: bytes) -> None:
        sessions = list(group.sessions.values())
        for session in sessions:
            self._enqueue(session, frame)
        group.counts.sent += len(sessions)

    def _enqueue(self, session: PeerSession, frame: bytes | str) -> None:
        if not session.closing and not session.enqueue(frame):
            self._drop(session, PeerStalled(f"send queue of {self.config.queue_limit} frames is full"))

    def _reconcile_all(self) -> None:
        for session in list(self._sessions.values()):
            self._carriage.reconcile(session)

    # -- checks -----------------------------------------------------------------------------------------

    def _cert_identity(self, ssl_object: ssl.SSLObject | None) -> NodeIdentity:
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if not der:
            raise HandshakeFailed("peer presented no certificate")
        identity = identity_from_der(der)
        self._check_standing(identity)
        return identity

    def _check_standing(self, identity: NodeIdentity) -> None:
        if self.crl.is_revoked(identity.serial):
            raise CertificateRevoked(f"certificate serial {identity.serial:x} of {identity.member_id} is revoked")
        if identity.not_after <= self.clock():
            raise CertificateExpired(f"certificate of {identity.member_id} expired at {identity.not_after.isoformat()}")

    def _recheck_now(self) -> None:
        for session in list(self._sessions.values()):
            try:
                self._check_standing(session.identity)
            except NetworkError as exc:
                self._drop(session, exc)
                continue
            self._carriage.reconcile(session)  # each group's view again: drops the session if none admits it

    async def _recheck_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.recheck_s)
            self.crl.reload_if_changed()
            self._recheck_now()

    # -- sessions ---------------------------------------------------------------------------------------

    async def _accept_ws(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=self.config.max_frame_bytes, heartbeat=self.config.heartbeat_s)
        await ws.prepare(request)
        transport = request.transport
        ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
        peer = request.remote or "?"
        with contextlib.suppress(NetworkError):
            await self._run_session(ws, ssl_object, outbound=False, expected=None, label=peer)
        return ws

    async def _dial(self, peer: StaticPeer) -> bool:
        """One connection to a static peer, for as long as it lasts; True if a session came up."""
        assert self._client is not None
        try:
            ws = await self._client.ws_connect(peer.url, ssl=self._client_ctx, max_msg_size=self.config.max_frame_bytes,
                                               heartbeat=self.config.heartbeat_s, timeout=aiohttp.ClientWSTimeout(
                                                   ws_receive=None, ws_close=5))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            error = classify_tls_error(exc)
            if error.code == "network.unreachable":
                log.debug("event=peer_unreachable url=%s reason=%s", peer.url, exc)
            else:
                self._refused(peer.url, error)
            return False
        return await self._run_session(ws, ws.get_extra_info("ssl_object"), outbound=True, expected=peer,
                                       label=peer.url)

    async def _run_session(self, ws: WebSocket, ssl_object: ssl.SSLObject | None, *, outbound: bool,
                           expected: StaticPeer | None, label: str) -> bool:
        self._open.add(ws)
        try:
            return await self._handshake_and_serve(ws, ssl_object, outbound=outbound, expected=expected, label=label)
        finally:
            self._open.discard(ws)

    async def _handshake_and_serve(self, ws: WebSocket, ssl_object: ssl.SSLObject | None, *, outbound: bool,
                                   expected: StaticPeer | None, label: str) -> bool:
        if self._stopping:
            await ws.close()
            return False
        try:
            session = await asyncio.wait_for(self._handshake(ws, ssl_object, expected, outbound),
                                             HANDSHAKE_TIMEOUT_S)
        except TimeoutError:
            self._refused(label, HandshakeFailed("handshake timed out"))
            await ws.close()
            return False
        except NetworkError as exc:
            self._refused(label, exc)
            if not isinstance(exc, RefusedByPeer):
                with contextlib.suppress(Exception):
                    await ws.send_str(refuse_frame(exc.code, exc.message))
            with contextlib.suppress(Exception):
                await ws.close()
            return False
        if not self._register(session):
            await ws.close()
            return False
        session.start()
        try:
            await self._read_loop(session)
        finally:
            await session.close(session.close_code or "network.peer_closed")
            self._unregister(session)
        return True

    async def _handshake(self, ws: WebSocket, ssl_object: ssl.SSLObject | None, expected: StaticPeer | None,
                         outbound: bool) -> PeerSession:
        identity = self._cert_identity(ssl_object)
        if expected is not None and (identity.member_id, identity.address) != (expected.member_id, expected.address):
            raise IdentityMismatch(f"{expected.url} should be {expected.member_id}/0x{expected.address.hex()}, its "
                                   f"certificate binds {identity.member_id}/{identity.address_hex}")
        return await open_session(ws, identity, self.identity, self.signer, self._table, outbound=outbound,
                                  queue_limit=self.config.queue_limit)

    def _register(self, session: PeerSession) -> bool:
        existing = self._sessions.get(session.address)
        if existing is not None:
            if not self._preferred(session):
                return False
            self._sessions[session.address] = session
            handed_over, existing.carried = existing.carried, {}
            self._carriage.reconcile(session, handed_over)  # the address stays up in the groups both carry
            self._background(existing.close("network.duplicate_session"))
            return True
        self._sessions[session.address] = session
        self._carriage.reconcile(session, {})
        log.info("event=peer_up member=%s address=%s direction=%s groups=%s peers=%d", session.identity.member_id,
                 session.identity.address_hex, "out" if session.outbound else "in", ",".join(sorted(session.carried)),
                 len(self._sessions))
        return True

    def _preferred(self, session: PeerSession) -> bool:
        """Of two sessions between the same pair, both ends keep the one the lower address dialled."""
        mine_lower = self.identity.address < session.address
        return session.outbound == mine_lower

    def _unregister(self, session: PeerSession) -> None:
        if self._sessions.get(session.address) is not session:
            return
        del self._sessions[session.address]
        log.info("event=peer_down member=%s address=%s code=%s peers=%d", session.identity.member_id,
                 session.identity.address_hex, session.close_code, len(self._sessions))
        self._carriage.release(session)

    async def _read_loop(self, session: PeerSession) -> None:
        address = session.address
        table = self._table
        async for msg in session.ws:
            if session.close_code is not None:
                break
            if msg.type == WSMsgType.BINARY:
                data: bytes = msg.data
                route = table.routes.get(data[:FRAME_PREFIX])
                if route is not None and route.group.sessions.get(address) is session:
                    route.counts.received += 1
                    if route.receive is not None:
                        self._safely(route.receive, address, data[FRAME_PREFIX:])
                elif not session.closing:
                    self._carriage.refuse(session, data)
            elif msg.type == WSMsgType.TEXT:  # after the handshake, text is the peer's groups, or why it drops us
                try:
                    self._carriage.on_groups(session, parse_frame(str(msg.data), "groups"))
                    continue
                except RefusedByPeer as exc:
                    self._refused(session.identity.member_id, exc)
                    session.close_code = exc.code
                except NetworkError:
                    session.close_code = HandshakeFailed.code
                break
            elif msg.type == WSMsgType.ERROR:
                exc = session.ws.exception()
                code = "network.frame_too_large" if "size" in str(exc).lower() else "network.peer_error"
                log.warning("event=peer_dropped member=%s address=%s code=%s reason=%s", session.identity.member_id,
                            session.identity.address_hex, code, exc)
                session.close_code = code
                self.refusals.append((session.identity.member_id, code))
                break

    def _drop(self, session: PeerSession, exc: NetworkError) -> None:
        if session.closing:
            return
        session.closing = True
        log.warning("event=peer_dropped member=%s address=%s code=%s reason=%s", session.identity.member_id,
                    session.identity.address_hex, exc.code, exc.message)
        self.refusals.append((session.identity.member_id, exc.code))
        self._carriage.release(session)  # nothing more of any group goes to it or is taken from it
        self._background(session.close(exc.code, exc.message)).add_done_callback(lambda _t: self._unregister(session))

    def _note(self, label: str, code: str) -> None:
        self.refusals.append((label, code))

    def _refused(self, label: str, exc: NetworkError) -> None:
        event = "refused_by_peer" if isinstance(exc, RefusedByPeer) else "peer_refused"
        log.warning("event=%s peer=%s code=%s reason=%s", event, label, exc.code, exc.message)
        self.refusals.append((label, exc.code))

    def _background(self, coro: Coroutine[None, None, None]) -> asyncio.Task[None]:
        """A task kept referenced until done (the loop holds tasks only weakly)."""
        task = asyncio.create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    @staticmethod
    def _safely(fn: Callable[..., None], *args: object) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("event=p2p_callback_failed callback=%s", getattr(fn, "__qualname__", fn))

    # -- the dialler ------------------------------------------------------------------------------------

    async def _dial_loop(self, peer: StaticPeer) -> None:
        delay = self.config.redial_min_s
        while not self._stopping:
            current = self._sessions.get(peer.address)
            if current is not None:
                await current.closed.wait()
                await asyncio.sleep(0)  # let the closing session unregister
                continue
            started = asyncio.get_running_loop().time()
            if await self._dial(peer) and asyncio.get_running_loop().time() - started > STABLE_SESSION_S:
                delay = self.config.redial_min_s  # it was up a good while: a fresh failure, start backoff over
                continue
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # jitter: peers restarted together spread out
            delay = min(delay * 2, self.config.redial_max_s)
