"""Key layout of the chain store. One prefix byte per record kind; numbers are 8-byte big-endian so
LevelDB's byte order is numeric order and range scans by block number work."""

from __future__ import annotations

HEAD = b"H"  # -> rlp [number, hash]
GENESIS = b"G"  # -> genesis document (JSON bytes)
BLOCK = b"b"  # + block hash -> rlp [header fields, [tx hashes], [seals]]
CANONICAL = b"n"  # + number -> block hash
TX = b"x"  # + tx hash -> rlp [raw, sender, number, index, receipt fields, first log index]
DIFF = b"d"  # + number -> StateDiff encoding
ACCOUNT = b"a"  # + address -> AccountRecord encoding
SLOT = b"s"  # + address + slot(32) -> value (minimal big-endian, never zero)
CODE = b"c"  # + code hash -> code
LOG_BY_ADDRESS = b"la"  # + address + number -> b""
LOG_BY_TOPIC = b"lt"  # + topic + number -> b""
LOG_BLOCK = b"lb"  # + number -> b"" (blocks that have any log)
POOL_JOURNAL = b"p"  # + arrival sequence number -> rlp [raw tx, sender] (node/txpool/journal.py)


def num(n: int) -> bytes:
    return n.to_bytes(8, "big")


def slot_key(address: bytes, slot: int) -> bytes:
    return SLOT + address + slot.to_bytes(32, "big")
