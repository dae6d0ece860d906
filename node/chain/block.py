"""A block: header, ordered transactions and the commit seals over the header hash."""

from __future__ import annotations

from dataclasses import dataclass

from node.chain.header import BlockHeader
from node.chain.rlp_codec import decode as rlp_decode
from node.chain.rlp_codec import encode as rlp_encode
from node.tx.decode import DecodeLimits, decode_transaction
from node.tx.model import Transaction


@dataclass(frozen=True, slots=True)
class Block:
    header: BlockHeader
    txs: tuple[Transaction, ...]
    seals: tuple[bytes, ...] = ()

    @property
    def hash(self) -> bytes:
        return self.header.hash()

    @property
    def number(self) -> int:
        return self.header.number

    def encode(self) -> bytes:
        """Wire form: raw txs only, so a receiver re-verifies every signature."""
        return rlp_encode([self.header.fields(), [tx.raw for tx in self.txs], list(self.seals)])

    @classmethod
    def decode(cls, data: bytes, limits: DecodeLimits) -> Block:
        header, raws, seals = rlp_decode(data)
        txs = tuple(decode_transaction(raw, limits) for raw in raws)
        return cls(BlockHeader.from_fields(header), txs, tuple(seals))
