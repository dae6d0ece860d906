"""The network's ConsensusDriver on the node's engine: a lone validator (the embedded default), a restart from
the persisted ResumeState, four validators on an in-memory network driven step by step (a wiped one coming
back through block sync), and seal checks on import."""

from __future__ import annotations

import asyncio
import shutil
from collections import deque
from dataclasses import dataclass, replace

import pytest
from eth_utils import to_checksum_address

from network.abc import Timer, TimerKind
from network.driver import ConsensusDriver, DriverConfig
from network.errors import ConsensusFailed
from network.qbft import PrivateKeySigner, QbftConfig, make_commit_seal, seal_signer
from network.qbft.errors import MalformedMessage
from network.qbft.resume import MemoryResumeStore
from network.transport import LoopbackTransport
from node.chain.block import Block
from node.consensus.block_codec import NodeBlockCodec, from_consensus, to_consensus
from node.consensus.clock import WallClock
from node.consensus.resume_file import ResumeFile
from node.consensus.thread import ConsensusThread
from node.engine.chain_engine import ChainEngine
from node.engine.chain_parts import ChainParts, open_chain
from node.errors import ChainIntegrityError
from node.store.chain_store import ChainStore
from tests.node.store_contract import STORE_BYTECODE
from tests.node.support import (
    BANK_A,
    BANK_B,
    GENESIS_MS,
    VALIDATOR,
    ManualClock,
    ManualTimers,
    addr,
    make_genesis,
    node_driver,
    open_engine,
    producer,
    tx,
)

VALIDATOR_KEYS = sorted((bytes([0x40 + i]) * 32 for i in range(4)), key=addr)  # proposer order
CONFIG = QbftConfig(base_timeout_ms=1_000)
# -- a lone validator ---------------------------------------------------------------------------------------


def test_lone_validator_builds_only_when_txs_are_pending_unless_empty_blocks_are_on(tmp_path):
    chain = open_engine(tmp_path / "db")
    assert producer(chain).produce_once() is None
    block = producer(chain, allow_empty=True).produce_once()
    assert block.number == 1 and block.txs == () and len(block.seals) == 1


def test_timestamps_strictly_increase_even_if_the_clock_does_not(tmp_path):
    chain = open_engine(tmp_path / "db")
    stuck = producer(chain, clock=ManualClock(5), allow_empty=True)
    first, second = stuck.produce_once(), stuck.produce_once()
    assert chain.genesis.timestamp_ms < first.header.timestamp_ms < second.header.timestamp_ms


def test_block_period_is_kept(tmp_path):
    chain = open_engine(tmp_path / "db")
    clock = ManualClock(GENESIS_MS)
    driver = node_driver(chain, VALIDATOR, LoopbackTransport(), ManualTimers(), ResumeFile(tmp_path / "resume"),
                         clock, config=DriverConfig(period_ms=200))
    driver.start()
    chain.front.submit(tx(BANK_A, 0, b"\x22" * 20))
    clock.now = GENESIS_MS + 150
    assert driver.build_delay_ms() == 50 and not driver.try_build()
    clock.now = GENESIS_MS + 200
    assert driver.build_delay_ms() == 0 and driver.try_build()
    assert chain.engine.head.number == 1 and chain.engine.head.timestamp_ms == GENESIS_MS + 200
    assert driver.build_delay_ms() == 200 and not driver.wants_txs
    clock.now += 200
    assert driver.build_delay_ms() is None and driver.wants_txs  # nothing pending: a tx will wake it


def test_blocks_finalized_by_consensus_carry_seals_that_import_verifies(tmp_path):
    source = open_engine(tmp_path / "a")
    lone = producer(source)
    for nonce in range(3):
        source.front.submit(tx(BANK_A, nonce, None, STORE_BYTECODE))
        assert lone.produce_once() is not None
    replica = open_engine(tmp_path / "b")
    for n in range(1, 4):
        block = source.store.block(source.store.hash_by_number(n))
        assert len(block.seals) == 1
        replica.engine.import_block(Block.decode(block.encode(), replica.limits))
    assert (replica.engine.head_hash, replica.engine.head.state_root) == (source.engine.head_hash, source.engine.head.state_root)


def test_runner_seals_pending_txs_and_waits_for_the_next(tmp_path):
    chain = open_engine(tmp_path / "db")

    async def scenario() -> None:
        thread = ConsensusThread()
        driver = node_driver(chain, VALIDATOR, LoopbackTransport(), thread, ResumeFile(tmp_path / "resume"),
                             WallClock(), config=DriverConfig(period_ms=20))
        sealed = asyncio.Event()
        loop = asyncio.get_running_loop()
        chain.engine.on_block(lambda block, receipts: loop.call_soon_threadsafe(sealed.set))
        await thread.start(driver, chain.front)
        serving = asyncio.create_task(thread.run())
        chain.front.submit(tx(BANK_A, 0, b"\x22" * 20))
        await asyncio.wait_for(sealed.wait(), timeout=10)
        sealed.clear()
        chain.front.submit(tx(BANK_A, 1, b"\x22" * 20))  # the next height: the runner waited for a tx
        await asyncio.wait_for(sealed.wait(), timeout=10)
        thread.stop()
        await serving

    asyncio.run(scenario())
    assert chain.engine.head.number == 2 and len(chain.front.pool) == 0


def test_runner_fires_round_timers_on_the_asyncio_loop(tmp_path):
    chain = open_engine(tmp_path / "db")

    class Watched(MemoryResumeStore):
        def save(self, state) -> None:
            super().save(state)
            if state.round >= 2:
                loop.call_soon_threadsafe(reached.set)

    async def scenario() -> None:
        thread = ConsensusThread()
        driver = node_driver(chain, VALIDATOR, LoopbackTransport(), thread, Watched(), WallClock(),
                             config=DriverConfig(qbft=QbftConfig(base_timeout_ms=20), period_ms=20))
        await thread.start(driver, chain.front)
        serving = asyncio.create_task(thread.run())
        await asyncio.wait_for(reached.wait(), timeout=10)  # idle: rounds 0 and 1 timed out
        thread.stop()
        await serving

    loop = asyncio.new_event_loop()
    reached = asyncio.Event()
    try:
        loop.run_until_complete(scenario())
    finally:
        loop.close()
    assert chain.engine.head.number == 0


# -- restarts -----------------------------------------------------------------------------------------------


def lone_driver(path, clock, resume_path) -> tuple[ChainParts, ConsensusDriver, ManualTimers]:
    chain = open_chain(ChainStore(str(path)), make_genesis())
    timers = ManualTimers()
    driver = node_driver(chain, VALIDATOR, LoopbackTransport(), timers, ResumeFile(resume_path), clock,
                         config=DriverConfig(period_ms=0))
    driver.start()
    return chain, driver, timers


def test_restart_after_a_crash_resumes_at_the_persisted_height_and_next_round(tmp_path):
    clock = ManualClock(GENESIS_MS)
    resume = tmp_path / "consensus.resume"
    chain, driver, timers = lone_driver(tmp_path / "db", clock, resume)
    for nonce in range(2):
        chain.front.submit(tx(BANK_A, nonce, b"\x22" * 20))
        clock.now += 10
        assert driver.try_build()
    for _ in range(3):  # no txs: rounds 0, 1, 2 of height 3 time out; each round is persisted before its votes
        height, round_, _delay = timers.latest
        driver.on_timer(Timer(TimerKind.ROUND, height, round_))
    assert (driver.core.height, driver.core.round) == (3, 3)
    persisted = ResumeFile(resume).load()
    assert (persisted.height, persisted.round) == (3, 3)
    chain.store.close()  # the process dies here: nothing else is flushed or cleaned up

    chain, driver, timers = lone_driver(tmp_path / "db", clock, resume)
    assert chain.engine.head.number == 2
    assert (driver.core.height, driver.core.round) == (3, 4)  # never again in a round it may have voted in
    assert ResumeFile(resume).load().round == 4  # and that is durable before anything else happens
    chain.front.submit(tx(BANK_A, 2, b"\x22" * 20))
    clock.now += 10
    assert driver.try_build() and chain.engine.head.number == 3
    assert (driver.core.height, driver.core.round) == (4, 0)


def test_a_failed_commit_restarts_from_the_lock_and_commits_the_same_block(tmp_path, monkeypatch):
    clock = ManualClock(GENESIS_MS)
    chain, driver, _timers = lone_driver(tmp_path / "db", clock, tmp_path / "consensus.resume")
    chain.front.submit(tx(BANK_A, 0, b"\x22" * 20))
    attempted: list[bytes] = []
    real_commit = ChainEngine.commit

    def fail_once(self, pending, seals, while_written=None):
        attempted.append(pending.header.hash())
        if len(attempted) == 1:
            raise OSError("disk gone mid-batch")
        return real_commit(self, pending, seals, while_written)

    monkeypatch.setattr(ChainEngine, "commit", fail_once)
    clock.now += 10
    assert driver.try_build()
    assert chain.engine.head.number == 1 and attempted == [chain.engine.head_hash, chain.engine.head_hash]  # the locked block
    assert (driver.core.height, driver.core.round) == (2, 0)


def test_resume_from_an_older_height_is_ignored_and_from_a_newer_one_refused(tmp_path):
    clock = ManualClock(GENESIS_MS)
    resume = tmp_path / "consensus.resume"
    chain, driver, _ = lone_driver(tmp_path / "db", clock, resume)
    chain.front.submit(tx(BANK_A, 0, b"\x22" * 20))
    driver.try_build()
    chain.store.close()
    ResumeFile(resume).save(replace(ResumeFile(resume).load(), height=1, round=7))  # crashed before Persist(2)
    chain, driver, _ = lone_driver(tmp_path / "db", clock, resume)
    assert (driver.core.height, driver.core.round) == (2, 0)
    chain.store.close()
    ResumeFile(resume).save(replace(ResumeFile(resume).load(), height=9))
    with pytest.raises(ConsensusFailed, match="height 9"):
        lone_driver(tmp_path / "db", clock, resume)


# -- four validators ----------------------------------------------------------------------------------------


class MemoryNetwork:
    """Every message goes into one FIFO of (src, dst, payload); the test delivers them in order."""

    def __init__(self, addresses: list[bytes]) -> None:
        self.queue: deque[tuple[int, int, bytes]] = deque()
        self.index_of = {a: i for i, a in enumerate(addresses)}
        self.size = len(addresses)
        self.disconnects: list[tuple[int, bytes, str]] = []

    def transport(self, index: int) -> MemoryTransport:
        return MemoryTransport(self, index)


@dataclass
class MemoryTransport:
    network: MemoryNetwork
    index: int

    def send(self, peer: bytes, payload: bytes) -> None:
        self.network.queue.append((self.index, self.network.index_of[peer], payload))

    def broadcast(self, payload: bytes) -> None:
        for j in range(self.network.size):
            if j != self.index:
                self.network.queue.append((self.index, j, payload))

    def disconnect(self, peer: bytes, reason: str) -> None:
        self.network.disconnects.append((self.index, peer, reason))

    def set_handler(self, handler) -> None:
        pass


class Timers:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.due: dict[TimerKind, tuple[int, Timer]] = {}

    def set_timer(self, timer: Timer, delay_ms: int) -> None:
        self.due[timer.kind] = (self.clock.now + delay_ms, timer)


class ValidatorNetwork:
    """Validators on one MemoryNetwork, each with its own engine (own LevelDB) and resume file."""

    def __init__(self, tmp_path, keys: list[bytes] = VALIDATOR_KEYS, engines: list[ChainParts] | None = None) -> None:
        self.path = tmp_path
        self.keys = keys
        self.genesis = replace(make_genesis(), validators=tuple(addr(k) for k in keys))
        self.clock = ManualClock(GENESIS_MS)
        self.network = MemoryNetwork([addr(k) for k in keys])
        self.engines = engines or [open_chain(ChainStore(str(tmp_path / f"v{i}")), self.genesis) for i in range(len(keys))]
        self.size = len(keys)
        self.timers = [Timers(self.clock) for _ in keys]
        self.drivers: list[ConsensusDriver] = [self._driver(i) for i in range(self.size)]
        self.down: set[int] = set()
        for i in range(self.size):
            self.start(i)

    def _driver(self, i: int) -> ConsensusDriver:
        return node_driver(self.engines[i], self.keys[i], self.network.transport(i), self.timers[i],
                           ResumeFile(self.path / f"v{i}.resume"), self.clock,
                           config=DriverConfig(qbft=CONFIG, period_ms=100))

    def start(self, i: int) -> None:
        """Start validator i and connect it to every running peer (as the p2p layer would)."""
        self.down.discard(i)
        self.drivers[i].start()
        for j in self.up():
            if j != i:
                self.drivers[j].on_peer_connected(addr(self.keys[i]))
                self.drivers[i].on_peer_connected(addr(self.keys[j]))

    def stop(self, i: int) -> None:
        self.down.add(i)
        self.timers[i].due.clear()
        for j in self.up():
            self.drivers[j].on_peer_disconnected(addr(self.keys[i]))

    def wipe(self, i: int) -> None:
        """Validator i loses its data directory and resume file, and comes back from genesis."""
        self.stop(i)
        self.engines[i].store.close()
        shutil.rmtree(self.path / f"v{i}")
        (self.path / f"v{i}.resume").unlink()
        self.engines[i] = open_chain(ChainStore(str(self.path / f"v{i}")), self.genesis)
        self.drivers[i] = self._driver(i)
        self.timers[i].due.clear()
        self.start(i)

    def up(self) -> list[int]:
        return [i for i in range(self.size) if i not in self.down]

    def submit(self, raw: bytes) -> None:
        for i in self.up():
            self.engines[i].front.submit(raw)  # no tx gossip yet: every validator's pool gets it
            self.drivers[i].on_tx_arrived()

    def step(self) -> None:
        """Deliver one message, or, when none is in flight, advance the clock to the next timer and fire it."""
        if self.network.queue:
            src, dst, payload = self.network.queue.popleft()
            if src in self.up() and dst in self.up():
                self.drivers[dst].on_message(addr(self.keys[src]), payload)
        else:
            self.advance()

    def run_until(self, height: int, max_steps: int = 20_000) -> None:
        """Deliver, and when nothing moves advance the clock to the next timer: deterministic."""
        for _ in range(max_steps):
            if all(self.engines[i].engine.head.number >= height for i in self.up()):
                return
            self.step()
        raise AssertionError(f"no progress to height {height}: heads {[e.head.number for e in self.engines]}")

    def advance(self) -> None:
        wakeups = [when for i in self.up() for when, _ in self.timers[i].due.values()]
        assert wakeups, "nothing left to happen"
        self.clock.now = max(self.clock.now, min(wakeups))
        for i in self.up():
            for kind, (when, timer) in sorted(self.timers[i].due.items()):
                if when <= self.clock.now and self.timers[i].due.get(kind) == (when, timer):
                    del self.timers[i].due[kind]
                    self.drivers[i].on_timer(timer)


def block_at(chain: ChainParts, number: int) -> Block:
    return chain.store.block(chain.store.hash_by_number(number))


def assert_same_chain(network: ValidatorNetwork, nodes: list[int], upto: int) -> None:
    for n in range(1, upto + 1):
        blocks = [block_at(network.engines[i], n) for i in nodes]
        assert len({b.hash for b in blocks}) == 1
        assert len({b.header.state_root for b in blocks}) == 1
        assert all(len(b.seals) >= 3 for b in blocks)


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
