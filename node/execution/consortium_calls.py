"""Every call the node makes to the Consortium contract (contracts/src/Consortium.sol), encoded and decoded here.

The selectors are derived once from the functions' signatures, not from the compiled ABI: loading an artifact
checks the build against the sources with the Solidity toolchain, which a node host need not have.
tests/node/execution/test_consortium_calls.py holds them to the compiled ABI.
"""

from __future__ import annotations

from typing import Any

from contracts.enums import MEMBER_ROLE
from network.hashing import keccak256 as keccak

WORD = 32


def selector(signature: str) -> bytes:
    """The 4-byte function selector of a Solidity signature such as `canWrite(address)`."""
    return keccak(signature.encode())[:4]


CAN_WRITE_SELECTOR = selector("canWrite(address)")
VALIDATORS_SELECTOR = selector("validators()")
MEMBER_IDS_SELECTOR = selector("memberIds()")
MEMBER_SELECTOR = selector("member(bytes32)")


def encode_can_write(account: bytes) -> bytes:
    return CAN_WRITE_SELECTOR + account.rjust(WORD, b"\x00")


def decode_bool(output: bytes) -> bool:
    return len(output) >= WORD and int.from_bytes(output[:WORD], "big") != 0


def encode_validators() -> bytes:
    return VALIDATORS_SELECTOR


def decode_validators(output: bytes) -> tuple[bytes, ...]:
    """validators() returns address[]: the 20-byte addresses, in the contract's order."""
    (addresses,) = _decode(["address[]"], output)
    return tuple(bytes.fromhex(a[2:]) for a in addresses)


def encode_member_ids() -> bytes:
    return MEMBER_IDS_SELECTOR


def decode_member_ids(output: bytes) -> tuple[bytes, ...]:
    """memberIds() returns bytes32[]: every member's 32-byte id."""
    (ids,) = _decode(["bytes32[]"], output)
    return tuple(ids)


def encode_member(member_id: bytes) -> bytes:
    assert len(member_id) == WORD
    return MEMBER_SELECTOR + member_id


def decode_member(output: bytes) -> tuple[str, str, bool]:
    """member(bytes32) returns (name, role, active); the role by its name in Consortium.sol (NONE if unknown)."""
    name, role, active = _decode(["string", "uint8", "bool"], output)
    return name, MEMBER_ROLE.get(role, "NONE"), bool(active)


def _decode(types: list[str], output: bytes) -> tuple[Any, ...]:
    # Deferred: eth_abi costs the execution process 23 ms at start, and it only ever encodes canWrite.
    from eth_abi import decode

    return decode(types, output)
