"""The block as consensus sees it: height, parent and opaque payload; the node defines encoding and hash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import rlp

from network.hashing import DIGEST_LENGTH, keccak256
from network.qbft.errors import MalformedMessage


@dataclass(frozen=True)
class ConsensusBlock:
    """What the core proposes and finalizes: an opaque payload (the node puts its encoded block there) on a parent."""

    height: int
    parent_hash: bytes
    payload: bytes


class BlockCodec(Protocol):
    """Supplied by the node: the core carries blocks inside messages but never defines their bytes or hash."""

    def encode(self, block: ConsensusBlock) -> bytes: ...

    def decode(self, data: bytes) -> ConsensusBlock:
        """Raises MalformedMessage for bytes that are not a block."""
        ...

    def hash(self, block: ConsensusBlock) -> bytes:
        """The 32-byte block hash that PREPARE, COMMIT and commit seals refer to."""
        ...


class RlpBlockCodec:
    """A minimal codec, RLP [height, parent_hash, payload] hashed with keccak, for the simulator and tests."""

    def encode(self, block: ConsensusBlock) -> bytes:
        return rlp.encode([block.height, block.parent_hash, block.payload])

    def decode(self, data: bytes) -> ConsensusBlock:
        try:
            fields = rlp.decode(data)
        except Exception as exc:
            raise MalformedMessage(f"block does not decode: {exc}") from exc
        if not isinstance(fields, list) or len(fields) != 3 or not all(isinstance(x, bytes) for x in fields):
            raise MalformedMessage("block is not [height, parent_hash, payload]")
        height, parent_hash, payload = fields
        if len(parent_hash) != DIGEST_LENGTH or (height and height[0] == 0):
            raise MalformedMessage("block has a bad parent hash or a non-canonical height")
        return ConsensusBlock(int.from_bytes(height, "big"), parent_hash, payload)

    def hash(self, block: ConsensusBlock) -> bytes:
        return keccak256(self.encode(block))
