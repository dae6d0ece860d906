"""Node blocks as the QBFT core carries them: the payload is the block's wire form without seals and the
consensus hash is the header hash, so the commit seals the core gathers are the very seals the header needs."""

from __future__ import annotations

from collections.abc import Callable

from network.hashing import keccak256 as keccak
from network.qbft import ConsensusBlock
from network.qbft.errors import MalformedMessage
from node.chain.block import Block
from node.chain.header import BlockHeader
from node.errors import ChainIntegrityError, MalformedRlp
from node.rlp_codec import payload_bounds
from node.tx.decode import DecodeLimits
from node.tx.model import Transaction


def to_consensus(block: Block) -> ConsensusBlock:
    unsealed = Block(block.header, block.txs) if block.seals else block
    return ConsensusBlock(block.number, block.header.parent_hash, unsealed.encode())


def from_consensus(block: ConsensusBlock, limits: DecodeLimits,
                   known: Callable[[bytes], Transaction | None] | None = None) -> Block:
    """Decode every tx (recovering its sender, unless `known` has it: see Block.decode); raises
    ChainIntegrityError or MalformedTransaction."""
    try:
        decoded = Block.decode(block.payload, limits, known)
    except (ChainIntegrityError, MalformedMessage):
        raise
    except (ValueError, MalformedRlp) as exc:  # a wrong shape unpacks with a ValueError
        raise ChainIntegrityError(f"proposed block does not decode: {exc}") from exc
    if decoded.seals:
        raise ChainIntegrityError("a proposed block carries no seals")
    return decoded


class NodeBlockCodec:
    """BlockCodec for node blocks: payload bytes as they are, hash = keccak of the header's RLP."""

    def encode(self, block: ConsensusBlock) -> bytes:
        return block.payload

    def decode(self, data: bytes) -> ConsensusBlock:
        try:
            header = BlockHeader.decode(header_rlp(data))
        except MalformedMessage:
            raise
        except Exception as exc:
            raise MalformedMessage(f"block header does not decode: {exc}") from exc
        return ConsensusBlock(header.number, header.parent_hash, data)

    def hash(self, block: ConsensusBlock) -> bytes:
        return keccak(header_rlp(block.payload))


def header_rlp(payload: bytes) -> bytes:
    """The first item of the block's RLP list, read from the prefixes alone (a block may be megabytes), with
    the strict decoder's rules for lengths (node.rlp_codec.payload_bounds)."""
    if not payload or payload[0] < 0xC0:
        raise MalformedMessage("block is not one RLP list")
    try:
        _, body, end = payload_bounds(payload, 0, len(payload))
        if end != len(payload):
            raise MalformedMessage("block is not one RLP list")
        if body >= end or payload[body] < 0xC0:
            raise MalformedMessage("block does not start with a header list")
        _, _, header_end = payload_bounds(payload, body, end)
    except MalformedRlp as exc:
        raise MalformedMessage(f"block RLP: {exc.message}") from exc
    return payload[body:header_end]
