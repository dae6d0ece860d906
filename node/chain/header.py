"""The block header: RLP-encoded and keccak-hashed; commit seals live beside it, never inside the hash.

Timestamps are milliseconds chosen by the proposer (strictly increasing); the EVM sees whole seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import rlp

from network.hashing import keccak256 as keccak
from node.chain.bloom import EMPTY_BLOOM
from node.errors import ChainIntegrityError
from node.rlp_codec import decode as rlp_decode
from node.rlp_codec import encode as rlp_encode

HEADER_VERSION = 2  # 2 added logs_bloom and made the roots Merkle-Patricia tries
ZERO_HASH = b"\x00" * 32
ZERO_ADDRESS = b"\x00" * 20


@dataclass(frozen=True, slots=True)
class BlockHeader:
    number: int
    parent_hash: bytes
    timestamp_ms: int
    proposer: bytes
    tx_root: bytes
    receipts_root: bytes
    state_root: bytes  # the state commitment (node.chain.commitment)
    gas_limit: int
    gas_used: int
    extra_data: bytes = b""
    logs_bloom: bytes = EMPTY_BLOOM  # of every log in the block (node.chain.bloom)

    @property
    def timestamp(self) -> int:
        """Seconds, as the EVM's TIMESTAMP opcode and Ethereum tooling expect."""
        return self.timestamp_ms // 1000

    def fields(self) -> list:
        return [HEADER_VERSION, self.number, self.parent_hash, self.timestamp_ms, self.proposer, self.tx_root,
                self.receipts_root, self.state_root, self.gas_limit, self.gas_used, self.extra_data, self.logs_bloom]

    def encode(self) -> bytes:
        return rlp_encode(self.fields())

    def hash(self) -> bytes:
        return keccak(self.encode())

    def with_(self, **changes: object) -> BlockHeader:
        return replace(self, **changes)

    @classmethod
    def from_fields(cls, fields: list) -> BlockHeader:
        if len(fields) != 12 or rlp.sedes.big_endian_int.deserialize(fields[0]) != HEADER_VERSION:
            raise ChainIntegrityError("unknown block header layout")
        n = rlp.sedes.big_endian_int.deserialize
        return cls(number=n(fields[1]), parent_hash=fields[2], timestamp_ms=n(fields[3]), proposer=fields[4],
                   tx_root=fields[5], receipts_root=fields[6], state_root=fields[7], gas_limit=n(fields[8]),
                   gas_used=n(fields[9]), extra_data=fields[10], logs_bloom=fields[11])

    @classmethod
    def decode(cls, data: bytes) -> BlockHeader:
        return cls.from_fields(rlp_decode(data))
