"""BlockSync on its own: range requests, verified imports, penalties for lying peers, request timeouts."""

from __future__ import annotations

from dataclasses import replace

from network.qbft.block import RlpBlockCodec
from network.qbft.seals import make_commit_seal
from network.sim.fake_chain import FakeChain
from network.sim.world import validator_signer
from network.sync.machine import BlockSync, BroadcastSync, DropPeer, SendTo, SyncConfig
from network.sync.messages import Blocks, GetBlocks, Status, decode_sync_message, encode_sync_message

CODEC = RlpBlockCodec()
SIGNERS = [validator_signer(i) for i in range(4)]
VALIDATORS = tuple(sorted(s.address for s in SIGNERS))
PEER, OTHER, ME = SIGNERS[0].address, SIGNERS[1].address, SIGNERS[3].address
CONFIG = SyncConfig(max_blocks_per_request=4, request_timeout_ms=100, max_timeouts=2, ban_ms=1_000)


def sealed_chain(height: int) -> FakeChain:
    """A chain whose blocks each carry a quorum (3 of 4) of commit seals."""
    chain = FakeChain(CODEC, VALIDATORS, (), author=0)
    for h in range(1, height + 1):
        block = chain.build_block(h, 10 * h, True)
        block_hash = CODEC.hash(block)
        chain.commit(block, block_hash, tuple(make_commit_seal(block_hash, s) for s in SIGNERS[:3]))
    return chain


def status(chain: FakeChain, lie: int = 0) -> bytes:
    head = chain.head()
    return encode_sync_message(Status(head.height + lie, head.block_hash))


def only_request(actions) -> GetBlocks:
    [action] = [a for a in actions if isinstance(a, SendTo)]
    request = decode_sync_message(action.message)
    assert isinstance(request, GetBlocks)
    return request


def answer(source: FakeChain, request: GetBlocks, config: SyncConfig = CONFIG) -> Blocks:
    [reply] = BlockSync(source, CODEC, config).on_message(ME, encode_sync_message(request), 0)
    message = decode_sync_message(reply.message)
    assert isinstance(message, Blocks)
    return message


def test_a_node_behind_fetches_bounded_ranges_and_imports_them_all() -> None:
    source, lagging = sealed_chain(10), FakeChain(CODEC, VALIDATORS, (), author=3)
    sync = BlockSync(lagging, CODEC, CONFIG)
    assert sync.target_height(1) is None and sync.lag() == 0  # no peer has told its height yet
    request = only_request(sync.on_message(PEER, status(source), 0))
    assert sync.lag() == 10
    while True:
        assert request.count <= CONFIG.max_blocks_per_request and request.start == lagging.head().height + 1
        actions = sync.on_message(PEER, encode_sync_message(answer(source, request)), 0)
        if lagging.head().height == 10:
            break
        request = only_request(actions)
    assert [e.block_hash for e in lagging.entries] == [e.block_hash for e in source.entries]
    assert [e.state for e in lagging.entries] == [e.state for e in source.entries]
    assert sync.stats["imported"] == 10 and sync.target_height(1) == 10 and sync.target_height(2) is None
    assert sync.lag() == 0


def test_a_response_stops_at_its_byte_budget_but_always_carries_one_block() -> None:
    source = sealed_chain(6)
    tight = replace(CONFIG, response_bytes=1)
    assert len(answer(source, GetBlocks(1, 1, 4), tight).blocks) == 1
    assert len(answer(source, GetBlocks(1, 1, 4)).blocks) == 4
    assert len(answer(source, GetBlocks(1, 5, 4)).blocks) == 2  # only what it holds
    assert answer(source, GetBlocks(1, 9, 4)).blocks == ()


def forged(blocks: Blocks, how: str) -> Blocks:
    raw, seals = blocks.blocks[0]
    block = CODEC.decode(raw)
    if how == "payload":
        raw = CODEC.encode(replace(block, payload=block.payload + b"x"))
    elif how == "parent":
        raw = CODEC.encode(replace(block, parent_hash=b"\x09" * 32))
    elif how == "seals":
        seals = seals[:2]
    else:
        raw = b"\xc3garbage"
    return Blocks(blocks.request_id, ((raw, seals),))


def test_a_peer_serving_a_forged_block_is_dropped_and_the_next_request_goes_to_another_peer() -> None:
    source = sealed_chain(3)
    for how, reason in (("payload", "network.sync_bad_seals"), ("parent", "network.sync_wrong_parent"),
                        ("seals", "network.sync_bad_seals"), ("garbage", "network.sync_malformed_block")):
        lagging = FakeChain(CODEC, VALIDATORS, (), author=3)
        sync = BlockSync(lagging, CODEC, CONFIG)
        sync.on_message(OTHER, status(source), 0)
        sync.request = None  # ask PEER first, as if OTHER's turn had passed
        request = only_request(sync.on_message(PEER, status(source), 0))
        bad = forged(answer(source, request), how)
        actions = sync.on_message(PEER, encode_sync_message(bad), 0)
        assert DropPeer(PEER, reason) in actions and lagging.head().height == 0
        retry = [a for a in actions if isinstance(a, SendTo)]
        assert [a.peer for a in retry] == [OTHER]
        assert sync.on_message(PEER, status(source), 10) == [] and PEER not in sync.peers  # ignored while banned
        assert sync.stats["ignored_banned"] == 1


def test_a_peer_that_advertises_a_height_it_cannot_serve_is_dropped() -> None:
    source = sealed_chain(2)
    sync = BlockSync(FakeChain(CODEC, VALIDATORS, (), author=3), CODEC, CONFIG)
    request = only_request(sync.on_message(PEER, status(source, lie=1_000), 0))
    assert request.count == CONFIG.max_blocks_per_request
    actions = sync.on_message(PEER, encode_sync_message(Blocks(request.request_id, ())), 0)
    assert DropPeer(PEER, "network.sync_false_height") in actions
    assert sync.target_height(1) is None  # its claim no longer counts


def test_a_silent_peer_times_out_and_after_repeated_timeouts_is_dropped() -> None:
    source = sealed_chain(2)
    sync = BlockSync(FakeChain(CODEC, VALIDATORS, (), author=3), CODEC, CONFIG)
    first = only_request(sync.on_message(PEER, status(source), 0))
    assert [a for a in sync.on_tick(50) if not isinstance(a, BroadcastSync)] == []  # not overdue yet
    second = only_request(sync.on_tick(100))  # overdue: asked again (the only peer ahead)
    assert second.request_id != first.request_id and sync.stats["timeouts"] == 1
    late = Blocks(first.request_id, answer(source, first).blocks)
    assert [a for a in sync.on_message(PEER, encode_sync_message(late), 120) if isinstance(a, SendTo)] == []
    assert sync.stats["unsolicited"] == 1 and sync.chain.head().height == 0
    assert DropPeer(PEER, "network.sync_peer_silent") in sync.on_tick(200)
    assert sync.on_tick(1_300)[0] == BroadcastSync(status(sync.chain))  # the ban has expired
    assert PEER not in sync.banned
