"""The proposer of the next block executes its txs as they arrive (node/engine/next_block.py): the block it then proposes
is the one it would have built from the same txs, it checks strictly on every other node, and anything that gets
in between (another proposer's block, a lost child, a request the open block does not fit) costs only the open
block."""

import itertools
import os
import signal
from typing import cast

from hypothesis import given, settings
from hypothesis import strategies as st

from network.abc import TimerKind
from network.driver import DriverConfig
from network.qbft.resume import MemoryResumeStore
from network.transport import LoopbackTransport
from node.chain.block import Block
from node.consensus.chain_adapter import EngineChain, NextBlockPolicy
from node.engine.chain_parts import ChainParts
from node.engine.next_block import NextBlock, OpenNext
from node.execution.abc import BlockContext, BlockExecution, BlockTicket
from node.execution.evm import EvmExecutor, create_address
from node.tx.decode import decode_transaction
from node.tx.model import Transaction
from tests.node.store_contract import STORE_BYTECODE, call_data
from tests.node.support import (
    BANK_A,
    BANK_B,
    OUTSIDER,
    VALIDATOR,
    ManualClock,
    ManualTimers,
    addr,
    execution_process,
    mine,
    node_driver,
    producer,
    tx,
)

PERIOD_MS = 200
TO = b"\x22" * 20


def runs_counted(chain: ChainParts) -> list[int]:
    """Count the blocks the engine executes the ordinary way (all at once, not from an open block)."""
    calls: list[int] = []
    real = chain.executor.run_block

    def counted(ctx, txs, strict, gas_budget=None):
        calls.append(ctx.number)
        return real(ctx, txs, strict, gas_budget)

    chain.executor.run_block = counted  # type: ignore[method-assign]
    return calls


def replay(blocks: list[Block], chain: ChainParts) -> None:
    """Strict validation (seals aside): every root, the gas and the state must be what this engine computes."""
    for block in blocks:
        chain.engine.commit(chain.engine.validate_block(block), block.seals)


def assert_a_replica_agrees(make_engine, chain: ChainParts, blocks: list[Block]) -> None:
    """`blocks` validate strictly on a fresh in-process engine, which ends in `engine`'s state."""
    replica = make_engine("replica", execution_process=False)
    replay(blocks, replica)
    assert replica.engine.head.state_root == chain.engine.head.state_root


def test_a_proposer_waiting_for_its_period_executes_arriving_txs_in_its_next_block(make_engine):
    chain = make_engine("node")
    chain.front.submit(tx(BANK_A, 0, TO))
    clock = ManualClock(chain.engine.head.timestamp_ms + 1_000)
    timers = ManualTimers()
    driver = node_driver(chain, VALIDATOR, LoopbackTransport(), timers, MemoryResumeStore(), clock,
                         config=DriverConfig(period_ms=PERIOD_MS), next_block=NextBlockPolicy(clock, PERIOD_MS))
    driver.start()
    assert driver.try_build()  # block 1: its period had long passed
    first = chain.store.block(chain.engine.head_hash)
    runs = runs_counted(chain)
    for nonce in (1, 2):  # arrive while the proposer waits for block 2's period
        clock.now += 50
        chain.front.submit(tx(BANK_A, nonce, TO))
        driver.on_tx_arrived()
    assert driver.chain.producer._open is not None and len(driver.chain.producer._open.txs) == 2  # type: ignore[attr-defined]
    assert not driver.try_build()  # not due yet
    clock.now = first.header.timestamp_ms + PERIOD_MS
    chain.front.submit(tx(BANK_B, 0, TO))  # arrives as the period ends: it still joins the block
    assert TimerKind.BUILD in timers.pending and driver.try_build()
    second = chain.store.block(chain.engine.head_hash)
    assert second.number == 2 and runs == []  # never executed the ordinary way
    assert [(t.sender, t.nonce) for t in second.txs] == [(addr(BANK_A), 1), (addr(BANK_A), 2), (addr(BANK_B), 0)]
    assert second.header.timestamp_ms == first.header.timestamp_ms + PERIOD_MS
    assert_a_replica_agrees(make_engine, chain, [first, second])


def signed_block_txs(chain: ChainParts) -> list[Transaction]:
    """A deploy, then calls that store, log and revert, from two senders, and one tx with a nonce gap (skipped)."""
    a = addr(BANK_A)
    store = create_address(a, chain.read_view.account(a).nonce)
    raws = [tx(BANK_A, 0, None, STORE_BYTECODE)]
    raws += [tx(BANK_A, 1 + i, store, call_data("setMany(uint256,uint256)", 10 * i, 3)) for i in range(4)]
    raws += [tx(BANK_B, i, store, call_data("set(uint256,uint256)", i, i)) for i in range(4)]  # i = 0 reverts
    raws += [tx(BANK_B, 9, store, call_data("set(uint256,uint256)", 1, 1))]  # nonce 9: skipped
    return [decode_transaction(raw, chain.limits) for raw in raws]


def as_compared(out: BlockExecution) -> tuple:
    return (out.included, out.receipts, [(t.hash, why) for t, why in out.skipped], out.accounts, out.slot_changes,
            out.codes, out.gas_used)


def test_txs_run_in_any_number_of_extends_give_the_block_one_run_gives(make_engine):
    chain = make_engine("node", execution_process=False)
    executor = cast(EvmExecutor, chain.executor)  # opened to execute in process
    txs = signed_block_txs(chain)
    ctx = BlockContext(1, chain.engine.head.timestamp_ms // 1000 + 1, addr(VALIDATOR), chain.genesis.block_gas_limit)

    @settings(max_examples=25, deadline=None)
    @given(cuts=st.lists(st.integers(min_value=0, max_value=len(txs)), max_size=5),
           budget=st.sampled_from([None, 150_000, 400_000]))
    def same_block(cuts: list[int], budget: int | None) -> None:
        at_once = executor.execute_block(ctx, txs, strict=False, gas_budget=budget)
        block = executor.open_block(ctx, budget)
        bounds = [0, *sorted(cuts), len(txs)]
        for start, end in itertools.pairwise(bounds):
            executor.extend_block(block, txs[start:end])
        sealed = executor.seal_block(block)
        assert sealed is not None and as_compared(sealed.execution) == as_compared(at_once)
        assert executor.nonce(addr(BANK_A)) == 0  # the EVM is left as it was before the block

    same_block()
    whole = executor.execute_block(ctx, txs, strict=False)
    assert len(whole.included) == 9 and len(whole.skipped) == 1 and [r.status for r in whole.receipts].count(0) == 1


def test_an_open_block_serves_only_the_request_it_was_opened_for():
    plan = NextBlock(5_000, b"\x01" * 20, 10, None)
    opened = OpenNext(b"\xaa" * 32, plan, BlockTicket(1))
    assert opened.serves(b"\xaa" * 32, 5_000, b"\x01" * 20, 10, None, b"")
    assert opened.serves(b"\xaa" * 32, 9_000, b"\x01" * 20, 10, None, b"")  # asked later: still past the period
    for parent, ts, proposer, max_txs, max_gas, extra in (
        (b"\xbb" * 32, 5_000, b"\x01" * 20, 10, None, b""),  # another head
        (b"\xaa" * 32, 4_999, b"\x01" * 20, 10, None, b""),  # an earlier timestamp than the EVM saw
        (b"\xaa" * 32, 5_000, b"\x02" * 20, 10, None, b""),  # another proposer
        (b"\xaa" * 32, 5_000, b"\x01" * 20, 11, None, b""),  # other limits
        (b"\xaa" * 32, 5_000, b"\x01" * 20, 10, 99, b""),
        (b"\xaa" * 32, 5_000, b"\x01" * 20, 10, None, b"x"),  # extra data the open block does not carry
    ):
        assert not opened.serves(parent, ts, proposer, max_txs, max_gas, extra)


def commit_opening_next(chain: ChainParts, proposer: bytes, max_txs: int = 1) -> Block:
    """Block 1 with the first pooled tx, committed with the next block opened on it."""
    ts = chain.engine.head.timestamp_ms + 1_000
    pending = chain.producer.propose(ts, proposer, 1)
    assert pending is not None
    return chain.producer.commit_opening_next(pending, [], NextBlock(ts + PERIOD_MS, proposer, max_txs, None))


def test_a_tx_arriving_after_the_block_opened_still_joins_it(make_engine):
    chain = make_engine("node")
    for nonce in range(3):
        chain.front.submit(tx(BANK_A, nonce, TO))
    first = commit_opening_next(chain, addr(VALIDATOR), max_txs=5)  # opens block 2 with nonces 1 and 2
    chain.front.submit(tx(BANK_A, 3, TO))  # arrives as block 1 is written
    runs = runs_counted(chain)
    second = chain.producer.propose(first.header.timestamp_ms + PERIOD_MS, addr(VALIDATOR), 5)
    assert second is not None and runs == []
    assert [t.nonce for t in second.execution.included] == [1, 2, 3]
    second_block = chain.engine.commit(second, [])
    assert_a_replica_agrees(make_engine, chain, [first, second_block])


def test_a_request_the_open_block_does_not_fit_executes_afresh(make_engine):
    chain = make_engine("node")
    chain.front.submit(tx(BANK_A, 0, TO))
    chain.front.submit(tx(BANK_A, 1, TO))
    first = commit_opening_next(chain, addr(VALIDATOR))
    runs = runs_counted(chain)
    pending = chain.producer.propose(first.header.timestamp_ms + PERIOD_MS, addr(BANK_B), 1)  # another proposer
    assert pending is not None and runs == [2] and len(pending.execution.included) == 1
    second = chain.engine.commit(pending, [])
    assert_a_replica_agrees(make_engine, chain, [first, second])


def test_another_proposers_block_in_between_discards_the_open_block(make_engine):
    chain = make_engine("node")
    for nonce in range(3):
        chain.front.submit(tx(BANK_A, nonce, TO))
    first = commit_opening_next(chain, addr(VALIDATOR))
    other = make_engine("other", execution_process=False)
    replay([first], other)
    other.front.submit(tx(BANK_A, 1, TO))
    pending = other.producer.propose(first.header.timestamp_ms + 5 * PERIOD_MS, addr(BANK_B), 1)
    assert pending is not None
    second = other.engine.commit(pending, [])
    replay([second], chain)  # validating it discards the open block in the child
    assert chain.engine.head.state_root == other.engine.head.state_root
    third = producer(chain).produce_once()  # and the engine goes on from the imported block
    assert third is not None and third.number == 3 and [t.nonce for t in third.txs] == [2]


def kill_child(chain: ChainParts) -> int:
    executor = execution_process(chain)
    assert executor.pid is not None
    lost = executor.pid
    os.kill(lost, signal.SIGKILL)
    os.waitpid(lost, 0)
    return lost


def test_a_child_lost_before_the_next_block_opens_costs_the_block_nothing(make_engine, caplog):
    chain = make_engine("node")
    chain.front.submit(tx(BANK_A, 0, TO))
    chain.front.submit(tx(BANK_A, 1, TO))
    ts = chain.engine.head.timestamp_ms + 1_000
    pending = chain.producer.propose(ts, addr(VALIDATOR), 1)
    assert pending is not None
    lost = kill_child(chain)
    first = chain.producer.commit_opening_next(pending, [], NextBlock(ts + PERIOD_MS, addr(VALIDATOR), 1, None))
    assert chain.engine.head_hash == first.hash and "event=open_block_failed" in caplog.text  # the diff could not go
    assert execution_process(chain).pid not in (None, lost)
    second = producer(chain).produce_once()
    assert second is not None and [t.nonce for t in second.txs] == [1]
    assert_a_replica_agrees(make_engine, chain, [first, second])


def test_a_child_lost_while_a_block_is_open_costs_only_the_open_block(make_engine, caplog):
    chain = make_engine("node")
    for nonce in range(2):
        chain.front.submit(tx(BANK_A, nonce, TO))
    first = commit_opening_next(chain, addr(VALIDATOR), max_txs=5)
    lost = kill_child(chain)
    chain.front.submit(tx(BANK_A, 2, TO))
    chain.producer.prepare(NextBlock(first.header.timestamp_ms + PERIOD_MS, addr(VALIDATOR), 5, None))  # cannot reach it
    assert "event=open_block_failed" in caplog.text and execution_process(chain).pid not in (None, lost)
    second = chain.producer.propose(first.header.timestamp_ms + PERIOD_MS, addr(VALIDATOR), 5)
    assert second is not None and [t.nonce for t in second.execution.included] == [1, 2]
    assert_a_replica_agrees(make_engine, chain, [first, chain.engine.commit(second, [])])


def test_a_gas_budget_reached_in_the_open_block_leaves_the_rest_to_the_next(make_engine):
    chain = make_engine("node")
    a = addr(BANK_A)
    store = create_address(a, 0)
    mine(chain, [tx(BANK_A, 0, None, STORE_BYTECODE)])
    for nonce in range(1, 5):
        chain.front.submit(tx(BANK_A, nonce, store, call_data("set(uint256,uint256)", nonce, nonce), gas=100_000))
    budget = 150_000  # the first set uses ~45k: a second fits (its 100k limit), a third does not
    ts = chain.engine.head.timestamp_ms + PERIOD_MS
    chain.producer.prepare(NextBlock(ts, addr(VALIDATOR), 10, budget))
    chain.producer.prepare(NextBlock(ts, addr(VALIDATOR), 10, budget))  # nothing new: the open block stays as it is
    pending = chain.producer.propose(ts, addr(VALIDATOR), 10, max_gas=budget)
    assert pending is not None and [t.nonce for t in pending.execution.included] == [1, 2]
    chain.engine.commit(pending, [])
    third = producer(chain).produce_once()
    assert third is not None and [t.nonce for t in third.txs] == [3, 4]


def test_only_the_next_proposer_opens_its_next_block(make_engine):
    chain = make_engine("node", execution_process=False)
    chain.front.submit(tx(BANK_A, 0, TO))
    clock = ManualClock(chain.engine.head.timestamp_ms + 1_000)
    pending = chain.producer.propose(clock.now, addr(VALIDATOR), 10)
    assert pending is not None
    adapter = EngineChain(chain, addr(VALIDATOR), 10, next_block=NextBlockPolicy(clock, PERIOD_MS))
    due = pending.header.timestamp_ms + PERIOD_MS
    assert adapter._next_block(pending) == NextBlock(due, addr(VALIDATOR), 10, None)  # timestamped when due
    clock.now = due + 70
    assert adapter._next_block(pending) == NextBlock(due + 70, addr(VALIDATOR), 10, None)  # or now, if later
    outsider = EngineChain(chain, addr(OUTSIDER), 10, next_block=NextBlockPolicy(clock, PERIOD_MS))
    assert outsider._next_block(pending) is None  # not a validator: never the next proposer
    assert EngineChain(chain, addr(VALIDATOR), 10)._next_block(pending) is None  # no policy: never
