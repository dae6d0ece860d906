"""The network's ConsensusDriver on the node's engine as a lone validator (the embedded default): block building,
the block period, the asyncio runner, and a restart from the persisted ResumeState."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from network.abc import Timer, TimerKind
from network.driver import ConsensusDriver, DriverConfig
from network.errors import ConsensusFailed
from network.qbft import QbftConfig
from network.qbft.resume import MemoryResumeStore
from network.transport import LoopbackTransport
from node.chain.block import Block
from node.consensus.clock import WallClock
from node.consensus.resume_file import ResumeFile
from node.consensus.thread import ConsensusThread
from node.engine.chain_engine import ChainEngine
from node.engine.chain_parts import ChainParts, open_chain
from node.store.chain_store import ChainStore
from tests.node.store_contract import STORE_BYTECODE
from tests.node.support import (
    BANK_A,
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
