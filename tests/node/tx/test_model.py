"""Transaction.field_values is what the RPC batch workers and the execution process send across a pipe, and
from_field_values rebuilds the tx on the other side."""

import dataclasses

import pytest

from node.tx.decode import DecodeLimits, decode_transaction
from node.tx.model import Transaction, from_field_values
from tests.node.support import BANK_A, CHAIN_ID, legacy_tx, tx


def test_field_values_are_every_field_in_order_and_rebuild_the_very_tx() -> None:
    limits = DecodeLimits(CHAIN_ID, 10**9)
    for raw in (tx(BANK_A, 3, b"\x22" * 20, b"\x01\x02"), tx(BANK_A, 0, None, b"\x60\x00"),
                legacy_tx(BANK_A, 7, b"\x33" * 20)):
        decoded = decode_transaction(raw, limits)
        values = decoded.field_values()
        assert values == tuple(getattr(decoded, f.name) for f in dataclasses.fields(Transaction))
        assert Transaction(*values) == decoded
        rebuilt = from_field_values(values)
        assert rebuilt == decoded and hash(rebuilt) == hash(decoded)
        with pytest.raises(dataclasses.FrozenInstanceError):
            rebuilt.nonce = 1  # type: ignore[misc]


def test_from_field_values_refuses_a_short_or_long_tuple() -> None:
    values = decode_transaction(tx(BANK_A, 0, b"\x22" * 20, b""), DecodeLimits(CHAIN_ID, 10**9)).field_values()
    for wrong in (values[:-1], (*values, b"")):
        with pytest.raises(ValueError):
            from_field_values(wrong)
