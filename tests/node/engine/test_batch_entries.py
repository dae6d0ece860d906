"""Clearing entries through the engine: a batch keeps the totals that posting its entries one by one gives.

Clearing.postEntries keeps positions and gross amounts of a run of same-payer/payee entries in memory and
writes them once; a plain Python model of the per-entry rules is the oracle. Replicas and restarts must
agree on the resulting state.
"""

from __future__ import annotations

from contracts.ids import bank_id, text_id
from contracts.suite import suite_codecs
from node.chain.genesis import Genesis, GenesisMember
from node.engine.chain_parts import ChainParts, open_chain
from node.store.chain_store import ChainStore
from tests.node.support import BANK_A, BANK_B, CHAIN_ID, GENESIS_MS, OBSERVER, VALIDATOR, addr, producer, tx

BANK_C = bytes([5]) * 32
KEYS = {"WEBANK": BANK_A, "MYBANK": BANK_B, "XWBANK": BANK_C}
FEE, CORRECTION = 2, 4
CLEARING = suite_codecs()["Clearing"]


def genesis() -> Genesis:
    return Genesis(
        chain_id=CHAIN_ID, timestamp_ms=GENESIS_MS, validators=(addr(VALIDATOR),),
        members=(GenesisMember("WEBANK", "WeBank", "BANK", (addr(BANK_A),)),
                 GenesisMember("MYBANK", "MyBank", "BANK", (addr(BANK_B),)),
                 GenesisMember("XWBANK", "XW Bank", "BANK", (addr(BANK_C),)),
                 GenesisMember("REGULATOR", "Regulator", "OBSERVER", (addr(OBSERVER),))))


def open_engine(path) -> ChainParts:
    return open_chain(ChainStore(str(path)), genesis())


def entry(name: str, payer: str, payee: str, amount: int, kind: int = FEE, ref: str = "") -> dict:
    return {"entryId": text_id(name), "payer": bank_id(payer), "payee": bank_id(payee) if payee else b"\0" * 32,
            "amount": amount, "kind": kind, "loanId": b"\0" * 32, "valueDate": 20261124,
            "ref": text_id(ref) if ref else b"\0" * 32}


class Model:
    """Clearing's per-entry rules for the open cycle, in plain Python."""

    def __init__(self) -> None:
        self.entries: dict[bytes, tuple] = {}
        self.position: dict[bytes, int] = {}
        self.gross: dict[tuple[bytes, bytes], int] = {}
        self.participants: list[bytes] = []

    def post(self, batch: list[dict]) -> int:
        created = 0
        for e in batch:
            content = tuple(sorted(e.items()))
            if e["entryId"] in self.entries:
                assert self.entries[e["entryId"]] == content, "the chain would refuse this batch"
                continue
            self.entries[e["entryId"]] = content
            for bank in (e["payer"], e["payee"]):
                if bank not in self.participants:
                    self.participants.append(bank)
            self.position[e["payer"]] = self.position.get(e["payer"], 0) - e["amount"]
            self.position[e["payee"]] = self.position.get(e["payee"], 0) + e["amount"]
            pair = (e["payer"], e["payee"])
            self.gross[pair] = self.gross.get(pair, 0) + e["amount"]
            created += 1
        return created


def view(chain: ChainParts, name: str, *args: object) -> object:
    result = chain.executor.call(addr(BANK_A), chain.genesis.contracts["Clearing"], CLEARING.encode_call(name, *args))
    assert result.success
    return CLEARING.decode_output(name, result.output)


def test_batches_keep_per_entry_totals_and_replicas_agree(tmp_path):
    chain = open_engine(tmp_path / "a")
    clearing = chain.genesis.contracts["Clearing"]
    model = Model()
    nonces = dict.fromkeys(KEYS.values(), 0)

    def send(payer: str, method: str, arg: object) -> bytes:
        key = KEYS[payer]
        raw = tx(key, nonces[key], clearing, CLEARING.encode_call(method, arg), gas=5_000_000)
        nonces[key] += 1
        return chain.front.submit(raw)

    batches = {
        "WEBANK": [entry("e1", "WEBANK", "MYBANK", 100), entry("e2", "WEBANK", "XWBANK", 5),
                   entry("e3", "WEBANK", "XWBANK", 7), entry("e4", "WEBANK", "MYBANK", 11),
                   entry("e1", "WEBANK", "MYBANK", 100),  # the same entry again: accepted once
                   entry("e5", "WEBANK", "XWBANK", 3, CORRECTION, ref="e2"),  # corrects an entry of this batch
                   entry("e6", "WEBANK", "MYBANK", 2)],
        "MYBANK": [entry("f1", "MYBANK", "WEBANK", 50), entry("f2", "MYBANK", "XWBANK", 20),
                   entry("f3", "MYBANK", "WEBANK", 1)],
    }
    for payer, batch in batches.items():
        created = view(chain, "postEntries", batch) if payer == "WEBANK" else None
        send(payer, "postEntries", batch)
        expected = model.post(batch)
        assert created in (None, expected)
    send("XWBANK", "postEntry", entry("g1", "XWBANK", "WEBANK", 9))
    model.post([entry("g1", "XWBANK", "WEBANK", 9)])
    block = producer(chain).produce_once()
    assert [chain.store.tx(t.hash).receipt.status for t in block.txs] == [1, 1, 1]

    refused = [
        [entry("h0", "WEBANK", "", 1)],  # payee zero, first in its batch: not an active bank
        [entry("h1", "WEBANK", "MYBANK", 1), entry("h2", "WEBANK", "", 1)],
        [entry("h3", "WEBANK", "MYBANK", 1), entry("h4", "WEBANK", "REGULATOR", 1)],  # an observer, not a bank
        [entry("h5", "WEBANK", "XWBANK", 1), entry("e1", "WEBANK", "MYBANK", 101)],  # an id reused, other content
        [entry("h6", "WEBANK", "MYBANK", 1), entry("h7", "WEBANK", "MYBANK", 0)],  # zero amount
    ]
    for batch in refused:
        send("WEBANK", "postEntries", batch)
    block = producer(chain).produce_once()
    assert [chain.store.tx(t.hash).receipt.status for t in block.txs] == [0] * len(refused)  # wholly reverted

    cycle = view(chain, "cycle", 1)
    assert cycle[1] == len(model.entries)  # entryCount
    assert list(view(chain, "participants", 1)) == model.participants
    for bank in model.participants:
        assert view(chain, "position", 1, bank) == model.position[bank]
    assert sum(model.position.values()) == 0
    for name in ("e1", "h0", "h1", "h3", "h5", "h6"):
        assert (view(chain, "entryHash", text_id(name)) != b"\0" * 32) == (name == "e1")

    key = KEYS["WEBANK"]
    chain.front.submit(tx(key, nonces[key], clearing, CLEARING.encode_call("closeCycle"), gas=5_000_000))
    chain.front.submit(tx(key, nonces[key] + 1, clearing, CLEARING.encode_call("netCycle", 1), gas=5_000_000))
    nonces[key] += 2
    block = producer(chain).produce_once()
    receipt = chain.store.tx(block.txs[1].hash).receipt
    assert receipt.status == 1
    nets = {}
    for log in receipt.logs:
        event = CLEARING.decode_log(log.topics, log.data)
        if event.name == "BilateralNet":
            nets[(event.args["payer"], event.args["payee"])] = event.args["amount"]
    expected_nets = {}
    for (a, b), ab in model.gross.items():
        net = ab - model.gross.get((b, a), 0)
        if net > 0:
            expected_nets[(a, b)] = net
    assert nets == expected_nets

    replica = open_engine(tmp_path / "b")
    for n in range(1, chain.engine.head.number + 1):
        replica.engine.import_block(chain.store.block(chain.store.hash_by_number(n)))
    assert (replica.engine.head_hash, replica.engine.head.state_root) == (chain.engine.head_hash, chain.engine.head.state_root)
    state = sorted(chain.store.accounts()), sorted(chain.store.storage())
    chain.store.close()
    again = open_engine(tmp_path / "a")
    assert (again.engine.head_hash, again.engine.head.state_root) == (replica.engine.head_hash, replica.engine.head.state_root)
    assert (sorted(again.store.accounts()), sorted(again.store.storage())) == state
    for address, slot, value in again.store.storage():
        assert again.executor.storage(address, slot) == value
