"""The network's ConsensusDriver on the node's engine with four validators on an in-memory network driven step by
step (a wiped one coming back through block sync), and seal checks on import."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_utils import to_checksum_address

from network.qbft import PrivateKeySigner, make_commit_seal, seal_signer
from network.qbft.errors import MalformedMessage
from node.chain.block import Block
from node.consensus.block_codec import NodeBlockCodec, from_consensus, to_consensus
from node.consensus.resume_file import ResumeFile
from node.engine.chain_parts import ChainParts, open_chain
from node.errors import ChainIntegrityError
from node.store.chain_store import ChainStore
from tests.node.consensus.validator_network import CONFIG, VALIDATOR_KEYS, ValidatorNetwork, assert_same_chain, block_at
from tests.node.store_contract import STORE_BYTECODE
from tests.node.support import (
    BANK_A,
    BANK_B,
    GENESIS_MS,
    VALIDATOR,
    addr,
    make_genesis,
    open_engine,
    producer,
    tx,
)


def test_four_validators_finalize_identical_blocks_and_go_on_with_one_stopped(tmp_path):
    c = ValidatorNetwork(tmp_path)
    for nonce in range(4):
        c.submit(tx(BANK_A, nonce, None, STORE_BYTECODE))
        c.run_until(nonce + 1)
    assert_same_chain(c, [0, 1, 2, 3], 4)
    proposers = {block_at(c.engines[0], n).header.proposer for n in range(1, 5)}
    assert len(proposers) == 4  # round-robin: every validator proposed one of them

    c.stop(2)
    started = c.clock.now
    for nonce in range(4, 10):
        c.submit(tx(BANK_A, nonce, None, STORE_BYTECODE))
        c.run_until(nonce + 1)
    assert_same_chain(c, [0, 1, 3], 10)
    assert c.engines[2].engine.head.number == 4
    stopped = addr(VALIDATOR_KEYS[2])
    assert all(block_at(c.engines[0], n).header.proposer != stopped for n in range(5, 11))
    assert c.clock.now - started >= CONFIG.base_timeout_ms  # its turns to propose timed out into round 1
    assert ResumeFile(tmp_path / "v0.resume").load().height >= 11

    replica = open_chain(ChainStore(str(tmp_path / "replica")), c.genesis)  # a syncing node checks every seal
    for n in range(1, 11):
        replica.engine.import_block(Block.decode(block_at(c.engines[0], n).encode(), replica.limits))
    assert block_at(replica, 10).header.state_root == block_at(c.engines[0], 10).header.state_root


def test_a_restarted_validator_that_missed_blocks_catches_up_by_sync(tmp_path):
    c = ValidatorNetwork(tmp_path)
    c.submit(tx(BANK_A, 0, None, STORE_BYTECODE))
    c.run_until(1)
    c.stop(3)
    for nonce in range(1, 6):
        c.submit(tx(BANK_A, nonce, None, STORE_BYTECODE))
        c.run_until(nonce + 1)
    assert c.engines[3].engine.head.number == 1
    c.start(3)  # data kept: its ResumeState is for a height it will import, so it is ignored
    c.run_until(6)
    assert c.drivers[3].sync.stats["imported"] >= 5 and c.drivers[3].core is not None
    assert_same_chain(c, [0, 1, 2, 3], 6)


def test_a_wiped_validator_catches_up_by_sync_and_votes_again(tmp_path):
    c = ValidatorNetwork(tmp_path)
    for nonce in range(3):
        c.submit(tx(BANK_A, nonce, None, STORE_BYTECODE))
        c.run_until(nonce + 1)
    c.stop(2)
    for nonce in range(3, 8):
        c.submit(tx(BANK_A, nonce, None, STORE_BYTECODE))
        c.run_until(nonce + 1)
    c.wipe(2)
    assert c.engines[2].engine.head.number == 0 and c.drivers[2].core is None  # behind: syncs before it votes
    c.run_until(8)
    assert c.drivers[2].sync.stats["imported"] >= 8 and c.drivers[2].core is not None
    assert_same_chain(c, [0, 1, 2, 3], 8)

    c.stop(0)  # from here no block is final without validator 2's vote: quorum(4) = 3 of the 3 left
    height = max(c.engines[i].engine.head.number for i in c.up())
    for nonce in range(8, 11):
        c.submit(tx(BANK_A, nonce, None, STORE_BYTECODE))
        c.run_until(height + nonce - 7)
    rejoined = addr(VALIDATOR_KEYS[2])
    for i in c.up():
        for n in range(height + 1, height + 4):
            block = block_at(c.engines[i], n)
            assert rejoined in {seal_signer(block.hash, s) for s in block.seals}
    c.start(0)
    c.run_until(height + 4)
    assert_same_chain(c, [0, 1, 2, 3], height + 3)  # identical blocks and state commitments on all four


def test_two_stopped_validators_of_four_stop_finality(tmp_path):
    c = ValidatorNetwork(tmp_path)
    c.submit(tx(BANK_A, 0, b"\x22" * 20))
    c.run_until(1)
    c.stop(1)
    c.stop(3)
    c.submit(tx(BANK_A, 1, b"\x22" * 20))
    for _ in range(200):
        c.step()
    assert c.clock.now > GENESIS_MS + 10 * CONFIG.base_timeout_ms
    assert {c.engines[i].engine.head.number for i in c.up()} == {1}


def test_idle_validators_propose_empty_blocks_before_their_rounds_time_out(tmp_path):
    c = ValidatorNetwork(tmp_path)
    c.run_until(3)
    assert {c.drivers[i].core.round for i in c.up()} == {0}
    assert all(block_at(c.engines[0], n).txs == () for n in (1, 2, 3))


def test_a_validator_added_on_chain_seals_from_its_effective_block_on(tmp_path):
    from contracts.suite import suite_codecs

    newcomer = bytes([0x51]) * 32
    genesis = make_genesis()
    first = open_chain(ChainStore(str(tmp_path / "first")), genesis)
    lone = producer(first)
    consortium, codec = genesis_contract(first), suite_codecs()["Consortium"]
    first.front.submit(tx(BANK_A, 0, consortium, codec.encode_call("proposeAddValidator", to_checksum_address(addr(newcomer)))))
    assert lone.produce_once().number == 1
    first.front.submit(tx(BANK_B, 0, consortium, codec.encode_call("vote", 0)))
    assert lone.produce_once().number == 2  # the vote passes: effective from block 3
    # no restart: the core was handed height 3's set only after block 2 was committed
    assert set(lone.driver.core.validators) == {addr(VALIDATOR), addr(newcomer)} and lone.driver.core.height == 3
    first.front.submit(tx(BANK_A, 1, b"\x22" * 20))
    lone.driver.try_build()
    assert first.engine.head.number == 2  # one seal of two is no longer final

    second = open_chain(ChainStore(str(tmp_path / "second")), genesis)  # the newcomer syncs blocks 1 and 2
    first.store.close()
    first = open_chain(ChainStore(str(tmp_path / "first")), genesis)
    pair = ValidatorNetwork(tmp_path, keys=[VALIDATOR, newcomer], engines=[first, second])
    pair.submit(tx(BANK_A, 1, b"\x22" * 20))
    pair.run_until(3)
    assert pair.drivers[1].sync.stats["imported"] >= 2
    block = block_at(first, 3)
    assert len(block.seals) == 2 and block_at(second, 3).hash == block.hash

    replica = open_chain(ChainStore(str(tmp_path / "replica")), genesis)
    for n in (1, 2):
        replica.engine.import_block(block_at(first, n))
    with pytest.raises(ChainIntegrityError, match="has 1 commit seals, needs 2"):
        replica.engine.import_block(Block(block.header, block.txs, block.seals[:1]))
    replica.engine.import_block(block)


def genesis_contract(chain: ChainParts) -> bytes:
    return chain.genesis.contracts["Consortium"]


# -- seal checks on import ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sealed_by_four(tmp_path_factory):
    path = tmp_path_factory.mktemp("four")
    c = ValidatorNetwork(path)
    c.submit(tx(BANK_A, 0, None, STORE_BYTECODE))
    c.run_until(1)
    block = c.engines[0].store.block(c.engines[0].store.hash_by_number(1))
    return c.genesis, block


@pytest.mark.parametrize("tamper, reason", [
    (lambda b: b.seals[:2], "has 2 commit seals, needs 3"),
    (lambda b: (*b.seals[:2], b"\x01" * 65), "seal"),
    (lambda b: (*b.seals[:2], make_commit_seal(b.hash, PrivateKeySigner(BANK_A))), "non-validator"),
    (lambda b: (*b.seals[:2], b.seals[0]), "seal"),
    (lambda b: tuple(make_commit_seal(b.header.with_(extra_data=b"other").hash(), PrivateKeySigner(k))
                     for k in VALIDATOR_KEYS), "non-validator"),
    (lambda b: (), "has 0 commit seals"),
])
def test_import_refuses_a_block_without_a_quorum_of_valid_seals(tmp_path, sealed_by_four, tamper, reason):
    genesis, block = sealed_by_four
    replica = open_chain(ChainStore(str(tmp_path / "replica")), genesis)
    with pytest.raises(ChainIntegrityError, match=reason):
        replica.engine.import_block(Block(block.header, block.txs, tuple(tamper(block))))
    assert replica.engine.head.number == 0
    replica.engine.import_block(block)
    assert replica.engine.head_hash == block.hash


# -- the block codec ----------------------------------------------------------------------------------------


def test_consensus_block_codec_round_trips_and_hashes_the_header(tmp_path):
    chain = open_engine(tmp_path / "db")
    chain.front.submit(tx(BANK_A, 0, None, STORE_BYTECODE))
    block = producer(chain).produce_once()
    codec = NodeBlockCodec()
    carried = to_consensus(block)
    assert codec.hash(carried) == block.hash
    assert codec.decode(codec.encode(carried)) == carried
    assert from_consensus(carried, chain.limits).txs == block.txs
    size = carried.payload[0] - 0xF7  # the block is a long list: its length takes `size` bytes
    body = carried.payload[1 + size:]
    padded = bytes([0xF8 + size]) + b"\x00" + carried.payload[1 : 1 + size] + body  # a leading zero in the length
    for garbage in (b"", b"\x80", b"\xc0", carried.payload[:-1], carried.payload + b"\x00", padded):
        with pytest.raises(MalformedMessage):
            codec.decode(garbage)
    with pytest.raises(ChainIntegrityError):
        from_consensus(replace(carried, payload=Block(block.header, block.txs, (b"\x01" * 65,)).encode()), chain.limits)


# -- sync imports on the engine -----------------------------------------------------------------------------


def test_a_synced_block_that_does_not_execute_is_rejected_and_one_with_another_state_halts(tmp_path):
    from network.abc import SealedBlock
    from network.errors import BlockRejected, ChainHalted
    from node.consensus.chain_adapter import EngineChain

    source = open_engine(tmp_path / "source")
    source.front.submit(tx(BANK_A, 0, None, STORE_BYTECODE))
    block = producer(source).produce_once()
    replica = open_engine(tmp_path / "replica")
    adapter = EngineChain(replica, addr(VALIDATOR))
    codec = NodeBlockCodec()

    def sealed(header) -> tuple[SealedBlock, bytes]:
        """Re-sealed by the validator: a quorum vouches for it, so only execution can tell."""
        carried = to_consensus(Block(header, block.txs))
        block_hash = codec.hash(carried)
        return SealedBlock(carried, (make_commit_seal(block_hash, PrivateKeySigner(VALIDATOR)),)), block_hash

    with pytest.raises(BlockRejected) as rejected:
        adapter.import_block(*sealed(block.header.with_(gas_used=block.header.gas_used + 1)))
    assert rejected.value.code == "network.block_rejected" and replica.engine.head.number == 0 and not replica.engine.halted
    with pytest.raises(ChainHalted) as halted:
        adapter.import_block(*sealed(block.header.with_(state_root=b"\x07" * 32)))
    assert halted.value.code == "network.chain_halted" and replica.engine.halted and replica.engine.head.number == 0
    with pytest.raises(ChainHalted):  # a halted node imports nothing more, not even the true block
        adapter.import_block(SealedBlock(to_consensus(block), block.seals), block.hash)
