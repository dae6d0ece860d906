"""One transport, two protocols: the first byte of every payload says whether QBFT or block sync reads it."""

from __future__ import annotations

from enum import IntEnum

from network.errors import MalformedWireMessage, MessageTooLarge, UnknownChannel

MAX_PAYLOAD_BYTES = 32 * 1024 * 1024  # a block response at its budget plus one large block fits well within


class Channel(IntEnum):
    QBFT = 1
    SYNC = 2


def wrap(channel: Channel, body: bytes) -> bytes:
    return bytes([channel]) + body


def unwrap(payload: bytes) -> tuple[Channel, bytes]:
    """Raises a MalformedWireMessage subclass for an empty, oversized or unknown-channel payload."""
    if not payload:
        raise MalformedWireMessage("empty payload")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MessageTooLarge(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    try:
        channel = Channel(payload[0])
    except ValueError:
        raise UnknownChannel(f"unknown channel {payload[0]}") from None
    return channel, payload[1:]
