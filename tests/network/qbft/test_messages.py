import contextlib

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st

from network.qbft import ConsensusBlock
from network.qbft.errors import MalformedMessage
from network.qbft.messages import (
    Message,
    MessageKind,
    Vote,
    decode_message,
    encode_message,
    encode_vote,
    sign_vote,
)
from network.qbft.seals import make_commit_seal
from tests.network.qbft.cluster import CODEC, signers

KEYS = signers(4)
BLOCK = ConsensusBlock(5, b"\x11" * 32, b"payload")
BLOCK_HASH = CODEC.hash(BLOCK)


def _roundtrip(message: Message) -> Message:
    data = encode_message(message, CODEC)
    decoded = decode_message(data, CODEC)
    assert encode_message(decoded, CODEC) == data  # deterministic and canonical
    return decoded


def test_every_kind_roundtrips_and_recovers_its_sender() -> None:
    prepares = tuple(sign_vote(Vote(MessageKind.PREPARE, 5, 0, BLOCK_HASH), k) for k in KEYS[:3])
    round_change = sign_vote(Vote(MessageKind.ROUND_CHANGE, 5, 1, BLOCK_HASH, prepared_round=0), KEYS[1])
    seal = make_commit_seal(BLOCK_HASH, KEYS[2])
    messages = [
        Message(sign_vote(Vote(MessageKind.PREPARE, 5, 0, BLOCK_HASH), KEYS[0])),
        Message(sign_vote(Vote(MessageKind.COMMIT, 5, 0, BLOCK_HASH, commit_seal=seal), KEYS[2])),
        Message(round_change, BLOCK, (), prepares),
        Message(sign_vote(Vote(MessageKind.PROPOSAL, 5, 1, BLOCK_HASH), KEYS[3]), BLOCK, (round_change,), prepares),
    ]
    for message in messages:
        decoded = _roundtrip(message)
        assert decoded == message
        assert decoded.sender == message.signed.sender


def test_a_round_change_without_prepared_round_keeps_none_apart_from_round_zero() -> None:
    none = sign_vote(Vote(MessageKind.ROUND_CHANGE, 1, 2), KEYS[0])
    zero = sign_vote(Vote(MessageKind.ROUND_CHANGE, 1, 2, BLOCK_HASH, prepared_round=0), KEYS[0])
    assert _roundtrip(Message(none)).vote.prepared_round is None
    assert _roundtrip(Message(zero)).vote.prepared_round == 0


def test_a_tampered_vote_recovers_someone_else() -> None:
    signed = sign_vote(Vote(MessageKind.PREPARE, 5, 0, BLOCK_HASH), KEYS[0])
    forged_body = encode_vote(Vote(MessageKind.PREPARE, 5, 1, BLOCK_HASH))
    data = rlp.encode([[forged_body, signed.signature], b"", [], []])
    try:
        decoded = decode_message(data, CODEC)
    except MalformedMessage:
        return
    assert decoded.sender != KEYS[0].address


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00",
        rlp.encode([b"a", b"b"]),
        rlp.encode([[b"x", b"y"], b"", [], []]),
        rlp.encode([[encode_vote(Vote(MessageKind.PREPARE, 1, 0)), b"\x00" * 65], b"", [], []]),
        rlp.encode([[rlp.encode([b"\x09", b"", b"", b"", b"", b""]), b"\x01" * 65], b"", [], []]),
        rlp.encode([[rlp.encode([b"\x01", b"\x00\x01", b"", b"", b"", b""]), b"\x01" * 65], b"", [], []]),
    ],
)
def test_malformed_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(MalformedMessage):
        decode_message(data, CODEC)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_either_decode_or_raise_malformed(data: bytes) -> None:
    with contextlib.suppress(MalformedMessage):
        decode_message(data, CODEC)


VALID = encode_message(
    Message(sign_vote(Vote(MessageKind.PROPOSAL, 5, 0, BLOCK_HASH), KEYS[1]), BLOCK), CODEC
)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(VALID) - 1), st.integers(1, 255))
def test_a_flipped_byte_never_passes_as_the_original_sender(position: int, mask: int) -> None:
    data = bytearray(VALID)
    data[position] ^= mask
    with contextlib.suppress(MalformedMessage):
        decoded = decode_message(bytes(data), CODEC)
        assert decoded.sender != KEYS[1].address or decoded.vote == decode_message(VALID, CODEC).vote


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**40), st.integers(0, 2**20), st.sampled_from(list(MessageKind)))
def test_votes_roundtrip_for_any_height_and_round(height: int, round_: int, kind: MessageKind) -> None:
    vote = Vote(kind, height, round_, BLOCK_HASH)
    assert _roundtrip(Message(sign_vote(vote, KEYS[1]))).vote == vote
