"""Identifiers as the contracts see them: readable ASCII ids padded into bytes32, and salted PII hashes."""

from __future__ import annotations

import re

from contracts.errors import BadArguments
from network.hashing import keccak256 as keccak

_ID_PATTERN = re.compile(r"^[\x21-\x7e]{1,32}$")


def text_id(text: str) -> bytes:
    """A business id (bank "WEBANK", loan "LN-2026-000123") as bytes32: printable ASCII, right-padded with zeros.

    Readable ids keep the chain, the index and the banks' books joinable without a lookup table.
    """
    if not isinstance(text, str) or not _ID_PATTERN.match(text):
        raise BadArguments(f"id must be 1-32 printable ASCII characters without spaces, got {text!r}")
    return text.encode("ascii").ljust(32, b"\0")


def id_text(raw: bytes) -> str:
    """bytes32 -> text, the inverse of text_id: padded printable ASCII reads as itself, anything else (a
    derived hash, or ASCII that itself starts with "0x") as 0x-hex, so the text always maps back uniquely."""
    if len(raw) != 32:
        raise BadArguments(f"an id must be 32 bytes, got {len(raw)}")
    stripped = raw.rstrip(b"\0")
    if stripped and b"\0" not in stripped and all(0x21 <= b <= 0x7E for b in stripped):
        text = stripped.decode("ascii")
        if not text.startswith("0x"):
            return text
    return "0x" + raw.hex()


def bank_id(name: str) -> bytes:
    return text_id(name)


def borrower_hash(salt: bytes, borrower_identity: str) -> bytes:
    """keccak256(salt || identity): the only trace of a borrower on chain. The salt stays in the bank."""
    if len(salt) < 16:
        raise BadArguments("borrower salt must be at least 16 bytes")
    return keccak(salt + borrower_identity.encode("utf-8"))

