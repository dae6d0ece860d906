"""Blocks executed in the execution process (as a running node does) equal blocks executed in-process, and a
lost or failing child never costs the chain a block or its state."""

import os
import signal

import pytest

from node.chain.block import Block
from node.defaults import EXECUTION_NICENESS
from node.engine.chain_parts import ChainParts, open_chain
from node.errors import ChainIntegrityError
from node.execution.abc import BlockContext
from node.execution.process import ExecutionProcess, ExecutionProcessFailed
from node.store.chain_store import ChainStore
from node.tx.decode import decode_transaction
from tests.node.engine.test_chain_engine import build_chain, full_state
from tests.node.engine.test_next_block import as_compared, signed_block_txs
from tests.node.store_contract import STORE_BYTECODE
from tests.node.support import BANK_A, VALIDATOR, addr, execution_process, make_genesis, mine, producer, tx


def child_pid(chain: ChainParts) -> int:
    pid = execution_process(chain).pid
    assert pid is not None
    return pid


def test_blocks_from_the_process_equal_blocks_executed_in_process(make_engine, tmp_path):
    in_child = make_engine("child")
    in_process = open_chain(ChainStore(str(tmp_path / "local")), make_genesis())
    stores = build_chain(in_child, 10, seed=21)
    for n in range(1, in_child.engine.head.number + 1):  # strict import: same txs, receipts, bloom, gas and state
        block = in_child.store.block(in_child.store.hash_by_number(n))
        in_process.engine.import_block(Block.decode(block.encode(), in_process.limits))
        assert in_process.store.diff(n) == in_child.store.diff(n)
    assert (in_process.engine.head_hash, in_process.engine.head.state_root) == (in_child.engine.head_hash,
                                                                              in_child.engine.head.state_root)
    build_chain(in_process, 4, seed=22, stores=stores)
    for n in range(in_child.engine.head.number + 1, in_process.engine.head.number + 1):  # and the other way round
        in_child.engine.import_block(in_process.store.block(in_process.store.hash_by_number(n)))
    assert (in_child.engine.head_hash, in_child.engine.head.state_root) == (in_process.engine.head_hash,
                                                                          in_process.engine.head.state_root)
    assert full_state(in_child) == full_state(in_process)


def test_a_killed_child_costs_one_attempt_and_no_state(make_engine):
    chain = make_engine("db")
    store = tx(BANK_A, 0, None, STORE_BYTECODE)
    mine(chain, [store])
    head, root = chain.engine.head_hash, chain.engine.head.state_root
    first = child_pid(chain)
    os.kill(first, signal.SIGKILL)
    chain.front.submit(tx(BANK_A, 1, None, STORE_BYTECODE))
    with pytest.raises(ExecutionProcessFailed):
        chain.producer.propose(chain.engine.head.timestamp_ms + 1_000, addr(BANK_A), 10)
    assert (chain.engine.head_hash, chain.engine.head.state_root) == (head, root)
    assert child_pid(chain) != first  # rebuilt from the store at once
    block = producer(chain).produce_once()  # the tx is still pooled and goes into the next block
    assert block is not None and block.number == 2 and len(block.txs) == 1
    reopened_root = chain.engine.head.state_root
    chain.engine.close()
    chain.store.close()
    again = make_engine("db")
    assert again.engine.head.state_root == reopened_root


def test_an_invalid_block_is_refused_and_the_child_goes_on(make_engine):
    source, replica = make_engine("a"), make_engine("b")
    mine(source, [tx(BANK_A, 0, None, STORE_BYTECODE)])
    good = source.store.block(source.store.hash_by_number(1))
    pid = child_pid(replica)
    later = mine(source, [tx(BANK_A, 1, None, STORE_BYTECODE)])
    wrong_nonce = Block(good.header, later.txs, good.seals)  # sealed header, but a tx whose nonce is not due
    with pytest.raises(ChainIntegrityError, match="invalid tx"):
        replica.engine.import_block(wrong_nonce)
    assert child_pid(replica) == pid  # a refused block is not a failure of the process
    replica.engine.import_block(good)
    assert replica.engine.head.state_root == source.store.block(source.store.hash_by_number(1)).header.state_root


def test_a_never_loaded_process_says_so():
    process = ExecutionProcess(1, 30_000_000, None)
    with pytest.raises(ExecutionProcessFailed, match="not running"):
        process.block_committed(None, bytes)  # type: ignore[arg-type]


def test_an_open_block_in_the_child_is_the_block_one_run_gives_and_any_other_request_discards_it(make_engine):
    chain = make_engine("db")
    executor = execution_process(chain)
    txs = signed_block_txs(chain)
    ctx = BlockContext(1, chain.engine.head.timestamp_ms // 1000 + 1, addr(VALIDATOR), chain.genesis.block_gas_limit)
    whole = executor.run_block(ctx, txs, False)
    ticket = executor.open_block(ctx)
    for start in range(0, len(txs), 3):  # sent unanswered, three at a time
        executor.extend_block(ticket, txs[start : start + 3])
    sealed = executor.seal_block(ticket)
    assert sealed is not None and as_compared(sealed.execution) == as_compared(whole.execution)
    assert (sealed.roots, sealed.encoded_receipts) == (whole.roots, whole.encoded_receipts)
    assert executor.seal_block(ticket) is None  # sealed once
    discarded = executor.open_block(ctx)
    executor.extend_block(discarded, txs[:2])
    assert executor.run_block(ctx, txs, False).roots == whole.roots  # runs on the head's state, not the open block's
    executor.extend_block(discarded, txs[2:])  # ignored: the run discarded the block
    assert not executor.is_open(discarded) and executor.seal_block(discarded) is None
    again = executor.open_block(ctx)
    executor.extend_block(again, [decode_transaction(t.raw, chain.limits) for t in txs])
    reopened = executor.seal_block(again)
    assert reopened is not None and reopened.roots == whole.roots


def test_the_execution_process_yields_the_cores_to_the_node(make_engine):
    """The node's RPC and admission get a core first while clients send (node/defaults.py EXECUTION_NICENESS)."""
    chain = make_engine("db")
    pid = child_pid(chain)
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + EXECUTION_NICENESS)
