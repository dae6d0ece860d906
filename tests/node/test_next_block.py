"""A proposer that is behind executes its next block while the last one is written (node/next_block.py): the
block it then proposes is the one it would have built, and anything that gets in between (another proposer's
block, a lost child, a request the run does not fit) costs nothing but the run."""

import itertools
import os
import signal

from network.driver import DriverConfig
from network.transport import LoopbackTransport
from node.chain.block import Block
from node.consensus.chain_adapter import EngineChain, RunAheadPolicy
from node.engine import ChainEngine
from node.execution.process import ExecutionProcess
from node.next_block import NextBlock, RunAhead
from node.resume_file import MemoryResumeStore
from tests.node.support import (
    BANK_A,
    BANK_B,
    VALIDATOR,
    Clock,
    ManualClock,
    ManualTimers,
    addr,
    node_driver,
    producer,
    tx,
)

PERIOD_MS = 200
TO = b"\x22" * 20


def runs_counted(engine: ChainEngine) -> list[int]:
    """Count the blocks the engine sends to its execution process the ordinary way (not run ahead)."""
    assert isinstance(engine.executor, ExecutionProcess)
    calls: list[int] = []
    real = engine.executor.run_block

    def counted(ctx, txs, strict, gas_budget=None):
        calls.append(ctx.number)
        return real(ctx, txs, strict, gas_budget)

    engine.executor.run_block = counted  # type: ignore[method-assign]
    return calls


def replay(blocks: list[Block], engine: ChainEngine) -> None:
    """Strict validation (seals aside): every root, the gas and the state must be what this engine computes."""
    for block in blocks:
        engine.commit(engine.validate_block(block), block.seals)


def test_a_behind_proposer_proposes_the_block_it_ran_ahead(make_engine):
    engine = make_engine("node")
    for nonce in range(3):
        engine.submit(tx(BANK_A, nonce, TO))
    runs = runs_counted(engine)
    clock = Clock(engine.head.timestamp_ms)  # 250 ms per reading: each block is due when the last commits
    driver = node_driver(engine, VALIDATOR, LoopbackTransport(), ManualTimers(), MemoryResumeStore(), clock,
                         config=DriverConfig(period_ms=PERIOD_MS), max_txs=1,
                         run_ahead=RunAheadPolicy(clock, PERIOD_MS))
    driver.start()
    blocks = []
    for _ in range(3):
        assert driver.try_build()
        blocks.append(engine.store.block(engine.head_hash))
    assert [len(b.txs) for b in blocks] == [1, 1, 1]
    assert runs == [1]  # blocks 2 and 3 were executed while their parents were written
    assert all(b.header.timestamp_ms >= a.header.timestamp_ms + PERIOD_MS for a, b in itertools.pairwise(blocks))
    replica = make_engine("replica", execution_process=False)
    replay(blocks, replica)
    assert replica.state_root() == engine.state_root()


def test_a_run_ahead_serves_only_the_block_it_was_run_for():
    plan = NextBlock(5_000, b"\x01" * 20, 10, None)
    ahead = RunAhead(b"\xaa" * 32, plan, (), 1)
    assert ahead.serves(b"\xaa" * 32, 5_000, b"\x01" * 20, 10, None, b"")
    assert ahead.serves(b"\xaa" * 32, 9_000, b"\x01" * 20, 10, None, b"")  # asked later: still past the period
    for parent, ts, proposer, max_txs, max_gas, extra in (
        (b"\xbb" * 32, 5_000, b"\x01" * 20, 10, None, b""),  # another head
        (b"\xaa" * 32, 4_999, b"\x01" * 20, 10, None, b""),  # an earlier timestamp
        (b"\xaa" * 32, 5_000, b"\x02" * 20, 10, None, b""),  # another proposer
        (b"\xaa" * 32, 5_000, b"\x01" * 20, 11, None, b""),  # other limits
        (b"\xaa" * 32, 5_000, b"\x01" * 20, 10, 99, b""),
        (b"\xaa" * 32, 5_000, b"\x01" * 20, 10, None, b"x"),  # extra data the run did not carry
    ):
        assert not ahead.serves(parent, ts, proposer, max_txs, max_gas, extra)


def commit_running_ahead(engine: ChainEngine, proposer: bytes) -> Block:
    """Block 1 with the first pooled tx, committed with the next block (the second tx) sent ahead."""
    ts = engine.head.timestamp_ms + 1_000
    pending = engine.propose(ts, proposer, 1)
    assert pending is not None
    return engine.commit(pending, [], NextBlock(ts + PERIOD_MS, proposer, 1, None))


def test_a_request_the_run_does_not_fit_executes_afresh(make_engine):
    engine = make_engine("node")
    engine.submit(tx(BANK_A, 0, TO))
    engine.submit(tx(BANK_A, 1, TO))
    first = commit_running_ahead(engine, addr(VALIDATOR))
    runs = runs_counted(engine)
    pending = engine.propose(first.header.timestamp_ms + PERIOD_MS, addr(BANK_B), 1)  # another proposer
    assert pending is not None and runs == [2] and len(pending.execution.included) == 1
    second = engine.commit(pending, [])
    replica = make_engine("replica", execution_process=False)
    replay([first, second], replica)
    assert replica.state_root() == engine.state_root()


def test_another_proposers_block_in_between_discards_the_run(make_engine):
    engine = make_engine("node")
    for nonce in range(3):
        engine.submit(tx(BANK_A, nonce, TO))
    first = commit_running_ahead(engine, addr(VALIDATOR))
    other = make_engine("other", execution_process=False)
    replay([first], other)
    other.submit(tx(BANK_A, 1, TO))
    pending = other.propose(first.header.timestamp_ms + 5 * PERIOD_MS, addr(BANK_B), 1)
    assert pending is not None
    second = other.commit(pending, [])
    replay([second], engine)  # the child answers the run first; its answer is thrown away
    assert engine.state_root() == other.state_root()
    third = producer(engine).produce_once()  # and the engine goes on from the imported block
    assert third is not None and third.number == 3 and [t.nonce for t in third.txs] == [2]


def test_a_child_lost_before_running_ahead_costs_the_block_nothing(make_engine, caplog):
    engine = make_engine("node")
    engine.submit(tx(BANK_A, 0, TO))
    engine.submit(tx(BANK_A, 1, TO))
    ts = engine.head.timestamp_ms + 1_000
    pending = engine.propose(ts, addr(VALIDATOR), 1)
    executor = engine.executor
    assert pending is not None and isinstance(executor, ExecutionProcess) and executor.pid is not None
    lost = executor.pid
    os.kill(lost, signal.SIGKILL)
    os.waitpid(lost, 0)
    first = engine.commit(pending, [], NextBlock(ts + PERIOD_MS, addr(VALIDATOR), 1, None))
    assert engine.head_hash == first.hash and "event=run_ahead_failed" in caplog.text  # the diff could not go
    assert executor.pid not in (None, lost)
    second = producer(engine).produce_once()
    assert second is not None and [t.nonce for t in second.txs] == [1]
    replica = make_engine("replica", execution_process=False)
    replay([first, second], replica)
    assert replica.state_root() == engine.state_root()


def test_only_the_next_proposer_runs_ahead_and_only_once_the_block_is_due(make_engine):
    engine = make_engine("node", execution_process=False)
    engine.submit(tx(BANK_A, 0, TO))
    clock = ManualClock(engine.head.timestamp_ms + 1_000)
    pending = engine.propose(clock.now, addr(VALIDATOR), 10)
    assert pending is not None
    chain = EngineChain(engine, addr(VALIDATOR), 10, run_ahead=RunAheadPolicy(clock, PERIOD_MS))
    assert chain._next_block(pending) is None  # not due: the next block waits for the period and its txs
    clock.now += PERIOD_MS
    assert chain._next_block(pending) == NextBlock(clock.now, addr(VALIDATOR), 10, None)
    outsider = EngineChain(engine, addr(BANK_A), 10, run_ahead=RunAheadPolicy(clock, PERIOD_MS))
    assert outsider._next_block(pending) is None  # not a validator: never the next proposer
    assert EngineChain(engine, addr(VALIDATOR), 10)._next_block(pending) is None  # no policy: never


def test_a_next_block_with_room_left_is_not_run_ahead(make_engine):
    """A tx arriving while the block is written must still make the next block: only a full one runs ahead."""
    engine = make_engine("node")
    for nonce in range(3):
        engine.submit(tx(BANK_A, nonce, TO))
    ts = engine.head.timestamp_ms + 1_000
    pending = engine.propose(ts, addr(VALIDATOR), 1)
    assert pending is not None
    engine.commit(pending, [], NextBlock(ts + PERIOD_MS, addr(VALIDATOR), 5, None))  # 2 ready, room for 5
    engine.submit(tx(BANK_A, 3, TO))  # arrives as the block is written
    runs = runs_counted(engine)
    second = engine.propose(ts + PERIOD_MS, addr(VALIDATOR), 5)
    assert second is not None and runs == [2]
    assert [t.nonce for t in second.execution.included] == [1, 2, 3]
