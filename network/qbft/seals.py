"""Commit seals: a validator's signature over a block hash; a quorum of them makes the block final."""

from __future__ import annotations

from collections.abc import Sequence

from network.qbft.crypto import Signer, recover_address
from network.qbft.errors import InvalidSignature
from network.qbft.messages import commit_seal_digest
from network.qbft.quorum import quorum_size


def make_commit_seal(block_hash: bytes, signer: Signer) -> bytes:
    return signer.sign(commit_seal_digest(block_hash))


def seal_signer(block_hash: bytes, seal: bytes) -> bytes | None:
    """The address that made `seal` over `block_hash`, or None for a seal that recovers to nothing."""
    try:
        return recover_address(commit_seal_digest(block_hash), seal)
    except InvalidSignature:
        return None


def verify_commit_seals(block_hash: bytes, seals: Sequence[bytes], validators: Sequence[bytes]) -> bool:
    """True when every seal is by a distinct member of `validators` and there are a quorum of them.

    Strict on purpose: sync imports blocks from untrusted peers, so a stray or repeated seal is a reason
    to ask another peer rather than something to tolerate.
    """
    assert validators, "a validator set is never empty"
    members = set(validators)
    signers: set[bytes] = set()
    for seal in seals:
        signer = seal_signer(block_hash, seal)
        if signer is None or signer not in members or signer in signers:
            return False
        signers.add(signer)
    return len(signers) >= quorum_size(len(members))
