"""Byzantine validators: an honest core whose outgoing consensus messages are rewritten, split or salted with
junk, or an honest node whose sync answers lie (a false height, forged blocks)."""

from __future__ import annotations

import random
from dataclasses import replace

from network.hashing import keccak256
from network.qbft.block import BlockCodec
from network.qbft.crypto import PrivateKeySigner, Signer
from network.qbft.messages import Message, MessageKind, Vote, decode_message, encode_message, sign_vote
from network.qbft.seals import make_commit_seal
from network.sim.scenario import Role
from network.sync.messages import Blocks, Status, decode_sync_message, encode_sync_message

SELECTIVE_SEND_PROBABILITY = 0.4
OUTSIDER = PrivateKeySigner(keccak256(b"colend-sim-outsider"))  # a key no validator set contains


def outgoing(
    role: Role, data: bytes, peers: list[int], signer: Signer, codec: BlockCodec, rng: random.Random
) -> list[tuple[int, bytes]]:
    """(peer, bytes) pairs to send in place of broadcasting `data` to `peers`."""
    honest = [(peer, data) for peer in peers]
    if role in (Role.HONEST, Role.INVALID_BLOCK, Role.FORGE_SYNC, Role.LIE_HEIGHT):
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


LIE_LEAD = 1_000  # how far above its head a lying peer claims to be
FORGERIES = ("payload", "parent", "few_seals", "outsider_seals", "garbage")


def tamper_sync(role: Role, body: bytes, codec: BlockCodec, rng: random.Random) -> bytes:
    """What a sync-Byzantine peer sends in place of an honest sync message `body`."""
    message = decode_sync_message(body)
    if role is Role.LIE_HEIGHT:
        if isinstance(message, Status):
            return encode_sync_message(Status(message.height + LIE_LEAD, message.head_hash))
        if isinstance(message, Blocks):
            return encode_sync_message(Blocks(message.request_id, ()))
        return body
    if role is not Role.FORGE_SYNC or not isinstance(message, Blocks) or not message.blocks:
        return body
    raw, seals = message.blocks[0]
    block = codec.decode(raw)
    forgery = rng.choice(FORGERIES)
    if forgery == "payload":
        raw = codec.encode(replace(block, payload=block.payload + b"forged"))
    elif forgery == "parent":
        raw = codec.encode(replace(block, parent_hash=keccak256(b"colend-sim-forged-parent" + raw)))
    elif forgery == "few_seals":
        seals = seals[:1]
    elif forgery == "outsider_seals":
        seals = tuple(make_commit_seal(codec.hash(block), OUTSIDER) for _ in seals)
    else:
        raw = rng.randbytes(rng.randint(0, 64))
    return encode_sync_message(Blocks(message.request_id, ((raw, seals), *message.blocks[1:])))
