"""A block: header, ordered transactions and the commit seals over the header hash."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from network.hashing import keccak256 as keccak
from node.chain.header import BlockHeader
from node.rlp_codec import decode as rlp_decode
from node.rlp_codec import encode as rlp_encode
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
    def decode(cls, data: bytes, limits: DecodeLimits,
               known: Callable[[bytes], Transaction | None] | None = None) -> Block:
        """`known(tx hash)`: a tx this node already decoded and verified (its pool's), taken as it is when its
        raw bytes are the block's: a validator has most of a proposal's txs from gossip already."""
        header, raws, seals = rlp_decode(data)
        if known is None:
            txs = tuple(decode_transaction(raw, limits) for raw in raws)
        else:
            txs = tuple(_known_or_decoded(raw, limits, known) for raw in raws)
        return cls(BlockHeader.from_fields(header), txs, tuple(seals))


def _known_or_decoded(raw: bytes, limits: DecodeLimits, known: Callable[[bytes], Transaction | None]) -> Transaction:
    tx = known(keccak(raw))
    return tx if tx is not None and tx.raw == raw else decode_transaction(raw, limits)
