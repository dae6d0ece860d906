"""Several ledger groups on one p2p host: a group's frames reach and are taken from its members only, by each
group's own membership view, on both ends; real mutual-TLS hosts on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging

import pytest
import rlp

from network.errors import GroupConflict, NotAMember, UnknownGroup
from network.p2p.abc import Channel, GroupTag, MembershipView, admit_everyone
from network.p2p.channel import ChannelTransport
from network.p2p.groups import frame_prefix
from network.p2p.host import P2PHost
from network.pki.identity import NodeIdentity
from network.sync.messages import GetBlocks, encode_sync_message
from network.wire import Lane, wrap
from tests.network.p2p.hosts import Net, codes, peer_of, until
from tests.network.pki_factory import MintedCa

G = GroupTag("webank+mybank", 301, b"\x31" * 32)
H = GroupTag("all", 302, b"\x32" * 32)


def registry(*members: str) -> tuple[MembershipView, set[str]]:
    """A group's membership view as its chain's registry gives it, and the set a test suspends members in."""
    suspended: set[str] = set()

    def view(identity: NodeIdentity) -> None:
        if identity.member_id not in members:
            raise NotAMember(f"{identity.member_id} is not a member")
        if identity.member_id in suspended:
            raise NotAMember(f"{identity.member_id} is suspended")

    return view, suspended


class Inbox:
    """Every frame a host delivered, by (group, channel)."""

    def __init__(self, host: P2PHost, *groups: str) -> None:
        self.got: list[tuple[str, Channel, bytes, bytes]] = []
        for group in groups:
            for channel in Channel:
                host.on_message(group, channel, lambda s, p, g=group, c=channel: self.got.append((g, c, s, p)))

    def of(self, group: str) -> list[bytes]:
        return [payload for g, _, _, payload in self.got if g == group]


class Events:
    """A group's peer up/down events and messages, as its consensus driver sees them through a ChannelTransport."""

    def __init__(self) -> None:
        self.events: list[tuple[str, bytes]] = []

    def on_peer_connected(self, peer: bytes) -> None:
        self.events.append(("up", peer))

    def on_peer_disconnected(self, peer: bytes) -> None:
        self.events.append(("down", peer))

    def on_message(self, peer: bytes, payload: bytes) -> None:
        self.events.append(("msg", peer))


def driver_view(host: P2PHost, group: str) -> Events:
    events = Events()
    ChannelTransport(host, group, Channel.CONSENSUS).set_handler(events)
    return events


async def three_banks(net: Net, ca: MintedCa) -> tuple[P2PHost, P2PHost, P2PHost]:
    """A (WEBANK) and B (MYBANK) in G and H; C (XWBANK) in H only by the registries, though its own config
    claims G too."""
    g_view, _ = registry("WEBANK", "MYBANK")
    a = await net.host(*ca.node("a", "WEBANK")[:2], groups=[(G, g_view), (H, admit_everyone)])
    b = await net.host(*ca.node("b", "MYBANK")[:2], groups=[(G, g_view), (H, admit_everyone)], peers=(peer_of(a),))
    c = await net.host(*ca.node("c", "XWBANK")[:2], groups=[(G, admit_everyone), (H, admit_everyone)],
                       peers=(peer_of(a), peer_of(b)))
    await until(lambda: all(len(h.peers()) == 2 for h in (a, b, c)))
    return a, b, c


async def test_a_groups_broadcasts_reach_its_members_only_and_an_outsider_receives_none_of_its_frames(
        net: Net, ca: MintedCa) -> None:
    a, b, c = await three_banks(net, ca)
    inboxes = {h: Inbox(h, G.name, H.name) for h in (a, b, c)}
    assert {p.member_id for p in a.peers(G.name)} == {"MYBANK"} and {p.member_id for p in a.peers(H.name)} == {
        "MYBANK", "XWBANK"}
    assert c.peers(G.name) == []  # its config holds G, but no member of G admits it
    a.broadcast(G.name, Channel.CONSENSUS, b"g-vote")
    b.broadcast(G.name, Channel.TX, b"g-txs")
    c.broadcast(G.name, Channel.TX, b"c's g-txs")  # it has no peer in G: goes nowhere
    for host in (a, b, c):  # then a frame of H from each: a session's frames arrive in order, so once these are in,
        host.broadcast(H.name, Channel.CONSENSUS, host.identity.member_id.encode())  # any frame of G would be too
    await until(lambda: all(len(inboxes[h].of(H.name)) == 2 for h in (a, b, c)))
    assert inboxes[b].of(G.name) == [b"g-vote"] and inboxes[a].of(G.name) == [b"g-txs"]
    assert sorted(inboxes[c].got) == sorted([(H.name, Channel.CONSENSUS, a.identity.address, b"WEBANK"),
                                             (H.name, Channel.CONSENSUS, b.identity.address, b"MYBANK")])
    counts = c.frame_counts()
    assert (counts[G.chain_id].received, counts[G.chain_id].refused) == (0, {})  # zero frames of G reached C
    assert counts[H.chain_id].received == 2
    assert (a.frame_counts()[G.chain_id].sent, a.frame_counts()[H.chain_id].sent) == (1, 2)
    assert b.frame_counts()[G.chain_id].received == 1 and a.frame_counts()[G.chain_id].received == 1


async def test_an_outsider_forging_a_groups_frames_is_refused_counted_penalised_and_nothing_is_delivered(
        net: Net, ca: MintedCa, caplog: pytest.LogCaptureFixture) -> None:
    a, b, c = await three_banks(net, ca)
    inbox = Inbox(a, G.name, H.name)  # every channel of both groups; then G's consensus as its driver sees it
    g_driver = driver_view(a, G.name)
    # C holds a valid XWBANK certificate, so its session with A is up (for H); it writes frames of G itself
    forged = [frame_prefix(Channel.CONSENSUS, G.chain_id) + wrap(Lane.QBFT, b"a vote"),
              frame_prefix(Channel.CONSENSUS, G.chain_id) + wrap(Lane.SYNC, encode_sync_message(GetBlocks(1, 1, 64))),
              frame_prefix(Channel.TX, G.chain_id) + rlp.encode([b"a raw tx"])]
    session = c._sessions[a.identity.address]
    with caplog.at_level(logging.WARNING, logger="colend.p2p"):
        for frame in forged:
            session.enqueue(frame)
        await until(lambda: ("XWBANK", "network.peer_penalised") in a.refusals)
    refused = [r.getMessage() for r in caplog.records if "event=frame_refused" in r.getMessage()]
    assert len(refused) == 3 and all(
        f"peer={c.identity.address_hex} member=XWBANK group={G.name}" in line and "code=network.not_in_group" in line
        for line in refused)
    assert [code for member, code in a.refusals if member == "XWBANK"][:4] == [
        "network.not_in_group"] * 3 + ["network.peer_penalised"]
    counts = a.frame_counts()[G.chain_id]
    assert counts.refused == {"network.not_in_group": 3} and counts.received == 0
    assert inbox.of(G.name) == [] and g_driver.events == []  # not a vote, not a sync request, not a tx reached G
    await until(lambda: ("WEBANK", "network.peer_penalised") in c.refusals)  # C is told why it was dropped
    # the members of G go on: B's frames of G still reach A
    b.broadcast(G.name, Channel.CONSENSUS, b"b's vote")
    b.broadcast(G.name, Channel.TX, b"b's txs")
    await until(lambda: ("msg", b.identity.address) in g_driver.events and inbox.of(G.name) == [b"b's txs"])


async def test_frames_of_a_group_this_node_does_not_hold_are_refused_and_counted_under_their_chain_id(
        net: Net, ca: MintedCa) -> None:
    a = await net.host(*ca.node("a", "WEBANK")[:2], groups=[(H, admit_everyone)])
    c = await net.host(*ca.node("c", "XWBANK")[:2], groups=[(H, admit_everyone)], peers=(peer_of(a),))
    await until(lambda: len(a.peers()) == 1 and len(c.peers()) == 1)
    c._sessions[a.identity.address].enqueue(frame_prefix(Channel.CONSENSUS, 999) + b"elsewhere")
    c._sessions[a.identity.address].enqueue(b"\x01")  # too short to name any group
    await until(lambda: a.frame_counts().get(-1) is not None)
    counts = a.frame_counts()
    assert counts[999].group is None and counts[999].refused == {"network.not_in_group": 1}
    assert counts[-1].refused == {"network.not_in_group": 1} and counts[H.chain_id].received == 0
    assert len(a.peers()) == 1  # two strikes: not yet penalised


async def test_a_peer_suspended_in_one_group_loses_that_groups_frames_and_keeps_the_other_groups(
        net: Net, ca: MintedCa) -> None:
    g_view, suspended = registry("WEBANK", "MYBANK")
    a = await net.host(*ca.node("a", "WEBANK")[:2], groups=[(G, g_view), (H, admit_everyone)])
    b = await net.host(*ca.node("b", "MYBANK")[:2], groups=[(G, admit_everyone), (H, admit_everyone)],
                       peers=(peer_of(a),))
    a_g, a_h, b_g, b_h = driver_view(a, G.name), driver_view(a, H.name), driver_view(b, G.name), driver_view(b, H.name)
    inbox_a, inbox_b = Inbox(b, G.name, H.name), Inbox(a, G.name, H.name)  # what b and a receive
    await until(lambda: all(("up", p) in e.events for e, p in (
        (a_g, b.identity.address), (a_h, b.identity.address), (b_g, a.identity.address), (b_h, a.identity.address))))
    suspended.add("MYBANK")  # G's registry at A's head suspends B; H's does not
    a.recheck()
    await until(lambda: ("down", b.identity.address) in a_g.events and ("down", a.identity.address) in b_g.events)
    assert [e for e, _ in a_h.events] == ["up"] and [e for e, _ in b_h.events] == ["up"]  # up in H all along
    assert a.peers(G.name) == [] and b.peers(G.name) == [] and len(a.peers(H.name)) == 1
    a.broadcast(G.name, Channel.CONSENSUS, b"g after")
    b.broadcast(G.name, Channel.CONSENSUS, b"b's g after")
    a.broadcast(H.name, Channel.CONSENSUS, b"h after")
    b.broadcast(H.name, Channel.CONSENSUS, b"b's h after")
    await until(lambda: inbox_a.of(H.name) == [b"h after"] and inbox_b.of(H.name) == [b"b's h after"])
    # a frame of G B had in flight when A withdrew G: dropped and counted, but not held against it
    b._sessions[a.identity.address].enqueue(frame_prefix(Channel.CONSENSUS, G.chain_id) + b"in flight")
    await until(lambda: a.frame_counts()[G.chain_id].refused == {"network.group_withdrawn": 1})
    assert inbox_a.of(G.name) == [] and inbox_b.of(G.name) == []
    assert "network.not_in_group" not in codes(a) and "network.not_a_member" not in codes(a)
    suspended.clear()  # reinstated: G is carried again
    a.recheck()
    await until(lambda: a_g.events.count(("up", b.identity.address)) == 2)
    await until(lambda: len(b.peers(G.name)) == 1)
    a.broadcast(G.name, Channel.CONSENSUS, b"g again")
    await until(lambda: inbox_a.of(G.name) == [b"g again"])


async def test_groups_are_added_to_and_removed_from_live_hosts(net: Net, ca: MintedCa) -> None:
    a = await net.host(*ca.node("a", "WEBANK")[:2], groups=[(H, admit_everyone)])
    b = await net.host(*ca.node("b", "MYBANK")[:2], groups=[(H, admit_everyone)], peers=(peer_of(a),))
    await until(lambda: len(a.peers(H.name)) == 1 and len(b.peers(H.name)) == 1)
    with pytest.raises(UnknownGroup):
        a.on_message(G.name, Channel.CONSENSUS, lambda s, p: None)
    await asyncio.to_thread(a.add_group, G)  # from another thread, as a group's start would
    with pytest.raises(GroupConflict):
        a.add_group(GroupTag("another name", G.chain_id, G.genesis_hash))
    a_g = driver_view(a, G.name)
    await until(lambda: G.name in b._sessions[a.identity.address].peer_held)  # B heard that A holds G now
    assert a.peers(G.name) == [] and a_g.events == []  # but B does not hold it yet
    b.add_group(G)
    b_g = driver_view(b, G.name)
    inbox = Inbox(b, G.name)
    await until(lambda: ("up", b.identity.address) in a_g.events and ("up", a.identity.address) in b_g.events)
    a.broadcast(G.name, Channel.CONSENSUS, b"first of G")
    await until(lambda: inbox.of(G.name) == [b"first of G"])
    a.remove_group(G.name)
    await until(lambda: ("down", a.identity.address) in b_g.events)
    assert a.groups() == (H,) and len(a.peers()) == 1 and len(b.peers(H.name)) == 1  # the session lives on, for H
    h_inbox = Inbox(b, H.name)
    a.broadcast(H.name, Channel.CONSENSUS, b"H goes on")
    await until(lambda: h_inbox.of(H.name) == [b"H goes on"])
    b.remove_group(H.name)  # now they share nothing: the session closes
    await until(lambda: a.peers() == [] and b.peers() == [])
    assert "network.no_common_group" in codes(a) | codes(b)


async def test_a_static_peer_added_at_runtime_is_dialled_and_one_already_dialled_is_left_alone(net: Net,
                                                                                                  ca: MintedCa) -> None:
    a = await net.host(*ca.node("a", "WEBANK")[:2], groups=[(H, admit_everyone)])
    b = await net.host(*ca.node("b", "MYBANK")[:2], groups=[(H, admit_everyone)])
    assert a.peers() == [] and b.peers() == []  # neither knows the other yet
    await asyncio.to_thread(b.add_peer, peer_of(a))  # from another thread, as a config reload would
    await until(lambda: len(a.peers(H.name)) == 1 and len(b.peers(H.name)) == 1)
    dials = len(b._tasks)
    b.add_peer(peer_of(a))
    b.add_peer(peer_of(b))  # itself
    await asyncio.sleep(0.05)
    assert len(b._tasks) == dials and len(b.peers()) == 1


async def test_the_handshake_refuses_a_shared_group_of_another_genesis_and_peers_with_no_group_in_common(
        net: Net, ca: MintedCa) -> None:
    a = await net.host(*ca.node("a", "WEBANK")[:2], groups=[(G, admit_everyone), (H, admit_everyone)])
    forked = GroupTag(G.name, G.chain_id, b"\x99" * 32)
    b = await net.host(*ca.node("b", "MYBANK")[:2], groups=[(forked, admit_everyone), (H, admit_everyone)],
                       peers=(peer_of(a),))
    await until(lambda: "network.handshake_mismatch" in codes(a) and "network.handshake_mismatch" in codes(b))
    other = GroupTag("elsewhere", 303, b"\x33" * 32)
    c = await net.host(*ca.node("c", "XWBANK")[:2], groups=[(other, admit_everyone)], peers=(peer_of(a),))
    await until(lambda: "network.no_common_group" in codes(a) and "network.no_common_group" in codes(c))
    assert a.peers() == [] and b.peers() == [] and c.peers() == []
