"""logsBloom, transactionsRoot and receiptsRoot of real blocks, recomputed the way any Ethereum tool would: the
tries with trie.HexaryTrie (inserting one key at a time, not the node's one-pass builder), receipts encoded with
pyrlp, and the bloom from the Yellow Paper's definition written out here."""

from __future__ import annotations

import random

import pytest
import rlp
from eth_hash.auto import keccak
from trie import HexaryTrie

from node.chain.roots import EMPTY_TRIE_ROOT, ordered_trie_root
from node.engine.chain_parts import ChainParts
from node.execution.evm import create_address
from node.rpc.backend.engine_backend import EngineBackend
from tests.node.store_contract import STORE_BYTECODE, call_data
from tests.node.support import BANK_A, BANK_B, addr, legacy_tx, mine, open_engine, producer, tx


def reference_bloom(values: list[bytes]) -> int:
    """Yellow Paper 4.3.1: for each value, the three 11-bit numbers from keccak's first three byte pairs."""
    bloom = 0
    for value in values:
        digest = keccak(value)
        for i in (0, 2, 4):
            bloom |= 1 << (((digest[i] << 8) | digest[i + 1]) & 2047)
    return bloom


def reference_root(items: list[bytes]) -> bytes:
    trie = HexaryTrie({})
    for i, item in enumerate(items):
        trie[rlp.encode(i)] = item
    return trie.root_hash


def hexbytes(text: str) -> bytes:
    return bytes.fromhex(text[2:])


@pytest.fixture
def chain(tmp_path):
    chain = open_engine(tmp_path / "db")
    yield chain
    chain.store.close()


@pytest.mark.parametrize("count", [0, 1, 2, 15, 16, 17, 127, 128, 129, 300])
def test_ordered_trie_root_matches_hexary_trie(count: int) -> None:
    rng = random.Random(count)
    # Short values too: nodes under 32 bytes are inlined rather than hashed.
    items = [rng.randbytes(rng.choice([1, 3, 20, 31, 32, 33, 120])) for _ in range(count)]
    assert ordered_trie_root(items) == reference_root(items)


def test_empty_block_commits_to_the_empty_trie(chain: ChainParts) -> None:
    block = producer(chain, allow_empty=True).produce_once()
    assert block is not None
    assert block.header.tx_root == block.header.receipts_root == EMPTY_TRIE_ROOT == HexaryTrie({}).root_hash
    assert block.header.logs_bloom == bytes(256)


def test_block_fields_of_real_blocks_agree_with_independent_recomputation(chain: ChainParts) -> None:
    store = create_address(addr(BANK_A), 0)
    mine(chain, [tx(BANK_A, 0, None, STORE_BYTECODE)])
    raws = [tx(BANK_A, 1, store, call_data("setMany(uint256,uint256)", 1, 3)),  # three logs
            tx(BANK_A, 2, store, call_data("set(uint256,uint256)", 5, 0)),  # reverts: no logs
            legacy_tx(BANK_B, 0, store, call_data("set(uint256,uint256)", 9, 9))]  # a legacy receipt
    raws += [tx(BANK_A, n, store, call_data("set(uint256,uint256)", n, n)) for n in range(3, 140)]  # keys past 0x7f
    block = mine(chain, raws)
    assert len(block.txs) == 140
    backend = EngineBackend(chain)
    view = backend.get_block_by_number(hex(block.number), True)
    assert view is not None

    tx_items = [hexbytes(t["hash"]) for t in view["transactions"]]
    raw_by_hash = {t.hash: t.raw for t in block.txs}
    assert hexbytes(view["transactionsRoot"]) == reference_root([raw_by_hash[h] for h in tx_items])

    receipts = [backend.get_transaction_receipt(h) for h in tx_items]
    encoded, block_bloom = [], 0
    for receipt in receipts:
        assert receipt is not None
        logs = [[hexbytes(lg["address"]), [hexbytes(t) for t in lg["topics"]], hexbytes(lg["data"])]
                for lg in receipt["logs"]]
        bloom = reference_bloom([v for address, topics, _ in logs for v in [address, *topics]])
        assert int(receipt["logsBloom"], 16) == bloom
        block_bloom |= bloom
        body = rlp.encode([int(receipt["status"], 16), int(receipt["cumulativeGasUsed"], 16), bloom.to_bytes(256, "big"),
                           logs])
        tx_type = int(receipt["type"], 16)
        encoded.append(body if tx_type == 0 else bytes([tx_type]) + body)
    assert [r["status"] for r in receipts[:3]] == ["0x1", "0x0", "0x1"] and receipts[2]["type"] == "0x0"
    assert len(receipts[0]["logs"]) == 3 and receipts[1]["logsBloom"] == "0x" + "00" * 256
    assert hexbytes(view["receiptsRoot"]) == reference_root(encoded)
    assert int(view["logsBloom"], 16) == block_bloom != 0


def test_a_block_with_a_wrong_bloom_is_refused(chain: ChainParts, tmp_path) -> None:
    from node.errors import ChainIntegrityError

    store = create_address(addr(BANK_A), 0)
    mine(chain, [tx(BANK_A, 0, None, STORE_BYTECODE)])
    block = mine(chain, [tx(BANK_A, 1, store, call_data("set(uint256,uint256)", 1, 1))])
    follower = open_engine(tmp_path / "follower")
    try:
        first = chain.store.block(chain.store.hash_by_number(1))
        follower.engine.import_block(first)
        forged = type(block)(block.header.with_(logs_bloom=bytes(256)), block.txs, block.seals)
        with pytest.raises(ChainIntegrityError):
            follower.engine.validate_block(forged)
    finally:
        follower.store.close()
