"""Node blocks as the QBFT core carries them: the payload is the block's wire form without seals and the
consensus hash is the header hash, so the commit seals the core gathers are the very seals the header needs."""

from __future__ import annotations

from collections.abc import Callable

from eth_hash.auto import keccak

from network.qbft import Block as ConsensusBlock
from network.qbft.errors import MalformedMessage
from node.chain.block import Block
from node.chain.header import BlockHeader
from node.errors import ChainIntegrityError, MalformedRlp
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
    """The first item of the block's RLP list, read from the prefixes alone (a block may be megabytes)."""
    body, end = _item(payload, 0)
    if end != len(payload) or payload[0] < 0xC0:
        raise MalformedMessage("block is not one RLP list")
    start = body
    _, header_end = _item(payload, start)
    if header_end > end or payload[start] < 0xC0:
        raise MalformedMessage("block does not start with a header list")
    return payload[start:header_end]


def _item(data: bytes, start: int) -> tuple[int, int]:
    """(payload start, end) of the RLP item at `start`."""
    if start >= len(data):
        raise MalformedMessage("truncated RLP")
    b = data[start]
    if b < 0x80:
        return start, start + 1
    if b < 0xB8 or 0xC0 <= b < 0xF8:
        body = start + 1
        end = body + b - (0x80 if b < 0xC0 else 0xC0)
    else:
        size = b - (0xB7 if b < 0xC0 else 0xF7)
        body = start + 1 + size
        if body > len(data):
            raise MalformedMessage("truncated RLP length")
        end = body + int.from_bytes(data[start + 1 : body], "big")
    if end > len(data):
        raise MalformedMessage("truncated RLP item")
    return body, end
