"""A decoded, signature-checked transaction: the one shape the pool, execution and store share."""

from __future__ import annotations

from dataclasses import dataclass

LEGACY = 0
ACCESS_LIST = 1
DYNAMIC_FEE = 2

AccessList = tuple[tuple[bytes, tuple[int, ...]], ...]


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
