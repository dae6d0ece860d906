"""Real mutual-TLS handshakes on 127.0.0.1 between P2PHosts, with certificates the tests mint themselves."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path

from colend.ports import free_loopback_port
from network.errors import NotAMember
from network.p2p.abc import Channel, GroupTag, StaticPeer
from network.p2p.channel import ChannelTransport
from network.pki.identity import NodeIdentity
from network.qbft.crypto import PrivateKeySigner
from tests.network.p2p.hosts import G, Net, codes, peer_of, until
from tests.network.pki_factory import MintedCa


async def test_two_members_connect_and_exchange_frames_both_ways(net: Net, ca: MintedCa) -> None:
    a = await net.host(*ca.node("a", "WEBANK")[:2])
    b = await net.host(*ca.node("b", "MYBANK")[:2], peers=(peer_of(a),))
    got: list[tuple[str, bytes, bytes]] = []
    a.on_message(G, Channel.CONSENSUS, lambda s, p: got.append(("a", s, p)))
    b.on_message(G, Channel.TX, lambda s, p: got.append(("b", s, p)))
    await until(lambda: len(a.peers()) == 1 and len(b.peers()) == 1)
    assert a.peers()[0].member_id == "MYBANK" and b.peers()[0].address == a.identity.address
    b.broadcast(G, Channel.CONSENSUS, b"vote")
    a.send(G, b.identity.address, Channel.TX, b"tx")
    a.send(G, b.identity.address, Channel.CONSENSUS, b"not for b's tx channel")
    await until(lambda: len(got) == 2)
    assert sorted(got) == [("a", b.identity.address, b"vote"), ("b", a.identity.address, b"tx")]


async def test_both_ends_dialling_each_other_keep_one_session(net: Net, ca: MintedCa) -> None:
    (tls_a, signer_a, _), (tls_b, signer_b, _) = ca.node("a", "WEBANK"), ca.node("b", "MYBANK")
    port_a, port_b = free_loopback_port(), free_loopback_port()
    peer_a = StaticPeer(f"wss://127.0.0.1:{port_a}/p2p", "WEBANK", signer_a.address)
    peer_b = StaticPeer(f"wss://127.0.0.1:{port_b}/p2p", "MYBANK", signer_b.address)
    a, b = await asyncio.gather(net.host(tls_a, signer_a, peers=(peer_b,), listen_port=port_a),
                                net.host(tls_b, signer_b, peers=(peer_a,), listen_port=port_b))
    a_lower = a.identity.address < b.identity.address

    def kept() -> bool:  # the session the lower address dialled, at both ends (the other may come up first)
        ab, ba = a._sessions.get(b.identity.address), b._sessions.get(a.identity.address)
        return ab is not None and ba is not None and ab.outbound == a_lower and ba.outbound == (not a_lower)

    await until(kept)
    assert len(a.peers()) == 1 and len(b.peers()) == 1
    got: list[bytes] = []
    b.on_message(G, Channel.CONSENSUS, lambda s, p: got.append(p))
    for i in range(5):
        a.broadcast(G, Channel.CONSENSUS, bytes([i]))
    await until(lambda: len(got) == 5)
    assert got == [bytes([i]) for i in range(5)]  # each frame exactly once, in order, over the one session kept
    assert kept() and len(a.peers()) == 1 and len(b.peers()) == 1


async def test_a_certificate_of_another_ca_is_refused_by_the_tls_handshake(net: Net, ca: MintedCa, tmp_path: Path) -> None:
    rogue_ca = MintedCa(tmp_path / "rogue", name="Rogue CA")
    good = await net.host(*ca.node("good", "WEBANK")[:2])
    tls, signer, _ = rogue_ca.node("rogue", "MYBANK", trust=ca)  # trusts the real CA, holds a rogue cert
    rogue = await net.host(tls, signer, peers=(peer_of(good),))
    await until(lambda: "network.unknown_ca" in codes(good))
    assert good.peers() == [] and rogue.peers() == []
    # and dialling out to a rogue server is refused the same way on our side
    rogue_server = await net.host(*rogue_ca.node("rogue2", "XWBANK", trust=ca)[:2])
    dialler = await net.host(*ca.node("dialler", "HRBANK")[:2], peers=(peer_of(rogue_server),))
    await until(lambda: "network.unknown_ca" in codes(dialler))
    assert dialler.peers() == []


async def test_an_expired_certificate_is_refused_both_ways(net: Net, ca: MintedCa) -> None:
    good = await net.host(*ca.node("good", "WEBANK")[:2])
    old = await net.host(*ca.node("old", "MYBANK", expired=True)[:2], peers=(peer_of(good),))
    await until(lambda: "network.cert_expired" in codes(good))
    dialler = await net.host(*ca.node("dialler", "XWBANK")[:2], peers=(peer_of(old),))
    await until(lambda: "network.cert_expired" in codes(dialler))
    assert good.peers() == [] and dialler.peers() == [] and old.peers() == []


async def test_a_revoked_certificate_is_refused_and_a_live_session_dropped_when_the_crl_changes(net: Net, ca: MintedCa) -> None:
    good = await net.host(*ca.node("good", "WEBANK")[:2])
    tls, signer, serial = ca.node("bad", "MYBANK")
    bad = await net.host(tls, signer, peers=(peer_of(good),))
    await until(lambda: len(good.peers()) == 1)
    ca.revoke(serial)
    await until(lambda: good.peers() == [] and bad.peers() == [])
    assert "network.cert_revoked" in codes(good)
    assert ("WEBANK", "network.cert_revoked") in bad.refusals  # the revoked side is told why
    # it redials, and the handshake now refuses it
    good.refusals.clear()
    await until(lambda: "network.cert_revoked" in codes(good))
    assert good.peers() == []


class Impostor:
    """Claims `address` but can only sign with its own key."""

    def __init__(self, address: bytes) -> None:
        self.address = address
        self._own = PrivateKeySigner(os.urandom(32))

    def sign(self, digest: bytes) -> bytes:
        return self._own.sign(digest)


async def test_a_certificate_binding_another_members_validator_address_without_its_key_is_refused(net: Net, ca: MintedCa) -> None:
    _, victim_signer, _ = ca.node("victim", "WEBANK")
    good = await net.host(*ca.node("good", "XWBANK")[:2])
    # MYBANK got a certificate naming WEBANK's validator address, but does not hold WEBANK's key
    tls, _, _ = ca.node("liar", "MYBANK", claim=victim_signer.address)
    liar = await net.host(tls, Impostor(victim_signer.address), peers=(peer_of(good),))  # type: ignore[arg-type]
    await until(lambda: "network.identity_mismatch" in codes(good) and "network.identity_mismatch" in codes(liar))
    assert good.peers() == [] and liar.peers() == []


async def test_a_hello_claiming_another_address_than_the_certificate_is_refused(net: Net, ca: MintedCa) -> None:
    good = await net.host(*ca.node("good", "WEBANK")[:2])
    liar = await net.host(*ca.node("liar", "MYBANK")[:2])
    liar.identity = replace(liar.identity, address=good.identity.address)  # its hello now names WEBANK's address
    liar_peers = (peer_of(good),)
    dialler = await net.host(*ca.node("dialler", "XWBANK")[:2], peers=(
        StaticPeer(f"wss://127.0.0.1:{liar.port}/p2p", "MYBANK", good.identity.address),))
    await until(lambda: "network.identity_mismatch" in codes(dialler))
    assert dialler.peers() == [] and liar_peers


async def test_a_static_peer_that_turns_out_to_be_another_member_is_refused(net: Net, ca: MintedCa) -> None:
    real = await net.host(*ca.node("real", "MYBANK")[:2])
    expected = StaticPeer(f"wss://127.0.0.1:{real.port}/p2p", "WEBANK", real.identity.address)
    dialler = await net.host(*ca.node("dialler", "XWBANK")[:2], peers=(expected,))
    await until(lambda: "network.identity_mismatch" in codes(dialler))
    assert dialler.peers() == []


async def test_a_handshake_for_another_chain_is_refused_with_a_clear_code(net: Net, ca: MintedCa) -> None:
    good = await net.host(*ca.node("good", "WEBANK")[:2])
    other = await net.host(*ca.node("other", "MYBANK")[:2], peers=(peer_of(good),), chain=GroupTag(G, 99, b"\x22" * 32))
    await until(lambda: "network.handshake_mismatch" in codes(good) and "network.handshake_mismatch" in codes(other))
    assert good.peers() == [] and other.peers() == []


async def test_a_member_the_chain_does_not_admit_is_refused_and_a_suspended_one_disconnected(net: Net, ca: MintedCa) -> None:
    suspended: set[str] = set()

    def membership(identity: NodeIdentity) -> None:
        if identity.member_id in suspended:
            raise NotAMember(f"{identity.member_id} is suspended")

    good = await net.host(*ca.node("good", "WEBANK")[:2], membership=membership)
    other = await net.host(*ca.node("other", "MYBANK")[:2], peers=(peer_of(good),))
    await until(lambda: len(good.peers()) == 1)
    suspended.add("MYBANK")
    good.recheck()
    await until(lambda: good.peers() == [] and "network.not_a_member" in codes(good))
    await until(lambda: "network.not_a_member" in codes(other))  # it is told why on its redial
    assert good.peers() == []


async def test_a_stalled_peer_is_dropped_without_holding_back_the_others(net: Net, ca: MintedCa) -> None:
    sender = await net.host(*ca.node("sender", "WEBANK")[:2], queue_limit=8)
    fast = await net.host(*ca.node("fast", "MYBANK")[:2], peers=(peer_of(sender),))
    slow = await net.host(*ca.node("slow", "XWBANK")[:2], peers=(peer_of(sender),), redial_min_s=30, redial_max_s=30)
    await until(lambda: len(sender.peers()) == 2 and len(slow.peers()) == 1)
    got: list[int] = []
    fast.on_message(G, Channel.CONSENSUS, lambda s, p: got.append(len(p)))
    # The slow peer stops reading its socket: TCP buffers fill, then the sender's queue for it.
    slow._sessions[sender.identity.address].ws._response.connection.transport.pause_reading()  # type: ignore[union-attr]
    frame = b"x" * (512 * 1024)
    for _ in range(64):  # 32 MiB: far more than loopback socket buffers hold
        sender.broadcast(G, Channel.CONSENSUS, frame)
        await asyncio.sleep(0.005)
    await until(lambda: len(got) == 64)  # the healthy peer got every frame meanwhile
    await until(lambda: ("XWBANK", "network.peer_stalled") in sender.refusals)
    assert [p.member_id for p in sender.peers()] == ["MYBANK"]


async def test_a_frame_over_the_size_limit_drops_the_sender(net: Net, ca: MintedCa) -> None:
    small = await net.host(*ca.node("small", "WEBANK")[:2], max_frame_bytes=1024)
    big = await net.host(*ca.node("big", "MYBANK")[:2], peers=(peer_of(small),))
    got: list[bytes] = []
    small.on_message(G, Channel.TX, lambda s, p: got.append(p))
    await until(lambda: len(small.peers()) == 1)
    big.broadcast(G, Channel.TX, b"ok")
    big.broadcast(G, Channel.TX, b"x" * 4096)
    await until(lambda: ("MYBANK", "network.frame_too_large") in small.refusals)
    assert got == [b"ok"]


class Handler:
    def __init__(self) -> None:
        self.events: list[tuple[str, bytes, bytes]] = []

    def on_peer_connected(self, peer: bytes) -> None:
        self.events.append(("up", peer, b""))

    def on_peer_disconnected(self, peer: bytes) -> None:
        self.events.append(("down", peer, b""))

    def on_message(self, peer: bytes, payload: bytes) -> None:
        self.events.append(("msg", peer, payload))


async def test_a_channel_is_a_peer_addressed_transport_with_peer_events_and_disconnect(net: Net, ca: MintedCa) -> None:
    a = await net.host(*ca.node("a", "WEBANK")[:2])
    b = await net.host(*ca.node("b", "MYBANK")[:2], peers=(peer_of(a),), redial_min_s=5, redial_max_s=5)
    handler = Handler()
    ChannelTransport(a, G, Channel.CONSENSUS).set_handler(handler)
    b_transport = ChannelTransport(b, G, Channel.CONSENSUS)
    await until(lambda: ("up", b.identity.address, b"") in handler.events)
    b_transport.send(a.identity.address, b"to a")
    await until(lambda: ("msg", b.identity.address, b"to a") in handler.events)
    ChannelTransport(a, G, Channel.TX).disconnect(b.identity.address, "served a bad block")
    await until(lambda: ("down", b.identity.address, b"") in handler.events)
    assert ("MYBANK", "network.peer_penalised") in a.refusals
