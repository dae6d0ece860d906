"""A minimal RLP encoder for the node's own records (bytes, non-negative ints, nested lists).

pyrlp infers a sedes for every item, which made encoding receipts and state diffs the largest cost of a
block; this produces the same bytes (tests compare with pyrlp) at a fraction of the cost. Decoding still
uses pyrlp.
"""

from __future__ import annotations

from typing import TypeAlias

Item: TypeAlias = "bytes | int | list[Item] | tuple[Item, ...]"


def _headers(offset: int) -> list[bytes]:
    return [bytes([offset + n]) if n < 56 else bytes([offset + 56, n]) for n in range(256)]


_STRING_HEADERS = _headers(0x80)  # headers of payloads shorter than 256 bytes, looked up: receipts and diffs
_LIST_HEADERS = _headers(0xC0)  # frame tens of thousands of small items per block


def _length_prefix(length: int, offset: int) -> bytes:
    if length < 256:
        return (_LIST_HEADERS if offset == 0xC0 else _STRING_HEADERS)[length]
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


def list_header(payload_length: int) -> bytes:
    """The RLP header of a list whose items, already encoded, take payload_length bytes."""
    return _LIST_HEADERS[payload_length] if payload_length < 256 else _length_prefix(payload_length, 0xC0)


def encode_list_of_encoded(encoded_items: list[bytes]) -> bytes:
    """RLP list from items that are already RLP-encoded (avoids encoding them twice)."""
    payload = b"".join(encoded_items)
    return _length_prefix(len(payload), 0xC0) + payload
