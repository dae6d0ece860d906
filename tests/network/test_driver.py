"""The driver's round-change observer: told (height, round) when a round timeout moves the core on, and only then."""

from __future__ import annotations

from network.abc import Timer, TimerKind
from network.driver import ConsensusDriver, DriverConfig
from network.qbft.block import RlpBlockCodec
from network.qbft.resume import MemoryResumeStore
from network.sim.fake_chain import FakeChain
from network.sim.world import validator_signer

PERIOD_MS = 1_000


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def now_ms(self) -> int:
        return self.now


class Timers:
    def __init__(self) -> None:
        self.pending: dict[TimerKind, Timer] = {}

    def set_timer(self, timer: Timer, delay_ms: int) -> None:
        self.pending[timer.kind] = timer


class Silent:
    """A transport to no one: the validator is alone."""

    def send(self, peer: bytes, payload: bytes) -> None: ...

    def broadcast(self, payload: bytes) -> None: ...

    def disconnect(self, peer: bytes, reason: str) -> None: ...

    def set_handler(self, handler: object) -> None: ...


def lone_driver() -> tuple[ConsensusDriver, Timers, list[tuple[int, int]]]:
    """A lone validator whose block period has not passed, so its round 0 can only time out."""
    signer, codec, timers = validator_signer(0), RlpBlockCodec(), Timers()
    chain = FakeChain(codec, (signer.address,), (), 0)
    driver = ConsensusDriver(chain, signer, codec, Silent(), timers, MemoryResumeStore(), Clock(),
                             DriverConfig(period_ms=PERIOD_MS))
    changes: list[tuple[int, int]] = []
    driver.round_change_observers.append(lambda height, round_: changes.append((height, round_)))
    driver.start()
    return driver, timers, changes


def test_a_round_timeout_that_moves_the_core_on_is_told_to_the_observers() -> None:
    driver, timers, changes = lone_driver()
    assert driver.core is not None and (driver.core.height, driver.core.round) == (1, 0)
    driver.on_timer(timers.pending[TimerKind.ROUND])
    assert changes == [(1, 1)] and driver.core.round == 1
    driver.on_timer(timers.pending[TimerKind.ROUND])
    assert changes == [(1, 1), (1, 2)]


def test_a_stale_round_timer_or_another_kind_of_timer_is_no_round_change() -> None:
    driver, timers, changes = lone_driver()
    stale = timers.pending[TimerKind.ROUND]
    driver.on_timer(stale)
    driver.on_timer(stale)  # round 0's timer again, the core already at round 1
    driver.on_timer(Timer(TimerKind.SYNC))
    driver.on_timer(timers.pending[TimerKind.BUILD])  # too early to build: nothing moves
    assert changes == [(1, 1)]
