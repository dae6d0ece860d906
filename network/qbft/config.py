"""Tunables of the consensus core, with the bounds that keep a hostile peer from growing its memory."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QbftConfig:
    base_timeout_ms: int = 1000
    max_backoff_exponent: int = 10  # round timers stop doubling after 2^10 * base
    max_round_lookahead: int = 64  # messages further ahead than this many rounds are dropped
    future_height_window: int = 4  # heights ahead of ours whose messages are buffered
    max_buffered_per_sender: int = 256  # future-height messages kept per validator

    def __post_init__(self) -> None:
        assert self.base_timeout_ms > 0 and self.max_backoff_exponent >= 0
        assert self.max_round_lookahead >= 1 and self.future_height_window >= 1
        assert self.max_buffered_per_sender >= 1
