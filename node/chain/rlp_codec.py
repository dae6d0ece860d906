"""A minimal RLP encoder for the node's own records (bytes, non-negative ints, nested lists).

pyrlp infers a sedes for every item, which made encoding receipts and state diffs the largest cost of a
block; this produces the same bytes (tests compare with pyrlp) at a fraction of the cost. Decoding still
uses pyrlp.
"""

from __future__ import annotations

from typing import TypeAlias

Item: TypeAlias = "bytes | int | list[Item] | tuple[Item, ...]"


def _length_prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(encoded)]) + encoded


def encode(item: Item) -> bytes:
    if isinstance(item, bytes):
        if len(item) == 1 and item[0] < 0x80:
            return item
        return _length_prefix(len(item), 0x80) + item
    if isinstance(item, int):
        if item < 0:
            raise ValueError("RLP cannot encode negative integers")
        if item == 0:
            return b"\x80"
        if item < 0x80:
            return bytes([item])
        raw = item.to_bytes((item.bit_length() + 7) // 8, "big")
        return _length_prefix(len(raw), 0x80) + raw
    if isinstance(item, list | tuple):
        payload = b"".join([encode(x) for x in item])
        return _length_prefix(len(payload), 0xC0) + payload
    raise TypeError(f"cannot RLP-encode {type(item).__name__}")


def encode_list_of_encoded(encoded_items: list[bytes]) -> bytes:
    """RLP list from items that are already RLP-encoded (avoids encoding them twice)."""
    payload = b"".join(encoded_items)
    return _length_prefix(len(payload), 0xC0) + payload
