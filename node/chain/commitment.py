"""The state commitment: one 32-byte digest of the full post-state, the same on every honest node.

Scheme (v1), chosen so a block costs work proportional to what it touched, not to the state's size:

* H(x)           = BLAKE2b-256(x, person="colend-state-v1") -- stdlib C, several times cheaper per call
                   than keccak through pycryptodome, and a block hashes one leaf per written slot
* slot leaf      = H(slot:32 || value:32) as a big-endian integer, for every non-zero slot
* storage digest = (sum of the account's slot leaves) mod 2**256 -- a multiset hash: a slot write
  subtracts the old leaf and adds the new one, so it is maintained incrementally from the block diff
* account leaf   = H(address:20 || nonce:32 || balance:32 || code_hash:32 || storage_digest:32)
  for every non-empty account (EIP-161 empty and no storage = absent)
* commitment     = H("root" || account leaves ordered by address)

The additive storage digest detects any divergence between honest nodes (a nondeterminism bug, a corrupt
store); it is not meant as a proof system for light clients, which this chain does not have. The account
list is short (member accounts plus contracts), so ordering and hashing it per block is cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from hashlib import blake2b
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from node.chain.state import AccountRecord

COMMITMENT_PERSON = b"colend-state-v1"
MOD = 2**256


_HASHER = blake2b(digest_size=32, person=COMMITMENT_PERSON)  # copied per use: cheaper than re-parameterising


def _h(data: bytes) -> bytes:
    h = _HASHER.copy()
    h.update(data)
    return h.digest()


def slot_leaf(slot: int, value: int) -> int:
    h = _HASHER.copy()
    h.update(slot.to_bytes(32, "big") + value.to_bytes(32, "big"))
    return int.from_bytes(h.digest(), "big")


def update_storage_digest(digest: int, slot: int, old: int, new: int) -> int:
    if old:
        digest -= slot_leaf(slot, old)
    if new:
        digest += slot_leaf(slot, new)
    return digest % MOD


def storage_digest(slots: Iterable[tuple[int, int]]) -> int:
    """From scratch, for checks and genesis: the same value update_storage_digest maintains."""
    return sum(slot_leaf(s, v) for s, v in slots if v) % MOD


def account_leaf(address: bytes, record: AccountRecord) -> bytes:
    return _h(address + record.nonce.to_bytes(32, "big") + record.balance.to_bytes(32, "big")
              + record.code_hash + record.storage_digest.to_bytes(32, "big"))


class StateCommitment:
    """Caches account leaves; apply a block's new account records, then read the root."""

    def __init__(self, accounts: Iterable[tuple[bytes, AccountRecord]] = ()) -> None:
        self._leaves: dict[bytes, bytes] = {}
        self.apply(accounts)

    def apply(self, accounts: Iterable[tuple[bytes, AccountRecord]]) -> None:
        for address, record in accounts:
            if record.is_empty():
                self._leaves.pop(address, None)
            else:
                self._leaves[address] = account_leaf(address, record)

    def root(self) -> bytes:
        return _root(self._leaves)

    def root_with(self, accounts: Iterable[tuple[bytes, AccountRecord]]) -> bytes:
        """The root after applying `accounts`, leaving this commitment unchanged (for a block not yet final)."""
        leaves = dict(self._leaves)
        for address, record in accounts:
            if record.is_empty():
                leaves.pop(address, None)
            else:
                leaves[address] = account_leaf(address, record)
        return _root(leaves)


def _root(leaves: dict[bytes, bytes]) -> bytes:
    return _h(b"root" + b"".join(leaves[a] for a in sorted(leaves)))
