"""API keys: "<key id>.<secret>", stored only as scrypt hashes in a TOML file, each with a role and bank.

    [[key]]
    id = "alice"
    role = "CLEARING_OFFICER"     # CLEARING_OFFICER | VIEWER | REGULATOR
    bank = "WEBANK"               # not for REGULATOR (it sees every bank)
    scrypt = "16384$8$1$<salt hex>$<hash hex>"

scrypt makes a stolen file expensive to attack, and costs tens of milliseconds per check, so a key that
verified once is remembered (by its SHA-256, never in clear) for the life of the process.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import tomli_w

from clearing.errors import ConfigError, Unauthenticated

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Role(StrEnum):
    CLEARING_OFFICER = "CLEARING_OFFICER"
    VIEWER = "VIEWER"
    REGULATOR = "REGULATOR"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key id (the actor in audit trails), its role and its bank (None: every bank)."""

    key_id: str
    role: Role
    bank: str | None

    @property
    def scope(self) -> str | None:
        """The bank whose data this caller may see; None for a regulator (all banks)."""
        return None if self.role is Role.REGULATOR else self.bank


def hash_secret(secret: str, *, salt: bytes | None = None, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"{n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        n, r, p, salt, digest = stored.split("$")
        computed = hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(computed.hex(), digest)


@dataclass(frozen=True)
class StoredKey:
    principal: Principal
    scrypt: str


class KeyRing:
    """The keys of one service, loaded at start."""

    def __init__(self, keys: list[StoredKey]) -> None:
        self._keys = {k.principal.key_id: k for k in keys}
        self._verified: dict[bytes, Principal] = {}

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        try:
            raw = tomllib.loads(path.read_text()) if path.exists() else {}
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read API keys {path}: {exc}") from exc
        keys = []
        for entry in raw.get("key", []):
            try:
                role = Role(entry["role"])
                key_id, digest = str(entry["id"]), str(entry["scrypt"])
            except (KeyError, ValueError, TypeError) as exc:
                raise ConfigError(f"bad key entry in {path}: {exc}") from exc
            bank = entry.get("bank")
            if role is not Role.REGULATOR and not bank:
                raise ConfigError(f"key {key_id}: role {role} needs a bank")
            keys.append(StoredKey(Principal(key_id, role, None if role is Role.REGULATOR else str(bank)), digest))
        return cls(keys)

    def authenticate(self, presented: str | None) -> Principal:
        if not presented:
            raise Unauthenticated("send an API key in the X-API-Key header")
        fingerprint = hashlib.sha256(presented.encode()).digest()
        known = self._verified.get(fingerprint)
        if known is not None:
            return known
        key_id, _, secret = presented.partition(".")
        stored = self._keys.get(key_id)
        if stored is None or not secret or not verify_secret(secret, stored.scrypt):
            raise Unauthenticated("unknown API key")
        self._verified[fingerprint] = stored.principal
        return stored.principal


def add_key(path: Path, key_id: str, role: Role, bank: str | None, *, n: int = SCRYPT_N) -> str:
    """Appends a new key to the file (created 0600) and returns the full key, shown once."""
    if not KEY_ID.match(key_id):
        raise ConfigError("key id must be 1-64 letters, digits, '_' or '-'")
    try:
        raw = tomllib.loads(path.read_text()) if path.exists() else {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read API keys {path}: {exc}") from exc
    entries = raw.setdefault("key", [])
    if any(e.get("id") == key_id for e in entries):
        raise ConfigError(f"key id {key_id!r} already exists in {path}")
    secret = secrets.token_urlsafe(24)
    entry = {"id": key_id, "role": role.value, "scrypt": hash_secret(secret, n=n)}
    if role is not Role.REGULATOR:
        if not bank:
            raise ConfigError(f"role {role} needs a bank")
        entry["bank"] = bank
    entries.append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(tomli_w.dumps(raw))
    return f"{key_id}.{secret}"
