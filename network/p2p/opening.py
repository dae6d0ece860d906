"""The handshake (network/p2p/handshake.py) run over a new WebSocket whose TLS certificate the host has
checked: hello, auth, each group's membership view, ready. The session it opens knows what both ends hold
and admit each other in."""

from __future__ import annotations

from aiohttp import WSMsgType

from network.errors import HandshakeFailed
from network.p2p.groups import GroupTable, admission
from network.p2p.handshake import auth_frame, check_auth, check_hello, new_hello, parse_hello, parse_ready, ready_frame
from network.p2p.session import PeerSession, WebSocket
from network.pki.identity import NodeIdentity
from network.pki.tls import classify_tls_error
from network.qbft.crypto import Signer


async def open_session(ws: WebSocket, peer: NodeIdentity, me: NodeIdentity, signer: Signer, table: GroupTable, *,
                       outbound: bool, queue_limit: int) -> PeerSession:
    """Raises the NetworkError that refuses the peer (its code is what both ends log)."""
    mine = table.tags
    hello = new_hello(mine, me.member_id, me.address)
    await ws.send_str(hello.to_json())
    theirs = parse_hello(await receive_text(ws))
    check_hello(mine, theirs, peer)
    await ws.send_str(auth_frame(mine, signer, theirs.nonce))
    check_auth(await receive_text(ws), theirs.groups, hello.nonce, peer)
    session = PeerSession(peer, ws, outbound=outbound, queue_limit=queue_limit)
    session.peer_held = {tag.name: tag for tag in theirs.groups}
    admitted, refusal = admission(table.groups, peer, session.peer_held)
    if not admitted:
        raise refusal
    await ws.send_str(ready_frame(admitted))  # both ends admit each other before either counts the session as up
    session.peer_admits = parse_ready(await receive_text(ws))
    session.admitted, session.told = admitted, (mine, admitted)
    return session


async def receive_text(ws: WebSocket) -> str:
    msg = await ws.receive()
    if msg.type == WSMsgType.TEXT:
        return str(msg.data)
    if msg.type == WSMsgType.ERROR:
        raise classify_tls_error(ws.exception() or ConnectionError("websocket error"))
    raise HandshakeFailed(f"peer closed during the handshake ({msg.type.name})")
