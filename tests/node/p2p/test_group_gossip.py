"""Tx gossip over a real p2p host holding several ledger groups: a group's txs reach the pools of its
members only, by that group's membership view, whatever else the sender and the receivers hold."""

from __future__ import annotations

import rlp

from network.errors import NotAMember
from network.p2p.abc import Channel, GroupTag, admit_everyone
from network.pki.identity import NodeIdentity
from node.p2p.tx_gossip import TxGossip
from tests.network.p2p.hosts import Net, peer_of, until
from tests.network.pki_factory import MintedCa
from tests.node.p2p.test_tx_gossip import FakeFront

G = GroupTag("webank+mybank", 401, b"\x41" * 32)
H = GroupTag("all", 402, b"\x42" * 32)


def members_of_g(identity: NodeIdentity) -> None:
    if identity.member_id not in ("WEBANK", "MYBANK"):
        raise NotAMember(f"{identity.member_id} is not in {G.name}")


async def test_a_groups_txs_reach_its_members_pools_only(net: Net, ca: MintedCa) -> None:
    groups = [(G, members_of_g), (H, admit_everyone)]
    a = await net.host(*ca.node("a", "WEBANK")[:2], groups=groups)
    b = await net.host(*ca.node("b", "MYBANK")[:2], groups=groups, peers=(peer_of(a),))
    c = await net.host(*ca.node("c", "XWBANK")[:2], groups=[(G, admit_everyone), (H, admit_everyone)],
                       peers=(peer_of(a), peer_of(b)))
    await until(lambda: all(len(h.peers()) == 2 for h in (a, b, c)))
    fronts = {(h, g.name): FakeFront() for h in (a, b, c) for g in (G, H)}
    gossip = {key: TxGossip(front, key[0], key[1]) for key, front in fronts.items()}  # type: ignore[arg-type]
    gossip[a, G.name].local(b"g tx", b"g tx hash")
    gossip[a, H.name].local(b"h tx", b"h tx hash")
    gossip[c, G.name].local(b"c's g tx", b"c's g tx hash")  # C's pool of G has no peer to go to
    await until(lambda: fronts[b, G.name].submitted == [b"g tx"] and fronts[b, H.name].submitted == [b"h tx"]
                and fronts[c, H.name].submitted == [b"h tx"])
    a.broadcast(H.name, Channel.TX, rlp.encode([b"after"]))  # in order behind anything of G A could have sent C
    await until(lambda: fronts[c, H.name].submitted == [b"h tx", b"after"])
    assert fronts[c, G.name].submitted == [] and fronts[a, G.name].submitted == []
    assert c.frame_counts()[G.chain_id].received == 0
