"""One transport, two protocols: the first byte of every payload, its lane, says whether QBFT or block sync reads it.

The lanes share the p2p host's consensus channel (network/p2p/abc.py `Channel.CONSENSUS`)."""

from __future__ import annotations

from enum import IntEnum

from network.errors import MalformedWireMessage, MessageTooLarge, UnknownLane

MAX_PAYLOAD_BYTES = 32 * 1024 * 1024  # a block response at its budget plus one large block fits well within


class Lane(IntEnum):
    """Which protocol reads a consensus-channel payload."""

    QBFT = 1
    SYNC = 2


def wrap(lane: Lane, body: bytes) -> bytes:
    return bytes([lane]) + body


def unwrap(payload: bytes) -> tuple[Lane, bytes]:
    """Raises a MalformedWireMessage subclass for an empty, oversized or unknown-lane payload."""
    if not payload:
        raise MalformedWireMessage("empty payload")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MessageTooLarge(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    try:
        lane = Lane(payload[0])
    except ValueError:
        raise UnknownLane(f"unknown lane {payload[0]}") from None
    return lane, payload[1:]
