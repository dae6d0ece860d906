"""Account records and per-block state diffs: what the store persists and the commitment digests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import rlp

from network.hashing import keccak256 as keccak
from node.chain.commitment import MOD as STORAGE_DIGEST_MOD
from node.chain.commitment import slot_leaf
from node.rlp_codec import decode as rlp_decode
from node.rlp_codec import encode as rlp_encode
from node.rlp_codec import encode_list_of_encoded, list_header

EMPTY_CODE_HASH = keccak(b"")
ADDRESS_BYTES = 20
_STR_PREFIX = [bytes([0x80 + n]) for n in range(56)]


def _rlp_str(data: bytes) -> bytes:
    """RLP of a byte string shorter than 56 bytes (slots and values are at most 32)."""
    if len(data) == 1 and data[0] < 0x80:
        return data
    return _STR_PREFIX[len(data)] + data


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
        nonce, balance, code_hash, digest = rlp_decode(data)
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
        """Sorted, so the same diff encodes to the same bytes on every node. The same bytes as
        rlp_encode([[[a, record]...], [[a, s, v]...], [[h, code]...]]), the slots framed by hand: a block may
        write tens of thousands."""
        if all(len(a) == ADDRESS_BYTES for a, _ in self.storage):
            # Fixed-width addresses: the byte order of address || slot32 is (address, slot) order.
            items = []
            for key, value in sorted((a + s.to_bytes(32, "big"), v) for (a, s), v in self.storage.items()):
                body = b"".join((b"\x94", key[:20], _rlp_str(key[20:].lstrip(b"\x00")),
                                 _rlp_str(value.to_bytes((value.bit_length() + 7) // 8, "big"))))
                items.append(list_header(len(body)) + body)
            storage = encode_list_of_encoded(items)
        else:
            storage = rlp_encode([[a, s, v] for (a, s), v in sorted(self.storage.items())])
        return encode_list_of_encoded([
            rlp_encode([[a, self.accounts[a].encode()] for a in sorted(self.accounts)]),
            storage,
            rlp_encode([[h, self.codes[h]] for h in sorted(self.codes)]),
        ])

    @classmethod
    def decode(cls, data: bytes) -> StateDiff:
        n = rlp.sedes.big_endian_int.deserialize
        accounts, storage, codes = rlp_decode(data)
        return cls({a: AccountRecord.decode(r) for a, r in accounts},
                   {(a, n(s)): n(v) for a, s, v in storage}, dict((h, c) for h, c in codes))


def diff_from_changes(
    touched_accounts: Mapping[bytes, TouchedAccount],
    slot_changes: Mapping[tuple[bytes, int], tuple[int, int]],
    codes: Mapping[bytes, bytes],
    old_account: Callable[[bytes], AccountRecord],
) -> StateDiff:
    """Keep only real changes and fold slot changes, given as (old, new) values, into each account's storage
    digest. Slot order does not matter: the digest is a sum, and the encoding sorts."""
    diff = StateDiff()
    storage = diff.storage
    deltas: dict[bytes, int] = {}
    leaf = slot_leaf
    for key, (old, new) in slot_changes.items():
        if old == new:
            continue
        storage[key] = new
        address, slot = key
        delta = leaf(slot, new) if new else 0
        if old:
            delta -= leaf(slot, old)
        deltas[address] = deltas.get(address, 0) + delta
    digests = {a: (old_account(a).storage_digest + d) % STORAGE_DIGEST_MOD for a, d in deltas.items()}
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
