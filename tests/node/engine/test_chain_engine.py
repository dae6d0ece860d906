import random

import pytest

from network.errors import ConsensusFailed
from network.qbft import PrivateKeySigner, make_commit_seal
from node.chain.block import Block
from node.chain.state import StateDiff
from node.errors import ChainIntegrityError, NodeHalted, NotPermitted, StateCommitmentMismatch
from node.execution.evm import create_address
from node.tx.decode import decode_transaction
from tests.node.store_contract import STORE_BYTECODE, call_data, slot_of
from tests.node.support import (
    BANK_A,
    BANK_B,
    OBSERVER,
    OUTSIDER,
    VALIDATOR,
    addr,
    mine,
    open_engine,
    producer,
    tx,
)


def build_chain(chain, blocks: int, seed: int = 7, stores: list[bytes] | None = None,
                model: dict | None = None) -> list[bytes]:
    """Random sets/clears/reverts from two banks over two Store contracts (deployed first unless given).

    `model` (store, key) -> value is kept by plain Python rules of the Store contract: an independent oracle.
    """
    rng = random.Random(seed)
    model = {} if model is None else model
    nonces = {key: chain.read_view.account(addr(key)).nonce for key in (BANK_A, BANK_B)}
    if stores is None:
        stores = []
        for key in (BANK_A, BANK_B):
            stores.append(create_address(addr(key), nonces[key]))
            chain.front.submit(tx(key, nonces[key], None, STORE_BYTECODE))
            nonces[key] += 1
        producer(chain).produce_once()
    for _ in range(blocks):
        for _ in range(rng.randint(1, 12)):
            key = rng.choice((BANK_A, BANK_B))
            store, k = rng.choice(stores), rng.randint(0, 15)
            op = rng.random()
            if op < 0.5:
                v = rng.randint(0, 3)
                data = call_data("set(uint256,uint256)", k, v)  # 0 reverts
                if v:
                    model[(store, k)] = v
            elif op < 0.8:
                data = call_data("clear(uint256)", k)
                model[(store, k)] = 0
            else:
                n = rng.randint(1, 4)
                data = call_data("setMany(uint256,uint256)", k, n)
                model.update({(store, k + i): i + 1 for i in range(n)})
            chain.front.submit(tx(key, nonces[key], store, data))
            nonces[key] += 1
        assert producer(chain).produce_once() is not None
    return stores


def test_restarts_never_change_gas_or_receipts(tmp_path):
    """pyrevm keeps whatever it loaded warm; a restarted node must still charge what a continuous one does."""
    chain = open_engine(tmp_path / "a")
    stores = build_chain(chain, 4, seed=5)
    for seed in (6, 7, 8):
        chain.store.close()
        chain = open_engine(tmp_path / "a")
        build_chain(chain, 3, seed=seed, stores=stores)
    replica = open_engine(tmp_path / "b")
    for n in range(1, chain.engine.head.number + 1):
        replica.engine.import_block(chain.store.block(chain.store.hash_by_number(n)))  # strict: same receipts and gas
    assert (replica.engine.head_hash, replica.engine.head.state_root) == (chain.engine.head_hash, chain.engine.head.state_root)


def full_state(chain):
    return sorted(chain.store.accounts()), sorted(chain.store.storage())


def test_observer_and_unknown_accounts_refused_at_admission(tmp_path):
    chain = open_engine(tmp_path / "db")
    for key in (OBSERVER, OUTSIDER):
        with pytest.raises(NotPermitted):
            chain.front.submit(tx(key, 0, b"\x22" * 20))
    assert len(chain.front.pool) == 0
    assert producer(chain).produce_once() is None  # no empty blocks by default


def test_non_permitted_tx_rechecked_at_execution_and_never_in_a_block(tmp_path):
    chain = open_engine(tmp_path / "db")
    for key in (OBSERVER, OUTSIDER):  # as if admitted before a permission change
        chain.front.pool.add(decode_transaction(tx(key, 0, b"\x22" * 20), chain.limits), 0, True)
    chain.front.submit(tx(BANK_A, 0, b"\x22" * 20))
    block = producer(chain).produce_once()
    assert [t.sender for t in block.txs] == [addr(BANK_A)]
    assert len(chain.front.pool) == 0
    assert chain.read_view.account(addr(OBSERVER)).nonce == 0


def test_restart_restores_head_commitment_and_state(tmp_path):
    chain = open_engine(tmp_path / "db")
    model: dict = {}
    build_chain(chain, 15, model=model)
    head, root, state = chain.engine.head_hash, chain.engine.head.state_root, full_state(chain)
    chain.store.close()
    again = open_engine(tmp_path / "db")
    assert (again.engine.head_hash, again.engine.head.state_root, full_state(again)) == (head, root, state)
    assert again.front.permissions.permitted(addr(BANK_A)) and not again.front.permissions.permitted(addr(OBSERVER))
    assert len(model) > 20
    for (store, key), value in model.items():  # the oracle, the store and the restarted EVM agree
        assert again.store.slot(store, slot_of(key)) == value
        assert again.executor.storage(store, slot_of(key)) == value
    for address, slot, value in again.store.storage():
        assert again.executor.storage(address, slot) == value


def test_restore_equals_replay_from_genesis(tmp_path):
    source = open_engine(tmp_path / "a")
    build_chain(source, 12, seed=11)
    replica = open_engine(tmp_path / "b")
    for n in range(1, source.engine.head.number + 1):
        block = source.store.block(source.store.hash_by_number(n))
        replica.engine.import_block(Block.decode(block.encode(), replica.limits))
    assert (replica.engine.head_hash, replica.engine.head.state_root) == (source.engine.head_hash, source.engine.head.state_root)
    assert full_state(replica) == full_state(source)
    for n in range(1, source.engine.head.number + 1):
        assert replica.store.diff(n) == source.store.diff(n)


def test_state_commitment_mismatch_halts(tmp_path):
    source = open_engine(tmp_path / "a")
    mine(source, [tx(BANK_A, 0, None, STORE_BYTECODE)])
    replica = open_engine(tmp_path / "b")
    good = source.store.block(source.store.hash_by_number(1))
    forged_header = good.header.with_(state_root=b"\xee" * 32)
    forged = Block(forged_header, good.txs, (make_commit_seal(forged_header.hash(), PrivateKeySigner(VALIDATOR)),))
    with pytest.raises(StateCommitmentMismatch):
        replica.engine.import_block(forged)
    assert replica.engine.halted and replica.engine.head.number == 0
    with pytest.raises(NodeHalted):
        replica.engine.import_block(good)


def test_import_rejects_bad_seals_and_parents(tmp_path):
    source = open_engine(tmp_path / "a")
    mine(source, [tx(BANK_A, 0, None, STORE_BYTECODE)])
    replica = open_engine(tmp_path / "b")
    good = source.store.block(source.store.hash_by_number(1))
    with pytest.raises(ChainIntegrityError, match="seals"):
        replica.engine.import_block(Block(good.header, good.txs, ()))
    with pytest.raises(ChainIntegrityError, match="non-validator"):
        replica.engine.import_block(Block(good.header, good.txs, (make_commit_seal(good.hash, PrivateKeySigner(BANK_A)),)))
    replica.engine.import_block(good)
    with pytest.raises(ChainIntegrityError, match="extend"):
        replica.engine.import_block(good)


def test_failed_commit_leaves_old_head_and_rebuilds_evm(tmp_path, monkeypatch):
    chain = open_engine(tmp_path / "db")
    store = create_address(addr(BANK_A), 0)
    mine(chain, [tx(BANK_A, 0, None, STORE_BYTECODE)])
    head, root = chain.engine.head_hash, chain.engine.head.state_root
    chain.front.submit(tx(BANK_A, 1, store, call_data("set(uint256,uint256)", 1, 5)))

    def crash(self):
        raise OSError("disk gone mid-batch")

    monkeypatch.setattr(StateDiff, "encode", crash)
    with pytest.raises(ConsensusFailed) as failed:  # the driver retried once from its durable state
        producer(chain).produce_once()
    assert isinstance(failed.value.__cause__, OSError)
    monkeypatch.undo()
    assert (chain.engine.head_hash, chain.engine.head.state_root) == (head, root)
    assert chain.executor.nonce(addr(BANK_A)) == 1  # the half-executed block left no trace in the EVM
    chain.store.close()
    reopened = open_engine(tmp_path / "db")
    assert (reopened.engine.head_hash, reopened.engine.head.state_root) == (head, root)
    assert reopened.store.tx(decode_transaction(tx(BANK_A, 1, store, call_data("set(uint256,uint256)", 1, 5)),
                                                reopened.limits).hash) is None
    reopened.front.submit(tx(BANK_A, 1, store, call_data("set(uint256,uint256)", 1, 5)))
    assert producer(reopened).produce_once().number == 2


def test_journal_is_empty_between_blocks_so_every_block_starts_cold(tmp_path):
    chain = open_engine(tmp_path / "db")
    build_chain(chain, 3, seed=3)
    assert chain.executor.evm.journal_state == {}
    assert chain.front.permissions.permitted(addr(BANK_A)) and chain.executor.nonce(addr(BANK_A)) > 0
    assert chain.executor.evm.journal_state == {}  # reads and calls leave no trace either


def test_on_chain_suspension_takes_effect_mid_block_and_at_admission(tmp_path):
    from contracts.ids import bank_id
    from contracts.suite import suite_codecs

    chain = open_engine(tmp_path / "db")
    consortium = chain.genesis.contracts["Consortium"]
    codec = suite_codecs()["Consortium"]
    mine(chain, [tx(BANK_A, 0, consortium, codec.encode_call("proposeSuspendMember", bank_id("MYBANK")))])
    assert chain.front.permissions.permitted(addr(BANK_B))
    vote = tx(BANK_B, 0, consortium, codec.encode_call("vote", 0))
    after = tx(BANK_B, 1, b"\x22" * 20)  # admitted while MYBANK is still active
    block = mine(chain, [vote, after])
    assert [t.nonce for t in block.txs] == [0]  # the vote suspended MYBANK; its next tx is skipped, not included
    assert chain.store.tx(block.txs[0].hash).receipt.status == 1
    assert len(chain.front.pool) == 0 and chain.read_view.account(addr(BANK_B)).nonce == 1
    with pytest.raises(NotPermitted):
        chain.front.submit(after)


def test_a_proposer_gas_budget_caps_a_block_below_the_chain_limit_and_leaves_the_rest_pooled(tmp_path):
    """geth's rule: a tx goes in while its gas limit fits in the budget less the gas used so far."""
    chain = open_engine(tmp_path / "db")
    for nonce in range(5):
        chain.front.submit(tx(BANK_A, nonce, b"\x22" * 20, gas=100_000))  # a plain transfer: uses 21k of its 100k
    capped = chain.producer.propose(chain.engine.head.timestamp_ms + 1, addr(VALIDATOR), 100, max_gas=150_000)
    assert capped is not None and len(capped.execution.included) == 3  # 0, 21k and 42k used + 100k fit; 63k + 100k not
    assert capped.execution.gas_used == 3 * 21_000 and not capped.execution.skipped
    chain.engine.abandon(capped)
    whole = chain.producer.propose(chain.engine.head.timestamp_ms + 1, addr(VALIDATOR), 100)
    assert whole is not None and len(whole.execution.included) == 5
    chain.engine.abandon(whole)
    again = chain.producer.propose(chain.engine.head.timestamp_ms + 1, addr(VALIDATOR), 100, max_gas=150_000)
    assert again is not None
    chain.engine.commit(again, [])
    assert len(chain.front.pool) == 2  # what did not fit waits for the next block
