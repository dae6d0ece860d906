"""Transaction.field_values is what the RPC batch workers and the execution process send across a pipe."""

import dataclasses

from node.tx.decode import DecodeLimits, decode_transaction
from node.tx.model import Transaction
from tests.node.support import BANK_A, CHAIN_ID, legacy_tx, tx


def test_field_values_are_every_field_in_order_and_rebuild_the_very_tx() -> None:
    limits = DecodeLimits(CHAIN_ID, 10**9)
    for raw in (tx(BANK_A, 3, b"\x22" * 20, b"\x01\x02"), tx(BANK_A, 0, None, b"\x60\x00"),
                legacy_tx(BANK_A, 7, b"\x33" * 20)):
        decoded = decode_transaction(raw, limits)
        values = decoded.field_values()
        assert values == tuple(getattr(decoded, f.name) for f in dataclasses.fields(Transaction))
        assert Transaction(*values) == decoded
