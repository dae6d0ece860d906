"""Which validators seal a block: Consortium.validators() in the head state, cached per head."""

from __future__ import annotations

from collections.abc import Callable

from node.chain.header import ZERO_ADDRESS
from node.errors import StoreCorrupted
from node.execution.consortium_calls import decode_validators, encode_validators
from node.execution.evm import CallResult

Call = Callable[[bytes, bytes, bytes], CallResult]  # (sender, to, data)


def read_validators(call: Call, consortium: bytes | None, fallback: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """The on-chain set; a chain deployed without the suite (tests) uses the genesis list."""
    if consortium is None:
        return fallback
    result = call(ZERO_ADDRESS, consortium, encode_validators())
    if not result.success:
        raise StoreCorrupted("Consortium.validators() failed on the head state")
    validators = decode_validators(result.output)
    if not validators:
        raise StoreCorrupted("Consortium lists no validators")
    return validators


class ValidatorCache:
    """One read per head: consensus asks for the set many times per height."""

    def __init__(self) -> None:
        self._cached: tuple[bytes, tuple[bytes, ...]] | None = None  # (head hash, its validators)

    def get(self, head_hash: bytes, read: Callable[[], tuple[bytes, ...]]) -> tuple[bytes, ...]:
        cached = self._cached
        if cached is None or cached[0] != head_hash:
            cached = self._cached = (head_hash, read())
        return cached[1]
