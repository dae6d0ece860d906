"""The virtual network: per-message delay, loss, duplication, reordering spikes and partitions."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from network.sim.events import EventQueue


@dataclass(frozen=True)
class LinkConditions:
    min_delay_ms: int
    max_delay_ms: int
    drop_probability: float
    duplicate_probability: float
    spike_probability: float  # a message held back this long is overtaken: reordering
    spike_delay_ms: int

    def __post_init__(self) -> None:
        assert 0 <= self.min_delay_ms <= self.max_delay_ms
        for p in (self.drop_probability, self.duplicate_probability, self.spike_probability):
            assert 0.0 <= p <= 1.0


Deliver = Callable[[int, int, object], None]  # (src, dst, payload)


class VirtualNetwork:
    """Carries payloads between node indices; all its choices come from the simulation's seeded rng."""

    def __init__(self, events: EventQueue, rng: random.Random, conditions: LinkConditions, deliver: Deliver):
        self._events = events
        self._rng = rng
        self.conditions = conditions
        self._deliver = deliver
        self._group_of: dict[int, int] | None = None
        self._cut: dict[tuple[int, int], int] = {}  # (src, dst) -> outages in force
        self.sent = 0
        self.dropped = 0

    def partition(self, groups: list[list[int]]) -> None:
        self._group_of = {node: g for g, members in enumerate(groups) for node in members}

    def unpartition(self) -> None:
        self._group_of = None

    def cut_link(self, src: int, dst: int) -> None:
        self._cut[(src, dst)] = self._cut.get((src, dst), 0) + 1

    def restore_link(self, src: int, dst: int) -> None:
        assert self._cut.get((src, dst), 0) > 0
        self._cut[(src, dst)] -= 1

    def connected(self, src: int, dst: int) -> bool:
        if self._cut.get((src, dst), 0) > 0:
            return False
        return self._group_of is None or self._group_of.get(src) == self._group_of.get(dst)

    def send(self, src: int, dst: int, payload: object) -> None:
        assert src != dst
        self.sent += 1
        c, rng = self.conditions, self._rng
        if not self.connected(src, dst) or rng.random() < c.drop_probability:
            self.dropped += 1
            return
        copies = 2 if rng.random() < c.duplicate_probability else 1
        for _ in range(copies):
            delay = rng.randint(c.min_delay_ms, c.max_delay_ms)
            if rng.random() < c.spike_probability:
                delay += rng.randint(0, c.spike_delay_ms)
            self._events.schedule(delay, self._deliver, src, dst, payload)
