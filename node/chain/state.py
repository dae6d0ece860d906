"""Account records and per-block state diffs: what the store persists and the commitment digests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import rlp
from eth_hash.auto import keccak

from node.chain.commitment import update_storage_digest
from node.chain.rlp_codec import encode as rlp_encode

EMPTY_CODE_HASH = keccak(b"")


@dataclass(frozen=True, slots=True)
class AccountRecord:
    nonce: int = 0
    balance: int = 0
    code_hash: bytes = EMPTY_CODE_HASH
    storage_digest: int = 0

    def is_empty(self) -> bool:
        """EIP-161 emptiness, plus no storage: such an account is absent from the state."""
        return (self.nonce, self.balance, self.code_hash, self.storage_digest) == (0, 0, EMPTY_CODE_HASH, 0)

    def encode(self) -> bytes:
        return rlp_encode([self.nonce, self.balance, self.code_hash, self.storage_digest])

    @classmethod
    def decode(cls, data: bytes) -> AccountRecord:
        n = rlp.sedes.big_endian_int.deserialize
        nonce, balance, code_hash, digest = rlp.decode(data)
        return cls(n(nonce), n(balance), code_hash, n(digest))


@dataclass(frozen=True, slots=True)
class TouchedAccount:
    """An account as the EVM holds it after a block (before the storage digest is known)."""

    nonce: int
    balance: int
    code_hash: bytes


@dataclass(slots=True)
class StateDiff:
    """What one block changed: full new account records, new slot values (0 = deleted) and new code."""

    accounts: dict[bytes, AccountRecord] = field(default_factory=dict)
    storage: dict[tuple[bytes, int], int] = field(default_factory=dict)
    codes: dict[bytes, bytes] = field(default_factory=dict)

    def encode(self) -> bytes:
        """Sorted, so the same diff encodes to the same bytes on every node."""
        return rlp_encode([
            [[a, self.accounts[a].encode()] for a in sorted(self.accounts)],
            [[a, s, v] for (a, s), v in sorted(self.storage.items())],
            [[h, self.codes[h]] for h in sorted(self.codes)],
        ])

    @classmethod
    def decode(cls, data: bytes) -> StateDiff:
        n = rlp.sedes.big_endian_int.deserialize
        accounts, storage, codes = rlp.decode(data)
        return cls({a: AccountRecord.decode(r) for a, r in accounts},
                   {(a, n(s)): n(v) for a, s, v in storage}, dict((h, c) for h, c in codes))


def build_diff(
    touched_accounts: Mapping[bytes, TouchedAccount],
    touched_slots: Mapping[tuple[bytes, int], int],
    codes: Mapping[bytes, bytes],
    old_account: Callable[[bytes], AccountRecord],
    old_slot: Callable[[bytes, int], int],
) -> StateDiff:
    """Keep only real changes and fold slot changes into each account's storage digest."""
    diff = StateDiff()
    digests: dict[bytes, int] = {}
    for (address, slot), value in sorted(touched_slots.items()):
        old = old_slot(address, slot)
        if old == value:
            continue
        diff.storage[(address, slot)] = value
        digest = digests.get(address)
        if digest is None:
            digest = old_account(address).storage_digest
        digests[address] = update_storage_digest(digest, slot, old, value)
    for address in sorted(set(touched_accounts) | set(digests)):
        old = old_account(address)
        now = touched_accounts.get(address)
        record = AccountRecord(
            nonce=now.nonce if now else old.nonce,
            balance=now.balance if now else old.balance,
            code_hash=now.code_hash if now else old.code_hash,
            storage_digest=digests.get(address, old.storage_digest),
        )
        if record != old:
            diff.accounts[address] = record
            if record.code_hash != old.code_hash and record.code_hash in codes:
                diff.codes[record.code_hash] = codes[record.code_hash]
    return diff
