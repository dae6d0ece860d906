"""Byzantine validators: an honest core whose outgoing messages are rewritten, split or salted with junk."""

from __future__ import annotations

import random
from dataclasses import replace

from network.qbft.block import Block, BlockCodec
from network.qbft.crypto import PrivateKeySigner, Signer, keccak256
from network.qbft.messages import Message, MessageKind, Vote, decode_message, encode_message, sign_vote
from network.qbft.seals import make_commit_seal
from network.sim.scenario import Role

SELECTIVE_SEND_PROBABILITY = 0.4
OUTSIDER = PrivateKeySigner(keccak256(b"colend-sim-outsider"))  # a key no validator set contains


def outgoing(
    role: Role, data: bytes, peers: list[int], signer: Signer, codec: BlockCodec, rng: random.Random
) -> list[tuple[int, bytes]]:
    """(peer, bytes) pairs to send in place of broadcasting `data` to `peers`."""
    honest = [(peer, data) for peer in peers]
    if role is Role.HONEST or role is Role.INVALID_BLOCK:
        return honest
    if role is Role.SELECTIVE:
        return [(peer, data) for peer in peers if rng.random() < SELECTIVE_SEND_PROBABILITY]
    message = decode_message(data, codec)
    kind = message.vote.kind
    if role is Role.EQUIVOCATE and kind is MessageKind.PROPOSAL:
        return _split(peers, data, _equivocal_proposal(message, signer, codec), rng)
    if role is Role.DOUBLE_VOTE and kind in (MessageKind.PREPARE, MessageKind.COMMIT):
        return _split(peers, data, _second_vote(message, signer, codec), rng)
    if role is Role.FORGE:
        return honest + [(peer, junk) for peer in peers for junk in _junk(message, signer, codec, rng)]
    return honest


def invalid_block(height: int, parent_hash: bytes, author: int) -> Block:
    return Block(height, parent_hash, b"invalid:" + author.to_bytes(2, "big"))


def _split(peers: list[int], first: bytes, second: bytes, rng: random.Random) -> list[tuple[int, bytes]]:
    """Each peer gets one version, a few get both in a random order."""
    out: list[tuple[int, bytes]] = []
    for peer in peers:
        choice = rng.randrange(5)
        if choice < 2:
            out.append((peer, first))
        elif choice < 4:
            out.append((peer, second))
        else:
            out.extend([(peer, second), (peer, first)])
    return out


def _equivocal_proposal(message: Message, signer: Signer, codec: BlockCodec) -> bytes:
    assert message.block is not None
    other = replace(message.block, payload=message.block.payload + b":equivocation")
    vote = replace(message.vote, digest=codec.hash(other))
    return encode_message(replace(message, signed=sign_vote(vote, signer), block=other), codec)


def _second_vote(message: Message, signer: Signer, codec: BlockCodec) -> bytes:
    digest = keccak256(b"colend-sim-other-block" + message.vote.digest)
    vote = replace(message.vote, digest=digest)
    if vote.kind is MessageKind.COMMIT:
        vote = replace(vote, commit_seal=make_commit_seal(digest, signer))
    return encode_message(Message(sign_vote(vote, signer)), codec)


def _junk(message: Message, signer: Signer, codec: BlockCodec, rng: random.Random) -> list[bytes]:
    """Garbage bytes, a flipped byte, a random signature, a non-validator's vote, a foreign commit seal."""
    vote = message.vote
    corrupted = bytearray(encode_message(message, codec))
    corrupted[rng.randrange(len(corrupted))] ^= 1 + rng.randrange(255)
    random_signature = replace(message.signed, signature=rng.randbytes(65))
    fake_hash = keccak256(b"colend-sim-forged" + vote.digest)
    seal = make_commit_seal(fake_hash, OUTSIDER)
    commit = Vote(MessageKind.COMMIT, vote.height, vote.round, fake_hash, commit_seal=seal)
    return [
        rng.randbytes(rng.randint(0, 120)),
        bytes(corrupted),
        encode_message(replace(message, signed=random_signature), codec),
        encode_message(Message(sign_vote(commit, OUTSIDER)), codec),
        encode_message(Message(sign_vote(commit, signer)), codec),
    ]
