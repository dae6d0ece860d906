"""A decoded, signature-checked transaction: the one shape the pool, execution and store share."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TypeAlias

LEGACY = 0
ACCESS_LIST = 1
DYNAMIC_FEE = 2

AccessList = tuple[tuple[bytes, tuple[int, ...]], ...]
TxFields: TypeAlias = tuple  # every field, in declaration order: pickles at a fraction of the object's cost


@dataclass(frozen=True, slots=True)
class Transaction:
    """Immutable; `raw` is the exact bytes the client signed, kept so blocks carry what was sent."""

    type: int
    chain_id: int
    nonce: int
    gas_limit: int
    gas_price: int  # legacy/type 1 gasPrice, type 2 maxFeePerGas (all priced at zero by the chain)
    max_priority_fee: int
    to: bytes | None  # None creates a contract
    value: int
    data: bytes
    access_list: AccessList
    v: int
    r: int
    s: int
    sender: bytes
    hash: bytes
    raw: bytes

    @property
    def is_create(self) -> bool:
        return self.to is None

    def field_values(self) -> TxFields:
        """What crosses a process boundary (the RPC batch workers, the execution process): from_field_values
        rebuilds the very tx. Spelled out, not via dataclasses.astuple, which deep-copies."""
        return (self.type, self.chain_id, self.nonce, self.gas_limit, self.gas_price, self.max_priority_fee, self.to,
                self.value, self.data, self.access_list, self.v, self.r, self.s, self.sender, self.hash, self.raw)


_SETTERS = tuple(getattr(Transaction, field.name).__set__ for field in fields(Transaction))
_new = object.__new__


def from_field_values(values: TxFields) -> Transaction:
    """Transaction(*values) at half the cost: a frozen dataclass's __init__ sets each field through
    object.__setattr__, while this sets the slots directly (a tx is built three times on its way to a block:
    decoded in a batch worker, then rebuilt in the node and in the execution process)."""
    tx = _new(Transaction)
    for set_field, value in zip(_SETTERS, values, strict=True):
        set_field(tx, value)
    return tx
