"""Sync's wire form: versioned RLP [version, kind, ...], bounded in size and count, decoded strictly.

STATUS     [1, 0, height, head_hash]             what a peer holds final
GET_BLOCKS [1, 1, request_id, start, count]      final blocks start .. start + count - 1
BLOCKS     [1, 2, request_id, [[block, [seal, ...]], ...]]   an answer; fewer blocks than asked is fine

Block bytes are the BlockCodec's; the receiver decodes and hashes them itself, never trusting a hash sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import rlp

from network.errors import MalformedWireMessage, MessageTooLarge, TooManyItems, UnsupportedVersion
from network.hashing import DIGEST_LENGTH
from network.qbft.crypto import SIGNATURE_LENGTH

SYNC_VERSION = 1
MAX_SYNC_MESSAGE_BYTES = 32 * 1024 * 1024 - 1  # fits network.wire.MAX_PAYLOAD_BYTES with its lane byte
MAX_BLOCKS_PER_MESSAGE = 128
MAX_SEALS_PER_BLOCK = 256  # no validator set is larger
MAX_UINT_BYTES = 8


class SyncKind(IntEnum):
    STATUS = 0
    GET_BLOCKS = 1
    BLOCKS = 2


@dataclass(frozen=True)
class Status:
    height: int
    head_hash: bytes


@dataclass(frozen=True)
class GetBlocks:
    request_id: int
    start: int
    count: int


@dataclass(frozen=True)
class Blocks:
    request_id: int
    blocks: tuple[tuple[bytes, tuple[bytes, ...]], ...]  # (block bytes, commit seals)


SyncMessage = Status | GetBlocks | Blocks


def encode_sync_message(message: SyncMessage) -> bytes:
    if isinstance(message, Status):
        fields: list[object] = [SYNC_VERSION, SyncKind.STATUS, message.height, message.head_hash]
    elif isinstance(message, GetBlocks):
        fields = [SYNC_VERSION, SyncKind.GET_BLOCKS, message.request_id, message.start, message.count]
    else:
        assert len(message.blocks) <= MAX_BLOCKS_PER_MESSAGE
        fields = [SYNC_VERSION, SyncKind.BLOCKS, message.request_id, [[b, list(s)] for b, s in message.blocks]]
    return rlp.encode(fields)


def decode_sync_message(data: bytes) -> SyncMessage:
    """Raises a MalformedWireMessage subclass (network.malformed_wire_message, .message_too_large,
    .unsupported_version, .too_many_items) for anything not canonical or out of bounds."""
    if len(data) > MAX_SYNC_MESSAGE_BYTES:
        raise MessageTooLarge(f"sync message of {len(data)} bytes exceeds {MAX_SYNC_MESSAGE_BYTES}")
    try:
        fields = rlp.decode(data, strict=True)
    except Exception as exc:
        raise MalformedWireMessage(f"sync message is not RLP: {exc}") from exc
    if not isinstance(fields, list) or len(fields) < 2:
        raise MalformedWireMessage("sync message is not [version, kind, ...]")
    version, kind = _uint(fields[0]), _uint(fields[1])
    if version != SYNC_VERSION:
        raise UnsupportedVersion(f"sync message version {version}, this node speaks {SYNC_VERSION}")
    body = fields[2:]
    if kind == SyncKind.STATUS and len(body) == 2:
        head_hash = body[1]
        if not isinstance(head_hash, bytes) or len(head_hash) != DIGEST_LENGTH:
            raise MalformedWireMessage("status head hash is not 32 bytes")
        return Status(_uint(body[0]), head_hash)
    if kind == SyncKind.GET_BLOCKS and len(body) == 3:
        request = GetBlocks(_uint(body[0]), _uint(body[1]), _uint(body[2]))
        if request.count > MAX_BLOCKS_PER_MESSAGE:
            raise TooManyItems(f"asks for {request.count} blocks, at most {MAX_BLOCKS_PER_MESSAGE}")
        return request
    if kind == SyncKind.BLOCKS and len(body) == 2:
        return Blocks(_uint(body[0]), _blocks(body[1]))
    raise MalformedWireMessage(f"sync message of kind {kind} with {len(body)} fields")


def _blocks(raw: object) -> tuple[tuple[bytes, tuple[bytes, ...]], ...]:
    if not isinstance(raw, list):
        raise MalformedWireMessage("blocks is not a list")
    if len(raw) > MAX_BLOCKS_PER_MESSAGE:
        raise TooManyItems(f"{len(raw)} blocks in one message, at most {MAX_BLOCKS_PER_MESSAGE}")
    out = []
    for item in raw:
        if not isinstance(item, list) or len(item) != 2 or not isinstance(item[0], bytes):
            raise MalformedWireMessage("a block entry is not [block, seals]")
        seals = item[1]
        if not isinstance(seals, list) or not all(isinstance(s, bytes) for s in seals):
            raise MalformedWireMessage("seals is not a list of byte strings")
        if len(seals) > MAX_SEALS_PER_BLOCK:
            raise TooManyItems(f"{len(seals)} seals on one block, at most {MAX_SEALS_PER_BLOCK}")
        if any(len(s) != SIGNATURE_LENGTH for s in seals):
            raise MalformedWireMessage("a commit seal is not 65 bytes")
        out.append((item[0], tuple(seals)))
    return tuple(out)


def _uint(raw: object) -> int:
    if not isinstance(raw, bytes) or len(raw) > MAX_UINT_BYTES or (raw and raw[0] == 0):
        raise MalformedWireMessage("not a canonical integer of at most 8 bytes")
    return int.from_bytes(raw, "big")
