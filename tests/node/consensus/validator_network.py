"""Validators on an in-memory network, each with its own engine, store and resume file, driven step by step by the
tests: the harness of test_node_consensus.py."""

from __future__ import annotations

import shutil
from collections import deque
from dataclasses import dataclass, replace

from network.abc import Timer, TimerKind
from network.driver import ConsensusDriver, DriverConfig
from network.qbft import QbftConfig
from node.chain.block import Block
from node.consensus.resume_file import ResumeFile
from node.engine.chain_parts import ChainParts, open_chain
from node.store.chain_store import ChainStore
from tests.node.support import (
    GENESIS_MS,
    ManualClock,
    addr,
    make_genesis,
    node_driver,
)

VALIDATOR_KEYS = sorted((bytes([0x40 + i]) * 32 for i in range(4)), key=addr)  # proposer order
CONFIG = QbftConfig(base_timeout_ms=1_000)


class MemoryNetwork:
    """Every message goes into one FIFO of (src, dst, payload); the test delivers them in order."""

    def __init__(self, addresses: list[bytes]) -> None:
        self.queue: deque[tuple[int, int, bytes]] = deque()
        self.index_of = {a: i for i, a in enumerate(addresses)}
        self.size = len(addresses)
        self.disconnects: list[tuple[int, bytes, str]] = []

    def transport(self, index: int) -> MemoryTransport:
        return MemoryTransport(self, index)


@dataclass
class MemoryTransport:
    network: MemoryNetwork
    index: int

    def send(self, peer: bytes, payload: bytes) -> None:
        self.network.queue.append((self.index, self.network.index_of[peer], payload))

    def broadcast(self, payload: bytes) -> None:
        for j in range(self.network.size):
            if j != self.index:
                self.network.queue.append((self.index, j, payload))

    def disconnect(self, peer: bytes, reason: str) -> None:
        self.network.disconnects.append((self.index, peer, reason))

    def set_handler(self, handler) -> None:
        pass


class Timers:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.due: dict[TimerKind, tuple[int, Timer]] = {}

    def set_timer(self, timer: Timer, delay_ms: int) -> None:
        self.due[timer.kind] = (self.clock.now + delay_ms, timer)


class ValidatorNetwork:
    """Validators on one MemoryNetwork, each with its own engine (own LevelDB) and resume file."""

    def __init__(self, tmp_path, keys: list[bytes] = VALIDATOR_KEYS, engines: list[ChainParts] | None = None) -> None:
        self.path = tmp_path
        self.keys = keys
        self.genesis = replace(make_genesis(), validators=tuple(addr(k) for k in keys))
        self.clock = ManualClock(GENESIS_MS)
        self.network = MemoryNetwork([addr(k) for k in keys])
        self.engines = engines or [open_chain(ChainStore(str(tmp_path / f"v{i}")), self.genesis) for i in range(len(keys))]
        self.size = len(keys)
        self.timers = [Timers(self.clock) for _ in keys]
        self.drivers: list[ConsensusDriver] = [self._driver(i) for i in range(self.size)]
        self.down: set[int] = set()
        for i in range(self.size):
            self.start(i)

    def _driver(self, i: int) -> ConsensusDriver:
        return node_driver(self.engines[i], self.keys[i], self.network.transport(i), self.timers[i],
                           ResumeFile(self.path / f"v{i}.resume"), self.clock,
                           config=DriverConfig(qbft=CONFIG, period_ms=100))

    def start(self, i: int) -> None:
        """Start validator i and connect it to every running peer (as the p2p layer would)."""
        self.down.discard(i)
        self.drivers[i].start()
        for j in self.up():
            if j != i:
                self.drivers[j].on_peer_connected(addr(self.keys[i]))
                self.drivers[i].on_peer_connected(addr(self.keys[j]))

    def stop(self, i: int) -> None:
        self.down.add(i)
        self.timers[i].due.clear()
        for j in self.up():
            self.drivers[j].on_peer_disconnected(addr(self.keys[i]))

    def wipe(self, i: int) -> None:
        """Validator i loses its data directory and resume file, and comes back from genesis."""
        self.stop(i)
        self.engines[i].store.close()
        shutil.rmtree(self.path / f"v{i}")
        (self.path / f"v{i}.resume").unlink()
        self.engines[i] = open_chain(ChainStore(str(self.path / f"v{i}")), self.genesis)
        self.drivers[i] = self._driver(i)
        self.timers[i].due.clear()
        self.start(i)

    def up(self) -> list[int]:
        return [i for i in range(self.size) if i not in self.down]

    def submit(self, raw: bytes) -> None:
        for i in self.up():
            self.engines[i].front.submit(raw)  # no tx gossip yet: every validator's pool gets it
            self.drivers[i].on_tx_arrived()

    def step(self) -> None:
        """Deliver one message, or, when none is in flight, advance the clock to the next timer and fire it."""
        if self.network.queue:
            src, dst, payload = self.network.queue.popleft()
            if src in self.up() and dst in self.up():
                self.drivers[dst].on_message(addr(self.keys[src]), payload)
        else:
            self.advance()

    def run_until(self, height: int, max_steps: int = 20_000) -> None:
        """Deliver, and when nothing moves advance the clock to the next timer: deterministic."""
        for _ in range(max_steps):
            if all(self.engines[i].engine.head.number >= height for i in self.up()):
                return
            self.step()
        raise AssertionError(f"no progress to height {height}: heads {[e.head.number for e in self.engines]}")

    def advance(self) -> None:
        wakeups = [when for i in self.up() for when, _ in self.timers[i].due.values()]
        assert wakeups, "nothing left to happen"
        self.clock.now = max(self.clock.now, min(wakeups))
        for i in self.up():
            for kind, (when, timer) in sorted(self.timers[i].due.items()):
                if when <= self.clock.now and self.timers[i].due.get(kind) == (when, timer):
                    del self.timers[i].due[kind]
                    self.drivers[i].on_timer(timer)


def block_at(chain: ChainParts, number: int) -> Block:
    return chain.store.block(chain.store.hash_by_number(number))


def assert_same_chain(network: ValidatorNetwork, nodes: list[int], upto: int) -> None:
    for n in range(1, upto + 1):
        blocks = [block_at(network.engines[i], n) for i in nodes]
        assert len({b.hash for b in blocks}) == 1
        assert len({b.header.state_root for b in blocks}) == 1
        assert all(len(b.seals) >= 3 for b in blocks)
