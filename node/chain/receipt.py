"""Receipts and logs as stored and committed to; block/tx coordinates are added when rendered."""

from __future__ import annotations

from dataclasses import dataclass

import rlp


@dataclass(frozen=True, slots=True)
class Log:
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes

    def fields(self) -> list:
        return [self.address, list(self.topics), self.data]


@dataclass(frozen=True, slots=True)
class Receipt:
    status: int  # 1 success, 0 reverted/halted
    gas_used: int
    cumulative_gas_used: int
    logs: tuple[Log, ...]
    contract_address: bytes | None
    revert_data: bytes = b""

    def fields(self) -> list:
        return [self.status, self.gas_used, self.cumulative_gas_used, [log.fields() for log in self.logs],
                self.contract_address or b"", self.revert_data]

    def encode(self) -> bytes:
        return rlp.encode(self.fields())

    @classmethod
    def from_fields(cls, f: list) -> Receipt:
        n = rlp.sedes.big_endian_int.deserialize
        logs = tuple(Log(a, tuple(t), d) for a, t, d in f[3])
        return cls(n(f[0]), n(f[1]), n(f[2]), logs, f[4] or None, f[5])
