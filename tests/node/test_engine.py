import random

import pytest

from node.chain.block import Block
from node.chain.seals import make_seal
from node.chain.state import StateDiff
from node.engine import NodeHalted
from node.errors import ChainIntegrityError, NotPermitted, StateCommitmentMismatch
from node.execution.executor import create_address
from node.tx.decode import decode_transaction
from tests.node.store_contract import STORE_BYTECODE, call_data
from tests.node.support import (
    BANK_A,
    BANK_B,
    OBSERVER,
    OUTSIDER,
    VALIDATOR,
    addr,
    evm_storage_view,
    mine,
    open_engine,
    producer,
    tx,
)


def build_chain(engine, blocks: int, seed: int = 7) -> None:
    """Random sets/clears/reverts from two banks over two Store contracts."""
    rng = random.Random(seed)
    nonces = {BANK_A: 0, BANK_B: 0}
    stores = []
    for key in (BANK_A, BANK_B):
        stores.append(create_address(addr(key), nonces[key]))
        engine.submit(tx(key, nonces[key], None, STORE_BYTECODE))
        nonces[key] += 1
    producer(engine).produce_once()
    for _ in range(blocks):
        for _ in range(rng.randint(1, 12)):
            key = rng.choice((BANK_A, BANK_B))
            store, k = rng.choice(stores), rng.randint(0, 15)
            op = rng.random()
            if op < 0.5:
                data = call_data("set(uint256,uint256)", k, rng.randint(0, 3))  # 0 reverts
            elif op < 0.8:
                data = call_data("clear(uint256)", k)
            else:
                data = call_data("setMany(uint256,uint256)", k, rng.randint(1, 4))
            engine.submit(tx(key, nonces[key], store, data))
            nonces[key] += 1
        assert producer(engine).produce_once() is not None


def full_state(engine):
    return sorted(engine.store.accounts()), sorted(engine.store.storage())


def test_observer_and_unknown_accounts_refused_at_admission(tmp_path):
    engine = open_engine(tmp_path / "db")
    for key in (OBSERVER, OUTSIDER):
        with pytest.raises(NotPermitted):
            engine.submit(tx(key, 0, b"\x22" * 20))
    assert len(engine.pool) == 0
    assert producer(engine).produce_once() is None  # no empty blocks by default


def test_non_permitted_tx_rechecked_at_execution_and_never_in_a_block(tmp_path):
    engine = open_engine(tmp_path / "db")
    for key in (OBSERVER, OUTSIDER):  # as if admitted before a permission change
        engine.pool.add(decode_transaction(tx(key, 0, b"\x22" * 20), engine.limits), 0, True)
    engine.submit(tx(BANK_A, 0, b"\x22" * 20))
    block = producer(engine).produce_once()
    assert [t.sender for t in block.txs] == [addr(BANK_A)]
    assert len(engine.pool) == 0
    assert engine.account(addr(OBSERVER)).nonce == 0


def test_restart_restores_head_commitment_and_state(tmp_path):
    engine = open_engine(tmp_path / "db")
    build_chain(engine, 15)
    head, root, state = engine.head_hash, engine.state_root(), full_state(engine)
    live_view = evm_storage_view(engine.executor.evm.journal_str)
    engine.store.close()
    again = open_engine(tmp_path / "db")
    assert (again.head_hash, again.state_root(), full_state(again)) == (head, root, state)
    # every slot the live EVM journaled is stored with its present value, and the restarted EVM reads the store
    assert {k: again.store.slot(*k) for k in live_view} == live_view
    assert len(live_view) > 40
    assert again.permitted(addr(BANK_A)) and not again.permitted(addr(OBSERVER))  # snapshot/revert cycles
    for address, slot, value in again.store.storage():
        assert again.executor.storage(address, slot) == value


def test_restore_equals_replay_from_genesis(tmp_path):
    source = open_engine(tmp_path / "a")
    build_chain(source, 12, seed=11)
    replica = open_engine(tmp_path / "b")
    for n in range(1, source.head.number + 1):
        block = source.store.block(source.store.hash_by_number(n))
        replica.import_block(Block.decode(block.encode(), replica.limits))
    assert (replica.head_hash, replica.state_root()) == (source.head_hash, source.state_root())
    assert full_state(replica) == full_state(source)
    for n in range(1, source.head.number + 1):
        assert replica.store.diff(n) == source.store.diff(n)


def test_state_commitment_mismatch_halts(tmp_path):
    source = open_engine(tmp_path / "a")
    mine(source, [tx(BANK_A, 0, None, STORE_BYTECODE)])
    replica = open_engine(tmp_path / "b")
    good = source.store.block(source.store.hash_by_number(1))
    forged_header = good.header.with_(state_root=b"\xee" * 32)
    forged = Block(forged_header, good.txs, (make_seal(VALIDATOR, forged_header.hash()),))
    with pytest.raises(StateCommitmentMismatch):
        replica.import_block(forged)
    assert replica.halted and replica.head.number == 0
    with pytest.raises(NodeHalted):
        replica.import_block(good)


def test_import_rejects_bad_seals_and_parents(tmp_path):
    source = open_engine(tmp_path / "a")
    mine(source, [tx(BANK_A, 0, None, STORE_BYTECODE)])
    replica = open_engine(tmp_path / "b")
    good = source.store.block(source.store.hash_by_number(1))
    with pytest.raises(ChainIntegrityError, match="seals"):
        replica.import_block(Block(good.header, good.txs, ()))
    with pytest.raises(ChainIntegrityError, match="non-validator"):
        replica.import_block(Block(good.header, good.txs, (make_seal(BANK_A, good.hash),)))
    replica.import_block(good)
    with pytest.raises(ChainIntegrityError, match="extend"):
        replica.import_block(good)


def test_failed_commit_leaves_old_head_and_rebuilds_evm(tmp_path, monkeypatch):
    engine = open_engine(tmp_path / "db")
    store = create_address(addr(BANK_A), 0)
    mine(engine, [tx(BANK_A, 0, None, STORE_BYTECODE)])
    head, root = engine.head_hash, engine.state_root()
    engine.submit(tx(BANK_A, 1, store, call_data("set(uint256,uint256)", 1, 5)))

    def crash(self):
        raise OSError("disk gone mid-batch")

    monkeypatch.setattr(StateDiff, "encode", crash)
    with pytest.raises(OSError):
        producer(engine).produce_once()
    monkeypatch.undo()
    assert (engine.head_hash, engine.state_root()) == (head, root)
    assert engine.executor.nonce(addr(BANK_A)) == 1  # the half-executed block left no trace in the EVM
    engine.store.close()
    reopened = open_engine(tmp_path / "db")
    assert (reopened.head_hash, reopened.state_root()) == (head, root)
    assert reopened.store.tx(decode_transaction(tx(BANK_A, 1, store, call_data("set(uint256,uint256)", 1, 5)),
                                                reopened.limits).hash) is None
    reopened.submit(tx(BANK_A, 1, store, call_data("set(uint256,uint256)", 1, 5)))
    assert producer(reopened).produce_once().number == 2


def test_journal_rebase_keeps_state(tmp_path, monkeypatch):
    monkeypatch.setattr("node.execution.executor.REBASE_JOURNAL_VECTORS", 5)
    engine = open_engine(tmp_path / "db")
    build_chain(engine, 6, seed=3)
    root, state = engine.state_root(), full_state(engine)
    assert engine.executor.evm.journal_len < 50
    engine.store.close()
    again = open_engine(tmp_path / "db")
    assert (again.state_root(), full_state(again)) == (root, state)


def test_on_chain_suspension_takes_effect_mid_block_and_at_admission(tmp_path):
    from contracts.ids import bank_id
    from contracts.suite import suite_codecs

    engine = open_engine(tmp_path / "db")
    consortium = engine.genesis.contracts["Consortium"]
    codec = suite_codecs()["Consortium"]
    mine(engine, [tx(BANK_A, 0, consortium, codec.encode_call("proposeSuspendMember", bank_id("MYBANK")))])
    assert engine.permitted(addr(BANK_B))
    vote = tx(BANK_B, 0, consortium, codec.encode_call("vote", 0))
    after = tx(BANK_B, 1, b"\x22" * 20)  # admitted while MYBANK is still active
    block = mine(engine, [vote, after])
    assert [t.nonce for t in block.txs] == [0]  # the vote suspended MYBANK; its next tx is skipped, not included
    assert engine.store.tx(block.txs[0].hash).receipt.status == 1
    assert len(engine.pool) == 0 and engine.account(addr(BANK_B)).nonce == 1
    with pytest.raises(NotPermitted):
        engine.submit(after)
