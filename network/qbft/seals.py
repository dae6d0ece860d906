"""Commit seals, the one implementation the QBFT core and the node's chain both use.

A seal is a validator's 65-byte recoverable secp256k1 signature (r || s || recid) over
keccak256("colend/commit-seal/v1" || block hash); a quorum of distinct validators' seals makes a block final.
The domain prefix keeps a seal from ever standing in for a tx signature or a consensus vote.
"""

from __future__ import annotations

from collections.abc import Sequence

from network.hashing import DIGEST_LENGTH, keccak256
from network.qbft.crypto import Signer, recover_address
from network.qbft.errors import InvalidSignature
from network.qbft.quorum import quorum_size

SEAL_DOMAIN = b"colend/commit-seal/v1"


def commit_seal_digest(block_hash: bytes) -> bytes:
    assert len(block_hash) == DIGEST_LENGTH
    return keccak256(SEAL_DOMAIN + block_hash)


def make_commit_seal(block_hash: bytes, signer: Signer) -> bytes:
    return signer.sign(commit_seal_digest(block_hash))


def seal_signer(block_hash: bytes, seal: bytes) -> bytes | None:
    """The address that made `seal` over `block_hash`, or None for a seal that recovers to nothing."""
    try:
        return recover_address(commit_seal_digest(block_hash), seal)
    except InvalidSignature:
        return None


def commit_seal_problem(block_hash: bytes, seals: Sequence[bytes], validators: Sequence[bytes]) -> str | None:
    """Why `seals` do not finalize `block_hash` under `validators`, or None when they do.

    Strict on purpose: sync imports blocks from untrusted peers, so a stray or repeated seal is a reason
    to ask another peer rather than something to tolerate.
    """
    assert validators, "a validator set is never empty"
    members = set(validators)
    signers: set[bytes] = set()
    for seal in seals:
        signer = seal_signer(block_hash, seal)
        if signer is None:
            return "carries a commit seal that does not recover a key"
        if signer not in members:
            return "is sealed by a non-validator (or a seal over another hash)"
        if signer in signers:
            return "carries two commit seals by one validator"
        signers.add(signer)
    needed = quorum_size(len(members))
    if len(signers) < needed:
        return f"has {len(signers)} commit seals, needs {needed}"
    return None


def verify_commit_seals(block_hash: bytes, seals: Sequence[bytes], validators: Sequence[bytes]) -> bool:
    """True when every seal is by a distinct member of `validators` and there are a quorum of them."""
    return commit_seal_problem(block_hash, seals, validators) is None
