"""Quorum arithmetic and proposer choice, as in the QBFT specification (Moniz 2020, EEA QBFT)."""

from __future__ import annotations

from collections.abc import Sequence


def max_faulty(n: int) -> int:
    """f(n): the most Byzantine validators n can tolerate."""
    assert n >= 1, "a validator set is never empty"
    return (n - 1) // 3


def quorum_size(n: int) -> int:
    """quorum(n) = floor((2n-1)/3) + 1: any two quorums intersect in at least f+1 validators."""
    assert n >= 1, "a validator set is never empty"
    return (2 * n - 1) // 3 + 1


def weak_quorum_size(n: int) -> int:
    """f+1: enough messages that at least one comes from an honest validator."""
    return max_faulty(n) + 1


def proposer_for(validators: Sequence[bytes], height: int, round_: int) -> bytes:
    """Round-robin by height and round, so a silent proposer costs one round, not the whole height."""
    assert validators, "a validator set is never empty"
    assert height >= 0 and round_ >= 0
    return validators[(height + round_) % len(validators)]


def round_timeout_ms(base_ms: int, round_: int, max_exponent: int) -> int:
    """base * 2^round, capped at 2^max_exponent so the timer stays finite on long outages."""
    assert base_ms > 0 and round_ >= 0 and max_exponent >= 0
    return base_ms * (1 << min(round_, max_exponent))
