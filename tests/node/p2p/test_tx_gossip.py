"""Tx gossip: the txs of one loop turn go out as one frame to every peer holding a pool; each tx enters a pool once."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

import rlp

from network.p2p.abc import Channel
from node.errors import NonceTooLow
from node.p2p.tx_gossip import TxGossip


@dataclass
class Peer:
    address: bytes
    role: str


@dataclass
class FakeHost:
    connected: list[Peer]
    sent: list[tuple[bytes, Channel, bytes]] = field(default_factory=list)
    receivers: dict[Channel, object] = field(default_factory=dict)

    def on_message(self, group: str, channel: Channel, receive: object) -> None:
        self.receivers[channel] = receive

    def peers(self, group: str) -> list[Peer]:
        return self.connected

    def send(self, group: str, address: bytes, channel: Channel, payload: bytes) -> None:
        self.sent.append((address, channel, payload))


@dataclass
class FakeFront:
    submitted: list[bytes] = field(default_factory=list)
    syncs: int = 0
    synced: threading.Event = field(default_factory=threading.Event)

    def submit(self, raw: bytes) -> bytes:
        self.submitted.append(raw)
        if raw == b"stale":
            raise NonceTooLow("nonce too low")
        return raw

    def durable(self) -> None:
        self.syncs += 1
        self.synced.set()


async def test_txs_admitted_in_one_loop_turn_travel_as_one_frame_and_never_to_an_observer() -> None:
    host = FakeHost([Peer(b"\x01" * 20, "BANK"), Peer(b"\x02" * 20, "OBSERVER"), Peer(b"\x03" * 20, "BANK")])
    gossip = TxGossip(FakeFront(), host, "main")  # type: ignore[arg-type]
    for raw in (b"tx1", b"tx2", b"tx3"):
        gossip.local(raw, raw)
    assert host.sent == []  # not yet: the rest of this turn's txs join the frame
    await asyncio.sleep(0)
    assert [(a, c) for a, c, _ in host.sent] == [(b"\x01" * 20, Channel.TX), (b"\x03" * 20, Channel.TX)]
    assert all(rlp.decode(frame) == [b"tx1", b"tx2", b"tx3"] for _, _, frame in host.sent)


def test_each_gossiped_tx_enters_the_pool_once_and_bad_frames_or_stale_txs_are_dropped() -> None:
    front = FakeFront()
    host = FakeHost([])
    gossip = TxGossip(front, host, "main")  # type: ignore[arg-type]
    receive = host.receivers[Channel.TX]
    receive(b"\x01" * 20, rlp.encode([b"a", b"b", b"stale"]))  # type: ignore[operator]
    receive(b"\x03" * 20, rlp.encode([b"b", b"c", b"a"]))  # type: ignore[operator]  # the same txs from another peer
    receive(b"\x03" * 20, b"\xff\xff not rlp")  # type: ignore[operator]
    assert front.submitted == [b"a", b"b", b"stale", b"c"]
    assert (gossip.received, gossip.rejected) == (4, 1)


def test_an_observer_takes_no_gossiped_txs() -> None:
    host = FakeHost([])
    TxGossip(FakeFront(), host, "main", pool=False)  # type: ignore[arg-type]
    assert Channel.TX not in host.receivers


async def test_the_frames_of_one_loop_turn_share_one_journal_sync_off_the_loop() -> None:
    front = FakeFront()
    host = FakeHost([])
    TxGossip(front, host, "main")  # type: ignore[arg-type]
    receive = host.receivers[Channel.TX]
    receive(b"\x01" * 20, rlp.encode([b"a", b"b"]))  # type: ignore[operator]
    receive(b"\x03" * 20, rlp.encode([b"c"]))  # type: ignore[operator]
    receive(b"\x03" * 20, rlp.encode([b"stale"]))  # type: ignore[operator]  # nothing admitted: nothing to sync
    assert front.syncs == 0  # not on the loop, and not before this turn's other frames
    assert await asyncio.to_thread(front.synced.wait, 10)  # in the loop's default executor
    assert front.syncs == 1
