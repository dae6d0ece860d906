"""Commit seals: a validator's 65-byte recoverable secp256k1 signature (r || s || recid) over the block hash."""

from __future__ import annotations

from coincurve import PrivateKey, PublicKey
from eth_hash.auto import keccak

from node.errors import ChainIntegrityError

SEAL_DOMAIN = b"colend/commit-seal/v1"


def seal_digest(block_hash: bytes) -> bytes:
    """Domain-separated so a seal can never be replayed as a tx signature or another message."""
    return keccak(SEAL_DOMAIN + block_hash)


def make_seal(private_key: bytes, block_hash: bytes) -> bytes:
    return PrivateKey(private_key).sign_recoverable(seal_digest(block_hash), hasher=None)


def seal_signer(block_hash: bytes, seal: bytes) -> bytes:
    """The validator address that produced `seal`; raises ChainIntegrityError if it does not recover."""
    if len(seal) != 65:
        raise ChainIntegrityError("commit seal must be 65 bytes")
    try:
        pub = PublicKey.from_signature_and_message(seal, seal_digest(block_hash), hasher=None)
    except Exception as exc:
        raise ChainIntegrityError("commit seal does not recover a public key") from exc
    return keccak(pub.format(compressed=False)[1:])[12:]


def address_of(private_key: bytes) -> bytes:
    return keccak(PrivateKey(private_key).public_key.format(compressed=False)[1:])[12:]
