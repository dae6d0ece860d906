"""Sync's wire form: round trips, and every bound refused with its stable error code."""

import pytest
import rlp

from network.errors import MalformedWireMessage
from network.sync.messages import (
    MAX_BLOCKS_PER_MESSAGE,
    MAX_SEALS_PER_BLOCK,
    MAX_SYNC_MESSAGE_BYTES,
    SYNC_VERSION,
    Blocks,
    GetBlocks,
    Status,
    decode_sync_message,
    encode_sync_message,
)
from network.wire import MAX_PAYLOAD_BYTES, Lane, unwrap, wrap

SEAL = b"\x01" * 65


@pytest.mark.parametrize("message", [
    Status(0, b"\x00" * 32),
    Status(2**63, b"\xab" * 32),
    GetBlocks(7, 1, MAX_BLOCKS_PER_MESSAGE),
    Blocks(9, ()),
    Blocks(9, ((b"block one", (SEAL, SEAL)), (b"", ()))),
])
def test_sync_messages_round_trip(message) -> None:
    assert decode_sync_message(encode_sync_message(message)) == message


@pytest.mark.parametrize("data, code", [
    (b"", "network.malformed_wire_message"),
    (b"\xff\x00", "network.malformed_wire_message"),
    (rlp.encode([SYNC_VERSION + 1, 0, 1, b"\x00" * 32]), "network.unsupported_version"),
    (rlp.encode([SYNC_VERSION, 9, 1]), "network.malformed_wire_message"),
    (rlp.encode([SYNC_VERSION, 0, 1, b"\x00" * 31]), "network.malformed_wire_message"),
    (rlp.encode([SYNC_VERSION, 0, b"\x00\x01", b"\x00" * 32]), "network.malformed_wire_message"),  # leading zero
    (rlp.encode([SYNC_VERSION, 0, 2**64, b"\x00" * 32]), "network.malformed_wire_message"),  # beyond 8 bytes
    (rlp.encode([SYNC_VERSION, 1, 1, 1, MAX_BLOCKS_PER_MESSAGE + 1]), "network.too_many_items"),
    (rlp.encode([SYNC_VERSION, 2, 1, [[b"b", []]] * (MAX_BLOCKS_PER_MESSAGE + 1)]), "network.too_many_items"),
    (rlp.encode([SYNC_VERSION, 2, 1, [[b"b", [SEAL] * (MAX_SEALS_PER_BLOCK + 1)]]]), "network.too_many_items"),
    (rlp.encode([SYNC_VERSION, 2, 1, [[b"b", [b"\x01" * 64]]]]), "network.malformed_wire_message"),
    (rlp.encode([SYNC_VERSION, 2, 1, [[b"b"]]]), "network.malformed_wire_message"),
    (b"\x00" * (MAX_SYNC_MESSAGE_BYTES + 1), "network.message_too_large"),
])
def test_malformed_or_oversized_sync_messages_raise_a_typed_error_with_a_stable_code(data, code) -> None:
    with pytest.raises(MalformedWireMessage) as raised:
        decode_sync_message(data)
    assert raised.value.code == code


def test_the_lane_byte_routes_payloads_and_bad_ones_are_refused_by_code() -> None:
    assert unwrap(wrap(Lane.SYNC, b"body")) == (Lane.SYNC, b"body")
    assert unwrap(wrap(Lane.QBFT, b"")) == (Lane.QBFT, b"")
    for payload, code in ((b"", "network.malformed_wire_message"), (b"\x07body", "network.unknown_channel"),
                          (b"\x01" * (MAX_PAYLOAD_BYTES + 1), "network.message_too_large")):
        with pytest.raises(MalformedWireMessage) as raised:
            unwrap(payload)
        assert raised.value.code == code
