"""Consensus messages and their wire form: deterministic RLP, each vote signed by its validator.

A message is a signed vote (kind, height, round, digest, prepared round, commit seal) plus what travels
beside it unsigned: the proposed or prepared block, and the ROUND-CHANGE and PREPARE messages that justify
it. Signatures are recoverable secp256k1 over keccak256 of the vote's encoding, so peers learn the sender.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache

import rlp

from network.hashing import DIGEST_LENGTH, keccak256
from network.qbft.block import BlockCodec, ConsensusBlock
from network.qbft.crypto import SIGNATURE_LENGTH, Signer, recover_address
from network.qbft.errors import InvalidSignature, MalformedMessage

NO_PREPARED_ROUND = None
MAX_JUSTIFICATION_ITEMS = 1024
SIGNED_VOTE_CACHE_SIZE = 1 << 15  # far above any real validator set; bounds work on hostile input


class MessageKind(IntEnum):
    PROPOSAL = 0
    PREPARE = 1
    COMMIT = 2
    ROUND_CHANGE = 3


@dataclass(frozen=True)
class Vote:
    """The signed part of every message; unused fields are empty (digest b"", seal b"", prepared None)."""

    kind: MessageKind
    height: int
    round: int
    digest: bytes = b""
    prepared_round: int | None = NO_PREPARED_ROUND
    commit_seal: bytes = b""


@dataclass(frozen=True)
class SignedVote:
    vote: Vote
    signature: bytes
    sender: bytes  # recovered from the signature, never read off the wire


@dataclass(frozen=True)
class Message:
    """A signed vote with its unsigned companions: a block and the votes that justify it."""

    signed: SignedVote
    block: ConsensusBlock | None = None
    round_changes: tuple[SignedVote, ...] = ()
    prepares: tuple[SignedVote, ...] = ()

    @property
    def vote(self) -> Vote:
        return self.signed.vote

    @property
    def sender(self) -> bytes:
        return self.signed.sender


def encode_vote(vote: Vote) -> bytes:
    prepared = 0 if vote.prepared_round is None else vote.prepared_round + 1
    return rlp.encode([int(vote.kind), vote.height, vote.round, vote.digest, prepared, vote.commit_seal])


def vote_digest(vote: Vote) -> bytes:
    return keccak256(encode_vote(vote))


def sign_vote(vote: Vote, signer: Signer) -> SignedVote:
    return SignedVote(vote, signer.sign(vote_digest(vote)), signer.address)


def encode_message(message: Message, codec: BlockCodec) -> bytes:
    block = b"" if message.block is None else codec.encode(message.block)
    return rlp.encode(
        [
            _signed_fields(message.signed),
            block,
            [_signed_fields(s) for s in message.round_changes],
            [_signed_fields(s) for s in message.prepares],
        ]
    )


def decode_message(data: bytes, codec: BlockCodec) -> Message:
    """Parse and recover every signature; raises MalformedMessage on anything not canonical."""
    try:
        fields = rlp.decode(data)
    except Exception as exc:
        raise MalformedMessage(f"not RLP: {exc}") from exc
    if not isinstance(fields, list) or len(fields) != 4:
        raise MalformedMessage("message is not [signed, block, round_changes, prepares]")
    signed_raw, block_raw, round_changes_raw, prepares_raw = fields
    if not isinstance(block_raw, bytes) or not isinstance(round_changes_raw, list):
        raise MalformedMessage("bad block or round-change list")
    if not isinstance(prepares_raw, list):
        raise MalformedMessage("bad prepare list")
    if len(round_changes_raw) + len(prepares_raw) > MAX_JUSTIFICATION_ITEMS:
        raise MalformedMessage("justification too large")
    block = codec.decode(block_raw) if block_raw else None
    return Message(
        signed=_decode_signed(signed_raw),
        block=block,
        round_changes=tuple(_decode_signed(x) for x in round_changes_raw),
        prepares=tuple(_decode_signed(x) for x in prepares_raw),
    )


def _signed_fields(signed: SignedVote) -> list[bytes]:
    return [encode_vote(signed.vote), signed.signature]


def _decode_signed(raw: object) -> SignedVote:
    if not isinstance(raw, list) or len(raw) != 2 or not all(isinstance(x, bytes) for x in raw):
        raise MalformedMessage("signed vote is not [vote, signature]")
    return _decode_signed_fields(raw[0], raw[1])


@lru_cache(maxsize=SIGNED_VOTE_CACHE_SIZE)
def _decode_signed_fields(body: bytes, signature: bytes) -> SignedVote:
    # Pure in its inputs; every validator decodes the same broadcast, and justifications repeat votes.
    if len(signature) != SIGNATURE_LENGTH:
        raise MalformedMessage("signature is not 65 bytes")
    vote = _decode_vote(body)
    if encode_vote(vote) != body:
        raise MalformedMessage("vote encoding is not canonical")
    try:
        sender = recover_address(keccak256(body), signature)
    except InvalidSignature as exc:
        raise MalformedMessage(str(exc)) from exc
    return SignedVote(vote, signature, sender)


def _decode_vote(body: bytes) -> Vote:
    try:
        fields = rlp.decode(body)
    except Exception as exc:
        raise MalformedMessage(f"vote is not RLP: {exc}") from exc
    if not isinstance(fields, list) or len(fields) != 6 or not all(isinstance(x, bytes) for x in fields):
        raise MalformedMessage("vote is not six byte strings")
    kind_raw, height_raw, round_raw, digest, prepared_raw, seal = fields
    kind = _decode_uint(kind_raw)
    if kind not in {k.value for k in MessageKind}:
        raise MalformedMessage(f"unknown message kind {kind}")
    if digest and len(digest) != DIGEST_LENGTH:
        raise MalformedMessage("digest is not 32 bytes")
    if seal and len(seal) != SIGNATURE_LENGTH:
        raise MalformedMessage("commit seal is not 65 bytes")
    prepared = _decode_uint(prepared_raw)
    return Vote(
        kind=MessageKind(kind),
        height=_decode_uint(height_raw),
        round=_decode_uint(round_raw),
        digest=digest,
        prepared_round=None if prepared == 0 else prepared - 1,
        commit_seal=seal,
    )


def _decode_uint(raw: bytes) -> int:
    if raw and raw[0] == 0:
        raise MalformedMessage("integer with leading zero")
    return int.from_bytes(raw, "big")
