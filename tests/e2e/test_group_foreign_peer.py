"""A foreign peer in a ledger group: a test peer with a valid certificate of MYBANK's node, which shares
mybank-webank with WEBANK but is outside webank-xwbank, claims webank-xwbank too and, over its live session
with WEBANK's node, asks for that group's blocks by sync, sends it a signed QBFT message and gossips a tx
into it. WEBANK's node refuses all three with network.not_in_group, delivers none, drops the peer
(network.peer_penalised), and webank-xwbank's honest banks finalize before and after, as if it never came."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from colend.consortium.layout import read_manifest
from colend.consortium.setup import add_node
from network.hashing import keccak256
from network.p2p.abc import Channel, GroupTag, StaticPeer, admit_everyone
from network.p2p.groups import frame_prefix
from network.p2p.host import HostConfig, P2PHost
from network.qbft import PrivateKeySigner
from network.qbft.messages import Message, MessageKind, Vote, encode_message, sign_vote
from network.sync.messages import Blocks, GetBlocks, decode_sync_message, encode_sync_message
from network.wire import Lane, unwrap, wrap
from node.config import load_config
from node.consensus.block_codec import NodeBlockCodec
from node.keyfiles import read_key
from node.launch.peering import tls_files
from node.rlp_codec import encode as rlp_encode
from node.tx.signing import sign_dynamic_fee
from tests.e2e.consortium_cluster import Nodes, consortium_init, eventually, nodes_running

pytestmark = pytest.mark.e2e
BANKS = ("WEBANK", "MYBANK", "XWBANK")
PAIR, SHARED = "webank-xwbank", "mybank-webank"  # the group MYBANK is outside of, and the one it shares with WEBANK
FOREIGN = "mybank-1"  # MYBANK's second node: a certificate the consortium CA chain issued, run by the test alone
CONTROL_REQUEST, FORGED_REQUEST = 7, 8
SINK = b"\x5e" * 20
T = TypeVar("T")


@dataclass
class Groups(Nodes):
    nonces: dict[tuple[str, str], int]  # (group, bank) -> the bank account's next nonce there

    def signed_tx(self, group: str, bank: str, to: bytes = SINK) -> bytes:
        """The bank's next tx in the group (its nonce taken)."""
        raw = self.next_tx(group, bank, to)
        self.nonces[group, bank] += 1
        return raw

    def next_tx(self, group: str, bank: str, to: bytes) -> bytes:
        """A tx at the bank's next nonce in the group, the nonce left free."""
        nonce = self.nonces.setdefault((group, bank), 0)
        key = read_key(self.root / bank / "keys" / "account.key")
        return sign_dynamic_fee(key, self.chain_id(group), nonce, to, b"", gas=100_000)

    def finalize(self, group: str, sends: list[tuple[str, str]]) -> None:
        """Each (node, bank): a tx of the bank's sent to that node in `group`, final on every node sent to."""
        hashes = [(node, self.call(node, "eth_sendRawTransaction", "0x" + self.signed_tx(group, bank).hex(), group=group))
                  for node, bank in sends]
        for node, tx_hash in hashes:
            receipt = eventually(f"{tx_hash} final on {node}", lambda n=node, h=tx_hash: self.receipt_on(n, h, group))
            assert receipt["status"] == "0x1"

    def tag(self, group: str) -> GroupTag:
        """The group as the wire names it: its chain id and its real genesis hash (block 0, as a member serves it)."""
        genesis = self.call(self.holders(group)[0], "eth_getBlockByNumber", "0x0", False, group=group)
        return GroupTag(group, self.chain_id(group), bytes.fromhex(genesis["hash"][2:]))

    def frames(self, node: str, group: str) -> dict[str, Any]:
        """The node's host counters for the group's chain id (colend_status p2pFrames)."""
        return self.status(node, group)["p2pFrames"][str(self.chain_id(group))]


@pytest.fixture(scope="module")
def groups(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Groups]:
    root = tmp_path_factory.mktemp("groups") / "c"
    honest = consortium_init(root, BANKS, "--observers", "REGULATOR", "--groups", "WEBANK+XWBANK,MYBANK+WEBANK")
    add_node(root, member="MYBANK", role="validator", name=FOREIGN, base_port=0)  # the consortium's tooling issues it
    with nodes_running(root, honest) as launchers:  # every node but the foreign one
        yield Groups(root, read_manifest(root), launchers, {})


class ForeignPeer:
    """An in-process P2PHost on its own event loop thread, with the frames it got by (group, channel)."""

    def __init__(self, host: P2PHost) -> None:
        self.host = host
        self.got: list[tuple[str, Channel, bytes]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        for tag in host.groups():
            for channel in Channel:
                host.on_message(tag.name, channel, lambda _s, p, g=tag.name, c=channel: self.got.append((g, c, p)))

    def start(self) -> None:
        self._thread.start()
        self._run(self.host.start())

    def stop(self) -> None:
        self._run(self.host.stop())
        self._run(_settle())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def forge(self, peer: bytes, frames: list[bytes]) -> None:
        """Write raw frames on the live session with `peer`, past the host's own rule (which sends a group's frames
        only on sessions that carry it): what a forger's modified node would do."""
        async def write() -> None:
            session = self.host._sessions[peer]
            for frame in frames:
                assert session.enqueue(frame)

        self._run(write())

    def sync_answers(self, group: str) -> dict[int, Blocks]:
        """The sync answers (BLOCKS) the peer received in `group`, by request id."""
        out: dict[int, Blocks] = {}
        for got_group, channel, payload in list(self.got):
            if got_group == group and channel is Channel.CONSENSUS:
                lane, body = unwrap(payload)
                message = decode_sync_message(body) if lane is Lane.SYNC else None
                if isinstance(message, Blocks):
                    out[message.request_id] = message
        return out


async def _settle() -> None:
    """Let the tasks the host's stop cancelled (its sessions' writers) finish before the loop goes."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def foreign_peer(groups: Groups, claims: list[GroupTag], dial: str) -> ForeignPeer:
    config = load_config(groups.manifest.node(FOREIGN).config(groups.root))
    target = groups.manifest.node(dial)
    peer = StaticPeer(f"wss://127.0.0.1:{target.p2p_port}/p2p", target.member, _address(target.address))
    host = P2PHost(HostConfig(peers=(peer,), redial_min_s=30.0, redial_max_s=60.0), tls_files(config),
                   PrivateKeySigner(read_key(config.path(config.validator_key))),
                   [(tag, admit_everyone) for tag in claims])  # it admits anyone in anything it claims
    return ForeignPeer(host)


def frame(group: GroupTag, channel: Channel, payload: bytes) -> bytes:
    """A binary frame of the group, as the p2p host writes one: [channel][chain id][payload]."""
    return frame_prefix(channel, group.chain_id) + payload


def _address(hex_address: str) -> bytes:
    return bytes.fromhex(hex_address[2:])


def _until(what: str, condition: Callable[[], Any]) -> Any:
    return eventually(what, condition, timeout=30)


def test_a_peer_outside_a_group_is_refused_its_sync_consensus_and_gossip_and_the_members_go_on(groups: Groups) -> None:
    honest = [("webank-0", "WEBANK"), ("xwbank-0", "XWBANK")]
    groups.finalize(PAIR, honest)  # before
    pair, shared = groups.tag(PAIR), groups.tag(SHARED)
    webank = _address(groups.manifest.node("webank-0").address)
    before = groups.frames("webank-0", PAIR)
    assert before["group"] == PAIR and before["refused"] == {}
    height = groups.height("webank-0", PAIR)

    foreign = foreign_peer(groups, [shared, pair], dial="webank-0")
    foreign.start()
    try:
        _until("the foreign peer's session with WEBANK", lambda: foreign.host.peers(SHARED))
        assert foreign.host.peers(PAIR) == []  # WEBANK's node admits it in the group they share, not in PAIR
        # a sync request for PAIR's blocks, then the same request in the group it is in (answered: the control)
        foreign.forge(webank, [
            frame(pair, Channel.CONSENSUS, wrap(Lane.SYNC, encode_sync_message(GetBlocks(FORGED_REQUEST, 1, 16)))),
            frame(shared, Channel.CONSENSUS, wrap(Lane.SYNC, encode_sync_message(GetBlocks(CONTROL_REQUEST, 1, 16)))),
        ])
        _until("the answer to the control request", lambda: CONTROL_REQUEST in foreign.sync_answers(SHARED))
        # a QBFT round change signed by the peer's node key, and a gossiped tx PAIR's pool would admit
        vote = sign_vote(Vote(MessageKind.ROUND_CHANGE, height + 1, 5), foreign.host.signer)
        forged_tx = groups.next_tx(PAIR, "XWBANK", to=b"\xf0" * 20)  # XWBANK's honest next tx reuses the nonce
        foreign.forge(webank, [frame(pair, Channel.CONSENSUS, wrap(Lane.QBFT, encode_message(Message(vote), NodeBlockCodec()))),
                               frame(pair, Channel.TX, rlp_encode([forged_tx]))])
        _until("the peer told it is penalised", lambda: ("WEBANK", "network.peer_penalised") in foreign.host.refusals)
    finally:
        foreign.stop()

    after = groups.frames("webank-0", PAIR)
    assert after["refused"] == {"network.not_in_group": 3}  # all three forged frames: refused, none received
    foreign_hex = groups.manifest.node(FOREIGN).address.lower()
    log = groups.launchers["webank-0"].lines
    dropped = _until("WEBANK's node to log the drop", lambda: [  # its log pipe may trail the refusal sent to the peer
        line for line in list(log) if f"event=peer_dropped member=MYBANK address={foreign_hex}" in line])
    assert "code=network.peer_penalised" in dropped[0]
    refused = [line for line in list(log) if "event=frame_refused" in line and f"peer={foreign_hex}" in line]
    assert len(refused) == 3 and all(f"group={PAIR}" in line and "code=network.not_in_group" in line for line in refused)
    assert [line.split("channel=")[1][0] for line in refused] == ["1", "1", "2"]  # sync, QBFT, tx
    # nothing of PAIR reached the foreign peer: no answer to its request, not a frame of the group at all
    assert FORGED_REQUEST not in foreign.sync_answers(SHARED) and not [g for g, _, _ in foreign.got if g == PAIR]
    counts = foreign.host.frame_counts()[pair.chain_id]
    assert (counts.received, counts.refused) == (0, {})
    # nothing applied: the tx in no pool and no block of PAIR, XWBANK's nonce there unmoved
    tx_hash = "0x" + keccak256(forged_tx).hex()
    for node in ("webank-0", "xwbank-0", "regulator-0"):
        assert groups.call(node, "eth_getTransactionByHash", tx_hash, group=PAIR) is None
    xwbank = "0x" + PrivateKeySigner(read_key(groups.root / "XWBANK" / "keys" / "account.key")).address.hex()
    assert int(groups.call("webank-0", "eth_getTransactionCount", xwbank, "pending", group=PAIR), 16) == \
        groups.nonces[PAIR, "XWBANK"]
    # the members go on: PAIR finalizes the honest banks' txs (XWBANK's at the forged tx's nonce), and so does SHARED
    groups.finalize(PAIR, honest)
    groups.finalize(SHARED, [("mybank-0", "MYBANK"), ("webank-0", "WEBANK")])
    status = groups.status("webank-0", PAIR)
    assert not status["halted"] and int(status["head"]["number"], 16) > height
    groups.assert_one_chain(groups.holders(PAIR), PAIR)  # the same blocks and state on both members and the regulator
