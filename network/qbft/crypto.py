"""secp256k1 recoverable signatures and Ethereum-style validator addresses."""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

from coincurve import PrivateKey, PublicKey

from network.hashing import DIGEST_LENGTH, keccak256
from network.qbft.errors import InvalidSignature

SIGNATURE_LENGTH = 65
ADDRESS_LENGTH = 20
RECOVERY_CACHE_SIZE = 1 << 16


def address_of(public_key: PublicKey) -> bytes:
    """The last 20 bytes of keccak(uncompressed key without its 0x04 prefix), as Ethereum does."""
    return keccak256(public_key.format(compressed=False)[1:])[-ADDRESS_LENGTH:]


class Signer(Protocol):
    """A validator's key as the core sees it: the node may back it by a file, an HSM or a test key."""

    @property
    def address(self) -> bytes: ...

    def sign(self, digest: bytes) -> bytes:
        """A 65-byte recoverable signature (r || s || v) over a 32-byte digest."""
        ...


class PrivateKeySigner:
    """A Signer holding a raw secp256k1 private key in memory."""

    def __init__(self, secret: bytes) -> None:
        self._key = PrivateKey(secret)
        self._address = address_of(self._key.public_key)

    @property
    def address(self) -> bytes:
        return self._address

    def sign(self, digest: bytes) -> bytes:
        assert len(digest) == DIGEST_LENGTH
        return self._key.sign_recoverable(digest, hasher=None)


def recover_address(digest: bytes, signature: bytes) -> bytes:
    """The address whose key made `signature` over `digest`; raises InvalidSignature otherwise."""
    if len(digest) != DIGEST_LENGTH or len(signature) != SIGNATURE_LENGTH:
        raise InvalidSignature("wrong digest or signature length")
    address = _recover_cached(digest, signature)
    if address is None:
        raise InvalidSignature("signature does not recover to a key")
    return address


@lru_cache(maxsize=RECOVERY_CACHE_SIZE)
def _recover_cached(digest: bytes, signature: bytes) -> bytes | None:
    # Recovery is a pure function and every validator checks the same broadcast, so memoising it is safe.
    try:
        return address_of(PublicKey.from_signature_and_message(signature, digest, hasher=None))
    except Exception:
        return None
