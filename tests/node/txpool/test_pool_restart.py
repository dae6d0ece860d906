"""The pool journal wired into the node: what JSON-RPC acknowledged is back in the pool after a crash, and a tx
leaves the journal exactly when it leaves the pool (included, replaced, overtaken, refused on replay)."""

from __future__ import annotations

import json

import pytest
import rlp

from network.errors import ConsensusFailed
from node.chain.state import StateDiff
from node.rpc.backend.engine_backend import EngineBackend
from node.rpc.dispatch import Dispatcher
from node.rpc.limits import RpcLimits
from node.tx.decode import decode_transaction
from tests.node.support import BANK_A, BANK_B, mine, open_engine, producer, tx

TO = b"\x22" * 20


def rpc_batch(chain, raws: list[bytes], *extra: dict) -> list[dict]:
    """One JSON-RPC batch of eth_sendRawTransaction calls (and `extra` calls) through the node's dispatcher."""
    calls = [{"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": ["0x" + raw.hex()]}
             for i, raw in enumerate(raws)]
    reply = Dispatcher(EngineBackend(chain), RpcLimits()).handle(json.dumps([*calls, *extra]))
    assert reply is not None
    return sorted(json.loads(reply), key=lambda r: r["id"])


def journaled(chain) -> list[bytes]:
    """The hashes of the txs in the journal on disk, in arrival order."""
    records = (rlp.decode(record) for _, record in chain.store.pool_journal())
    return [decode_transaction(raw, chain.limits, trusted_sender=sender).hash for raw, sender in records]


def crash(chain) -> None:
    """Like kill -9: whatever the journal only queued in memory is gone."""
    chain.store.close()


def test_acknowledged_txs_survive_a_crash_pending_in_arrival_order_and_then_get_included(tmp_path, caplog):
    chain = open_engine(tmp_path / "db")
    raws = [tx(BANK_B, 0, TO), tx(BANK_A, 1, TO), tx(BANK_A, 0, TO), tx(BANK_A, 2, TO)]
    acked = [bytes.fromhex(r["result"][2:]) for r in rpc_batch(chain, raws)]
    assert len(acked) == 4 and journaled(chain) == acked
    crash(chain)
    caplog.set_level("INFO", logger="colend.txpool")
    chain = open_engine(tmp_path / "db")
    assert [t.hash for t in chain.front.pool.pending()] == acked
    assert "event=pool_journal_replayed entries=4 restored=4 dropped=0" in caplog.text
    block = producer(chain).produce_once()
    assert block is not None and sorted(t.hash for t in block.txs) == sorted(acked)
    assert journaled(chain) == [] and len(chain.front.pool) == 0


def test_without_the_barrier_a_crash_loses_the_tx(tmp_path):
    """The checker can fail: admission alone only queues the record; the reply's barrier is what writes it."""
    chain = open_engine(tmp_path / "db")
    chain.front.submit(tx(BANK_A, 0, TO))
    crash(chain)
    assert len(open_engine(tmp_path / "db").front.pool) == 0


def test_a_block_writes_the_queued_records_and_deletes_its_own_txs_in_its_batch(tmp_path):
    chain = open_engine(tmp_path / "db")
    gapped = chain.front.submit(tx(BANK_A, 5, TO))  # queued in memory only, waits behind a nonce gap
    block = mine(chain, [tx(BANK_A, 0, TO)])
    assert len(block.txs) == 1 and journaled(chain) == [gapped]  # rode in the block's synced batch
    crash(chain)
    assert [t.hash for t in open_engine(tmp_path / "db").front.pool.pending()] == [gapped]


def test_a_block_that_fails_to_commit_leaves_its_txs_journaled(tmp_path, monkeypatch):
    chain = open_engine(tmp_path / "db")
    acked = rpc_batch(chain, [tx(BANK_A, 0, TO)])[0]["result"]

    def broken(self):
        raise OSError("disk gone mid-batch")

    monkeypatch.setattr(StateDiff, "encode", broken)
    with pytest.raises(ConsensusFailed):
        producer(chain).produce_once()
    monkeypatch.undo()
    chain.front.submit(tx(BANK_B, 0, TO))
    chain.front.durable()
    crash(chain)
    chain = open_engine(tmp_path / "db")
    pool = chain.front.pool
    assert chain.engine.head.number == 0 and len(pool) == 2 and "0x" + pool.pending()[0].hash.hex() == acked


def test_replaced_and_overtaken_txs_leave_the_journal(tmp_path):
    chain = open_engine(tmp_path / "a")
    first, second = tx(BANK_A, 0, TO, b"\x01"), tx(BANK_A, 0, TO, b"\x02")
    rpc_batch(chain, [first])
    [reply] = rpc_batch(chain, [second])  # same sender and nonce: replaces the first
    assert journaled(chain) == [bytes.fromhex(reply["result"][2:])]
    other = open_engine(tmp_path / "b")  # another validator mined a third tx with that nonce
    chain.engine.import_block(mine(other, [tx(BANK_A, 0, TO, b"\x03")]))
    assert len(chain.front.pool) == 0
    chain.front.durable()
    assert journaled(chain) == []


def test_replay_drops_what_the_committed_state_no_longer_admits(tmp_path, caplog):
    from contracts.ids import bank_id
    from contracts.suite import suite_codecs

    chain = open_engine(tmp_path / "a")
    consortium, codec = chain.genesis.contracts["Consortium"], suite_codecs()["Consortium"]
    mine(chain, [tx(BANK_A, 0, consortium, codec.encode_call("proposeSuspendMember", bank_id("MYBANK")))])
    gapped = tx(BANK_B, 2, TO)  # waits behind a nonce gap while MYBANK votes itself out
    rpc_batch(chain, [gapped])
    mine(chain, [tx(BANK_B, 0, consortium, codec.encode_call("vote", 0))])
    rpc_batch(chain, [tx(BANK_A, 1, TO, b"\x01")])
    other = open_engine(tmp_path / "b")  # another validator, whose next block takes WEBANK's nonce 1 elsewhere
    for n in range(1, chain.engine.head.number + 1):
        other.engine.import_block(chain.store.block(chain.store.hash_by_number(n)))
    chain.engine.import_block(mine(other, [tx(BANK_A, 1, TO, b"\x02")]))  # overtaken: its deletion is only queued
    assert len(chain.front.pool) == 1 and len(journaled(chain)) == 2
    crash(chain)
    caplog.set_level("INFO", logger="colend.txpool")
    chain = open_engine(tmp_path / "a")
    assert len(chain.front.pool) == 0 and journaled(chain) == []
    assert "code=node.not_permitted" in caplog.text and "code=node.nonce_too_low" in caplog.text
    assert "event=pool_journal_replayed entries=2 restored=0 dropped=2" in caplog.text


def test_a_failed_journal_write_answers_errors_not_acks_and_a_retry_works(tmp_path, monkeypatch):
    chain = open_engine(tmp_path / "db")
    raws = [tx(BANK_A, 0, TO), tx(BANK_A, 1, TO)]

    def full(ops):
        raise OSError("No space left on device")

    monkeypatch.setattr(chain.store, "write_pool_journal", full)
    replies = rpc_batch(chain, raws, {"jsonrpc": "2.0", "id": 9, "method": "eth_blockNumber"})
    assert [r["error"]["data"]["code"] for r in replies[:2]] == ["node.pool_journal_write_failed"] * 2
    assert replies[2]["result"] == "0x0" and len(chain.front.pool) == 0  # not acknowledged: not pending either
    monkeypatch.undo()
    assert all("result" in r for r in rpc_batch(chain, raws))
    assert len(journaled(chain)) == 2


def test_one_synced_journal_write_per_request(tmp_path, monkeypatch):
    chain = open_engine(tmp_path / "db")
    writes = []
    write = chain.store.write_pool_journal
    monkeypatch.setattr(chain.store, "write_pool_journal", lambda ops: (writes.append(len(ops)), write(ops)))
    rpc_batch(chain, [tx(BANK_A, n, TO) for n in range(20)])
    rpc_batch(chain, [tx(BANK_B, 0, TO)])
    rpc_batch(chain, [], {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"})
    assert writes == [20, 1]  # a batch of 20 txs: one write; a request that admitted nothing: none


def test_txs_taken_from_peers_are_journaled_too(tmp_path):
    from network.p2p.abc import Channel
    from node.p2p.tx_gossip import TxGossip
    from tests.node.p2p.test_tx_gossip import FakeHost

    chain = open_engine(tmp_path / "db")
    host = FakeHost([])
    TxGossip(chain.front, host, "main")  # type: ignore[arg-type]
    frame = rlp.encode([tx(BANK_A, 0, TO), tx(BANK_B, 0, TO), tx(BANK_A, 0, TO)])  # the repeat is dropped as seen
    host.receivers[Channel.TX](b"\x01" * 20, frame)  # type: ignore[operator]  # no loop here: synced at once
    crash(chain)
    assert len(open_engine(tmp_path / "db").front.pool) == 2
