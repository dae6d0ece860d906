"""The consensus package's exception hierarchy: each error carries a stable machine code."""

from __future__ import annotations


class QbftError(Exception):
    """Base of every error raised by `network.qbft`."""

    code: str = "network.qbft_error"


class MalformedMessage(QbftError):
    """Bytes that do not decode to a well-formed consensus message; the core drops them."""

    code = "network.malformed_consensus_message"


class InvalidSignature(QbftError):
    """A signature that does not recover to any public key."""

    code = "network.invalid_signature"
