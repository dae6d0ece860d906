"""A proposal's txs are taken from the validator's pool when it holds the very same bytes, decoded otherwise."""

from dataclasses import replace

from node.chain.block import Block
from node.tx.decode import DecodeLimits, decode_transaction
from tests.node.support import BANK_A, BANK_B, CHAIN_ID, addr, mine, open_engine, tx


def test_known_txs_are_reused_and_anything_else_is_decoded(tmp_path):
    chain = open_engine(tmp_path / "db")
    block = mine(chain, [tx(BANK_A, n, addr(BANK_B), b"\x01" * 10) for n in range(3)])
    limits = DecodeLimits(CHAIN_ID, chain.genesis.block_gas_limit)
    pooled = decode_transaction(block.txs[0].raw, limits)
    impostor = replace(decode_transaction(block.txs[1].raw, limits), raw=b"\x02not the same bytes")
    known = {pooled.hash: pooled, impostor.hash: impostor}
    decoded = Block.decode(block.encode(), limits, known.get)
    assert decoded.txs[0] is pooled  # no second decode or signature recovery
    assert decoded.txs[1] is not impostor and decoded.txs[1] == block.txs[1]  # same hash, other bytes: decoded
    assert decoded.txs == Block.decode(block.encode(), limits).txs == block.txs
