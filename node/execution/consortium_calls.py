"""The few ABI encodings the node itself needs (permission checks), kept free of any contract tooling."""

from __future__ import annotations

from network.hashing import keccak256 as keccak

CAN_WRITE_SELECTOR = keccak(b"canWrite(address)")[:4]


def encode_can_write(account: bytes) -> bytes:
    return CAN_WRITE_SELECTOR + account.rjust(32, b"\x00")


def decode_bool(output: bytes) -> bool:
    return len(output) >= 32 and int.from_bytes(output[:32], "big") != 0
