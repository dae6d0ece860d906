"""One seeded run: every node runs the real ConsensusDriver (QBFT core + block sync) against a fake chain,
a virtual network and virtual time; the world checks safety, agreement and liveness as it goes.

Safety: every block an honest node stores carries a quorum of valid seals of the set in force at its
height, and no two honest nodes store different blocks, or compute different states, at one height.
Liveness: once the network is healed and at most f validators are faulty, every running honest node
(wiped ones included, which only sync can bring back) reaches the target height before the deadline, and
past the block that applied the last voted validator-set change.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from network.abc import Timer, TimerKind
from network.driver import ConsensusDriver, DriverConfig
from network.hashing import keccak256
from network.qbft.block import RlpBlockCodec
from network.qbft.config import QbftConfig
from network.qbft.crypto import PrivateKeySigner
from network.qbft.resume import MemoryResumeStore
from network.qbft.seals import verify_commit_seals
from network.sim.byzantine import outgoing, tamper_sync
from network.sim.events import EventQueue
from network.sim.fake_chain import Entry, FakeChain, Op, SetChange, decode_payload
from network.sim.network import VirtualNetwork
from network.sim.scenario import SYNC_ROLES, Crash, Governance, Partition, Role, Scenario
from network.sync.machine import SyncConfig
from network.wire import Lane, unwrap, wrap

BASE_TIMEOUT_MS = 1_000
LIVENESS_BUDGET_MS = 180_000  # after heal; rounds 0..6 of backoff fit in it several times over
MAX_EVENTS = 2_000_000  # a run that needs more is reported as a liveness failure
START_JITTER_MS = 50
REQUEST_TIMEOUT_MS = 2_000
BAN_MS = 10_000


def validator_signer(index: int) -> PrivateKeySigner:
    return PrivateKeySigner(keccak256(b"colend-sim-validator" + index.to_bytes(4, "big")))


@dataclass
class SeedResult:
    seed: int
    n: int
    kind: str
    faulty: int
    faults: list[str] = field(default_factory=list)  # one entry per injected fault, by kind
    safety_violations: list[dict[str, object]] = field(default_factory=list)
    liveness_failure: bool = False
    max_height: int = 0
    max_round: int = 0
    messages: int = 0
    sync_messages: int = 0
    sync_imported: int = 0
    sync_penalties: int = 0
    wiped_recoveries: int = 0  # nodes restarted with no data that reached the target (through sync)
    set_changes: int = 0  # validator-set changes applied on the final chain
    virtual_ms: int = 0
    first_final_ms: dict[int, int] = field(default_factory=dict)  # height -> when it first became final


@dataclass
class SimNode:
    index: int
    signer: PrivateKeySigner
    role: Role
    chain: FakeChain
    resume: MemoryResumeStore = field(default_factory=MemoryResumeStore)
    driver: ConsensusDriver | None = None
    up: bool = False
    incarnation: int = 0
    wiped: bool = False
    timer_generation: dict[TimerKind, int] = field(default_factory=dict)

    @property
    def height(self) -> int:
        return len(self.chain.entries) - 1


class NodeClock:
    def __init__(self, events: EventQueue) -> None:
        self._events = events

    def now_ms(self) -> int:
        return self._events.now_ms


class NodeTimers:
    """TimersAPI on virtual time: a timer replaces its kind's earlier one; a crash makes all of them stale."""

    def __init__(self, world: SimWorld, node: SimNode) -> None:
        self._world, self._node = world, node

    def set_timer(self, timer: Timer, delay_ms: int) -> None:
        node = self._node
        generation = node.timer_generation.get(timer.kind, 0) + 1
        node.timer_generation[timer.kind] = generation
        if timer.kind is TimerKind.ROUND:
            self._world.result.max_round = max(self._world.result.max_round, timer.round)
        self._world.events.schedule(delay_ms, self._world.fire_timer, node, node.incarnation, generation, timer)


class NodeTransport:
    """Transport over the virtual network; a Byzantine node's messages are rewritten on the way out."""

    def __init__(self, world: SimWorld, node: SimNode) -> None:
        self._world, self._node = world, node
        self.disconnects = 0

    def send(self, peer: bytes, payload: bytes) -> None:
        self._world.send(self._node, self._world.index_of[peer], payload)

    def broadcast(self, payload: bytes) -> None:
        world, node = self._world, self._node
        peers = [i for i in range(world.scenario.size) if i != node.index]
        lane, body = unwrap(payload)
        if lane is Lane.QBFT and node.role is not Role.HONEST:
            for peer, data in outgoing(node.role, body, peers, node.signer, world.codec, world.rng):
                world.network.send(node.index, peer, wrap(Lane.QBFT, data))
            return
        for peer in peers:
            world.send(node, peer, payload)

    def disconnect(self, peer: bytes, reason: str) -> None:
        self.disconnects += 1

    def set_handler(self, handler: object) -> None:
        pass  # the world hands every delivery to the node's current driver


class SimWorld:
    def __init__(self, scenario: Scenario, rng: random.Random, heights: int) -> None:
        assert heights >= 1
        self.scenario = scenario
        self.rng = rng
        self.heights = heights
        self.config = DriverConfig(
            qbft=QbftConfig(base_timeout_ms=BASE_TIMEOUT_MS),
            sync=SyncConfig(status_interval_ms=scenario.sync_interval_ms, request_timeout_ms=REQUEST_TIMEOUT_MS,
                            ban_ms=BAN_MS),
            period_ms=scenario.block_period_ms, allow_empty=True)
        self.codec = RlpBlockCodec()
        self.events = EventQueue()
        self.network = VirtualNetwork(self.events, rng, scenario.chaos, self._deliver)
        signers = [validator_signer(i) for i in range(scenario.size)]
        self.index_of = {s.address: i for i, s in enumerate(signers)}
        self.genesis_validators = tuple(sorted(s.address for s in signers[: scenario.n]))
        self.approved = tuple(self._change(g, signers) for g in scenario.governance)
        self.nodes = [SimNode(i, signers[i], scenario.roles[i], self._new_chain(i)) for i in range(scenario.size)]
        self.result = SeedResult(scenario.seed, scenario.n, str(scenario.kind), len(scenario.faulty()),
                                 self._faults())
        self.final: dict[int, tuple[bytes, bytes]] = {}  # height -> (hash, state) first stored by an honest node
        self.changes_final = 0  # voted set changes carried by final blocks
        self.change_height = 0  # the height of the last of them
        self.target: int | None = None
        self.done = False
        self._active_partition: Partition | None = None
        gone = {c.node for c in scenario.crashes if c.restart_ms is None}
        self.must_progress = [n.index for n in self.nodes if n.role is Role.HONEST and n.index not in gone]

    def _faults(self) -> list[str]:
        s = self.scenario
        faults = [str(r) for r in s.roles if r is not Role.HONEST]
        faults += ["crash_wiped" if not c.keep_data and c.restart_ms is not None
                   else "crash_forever" if c.restart_ms is None else "crash_kept_data" for c in s.crashes]
        faults += ["validator_added" if g.add else "validator_removed" for g in s.governance]
        return sorted(faults)

    @staticmethod
    def _change(g: Governance, signers: list[PrivateKeySigner]) -> SetChange:
        return SetChange(Op.ADD if g.add else Op.REMOVE, signers[g.node].address)

    def _new_chain(self, index: int) -> FakeChain:
        role = self.scenario.roles[index]
        return FakeChain(self.codec, self.genesis_validators, self.approved, index,
                         invalid_proposals=role is Role.INVALID_BLOCK,
                         on_commit=lambda height, entry: self._stored(self.nodes[index], height, entry))

    # -- running -------------------------------------------------------------------------------------

    def run(self) -> SeedResult:
        s = self.scenario
        for node in self.nodes:
            self.events.schedule(self.rng.randint(0, START_JITTER_MS), self._start_node, node)
        for crash in s.crashes:
            self.events.schedule(crash.at_ms, self._crash, crash)
        for partition in s.partitions:
            self.events.schedule(partition.start_ms, self._partition, partition)
            self.events.schedule(partition.end_ms, self._unpartition, partition)
        for outage in s.outages:
            self.events.schedule(outage.start_ms, self.network.cut_link, outage.src, outage.dst)
            self.events.schedule(outage.end_ms, self.network.restore_link, outage.src, outage.dst)
        for change in self.approved:
            at = s.governance[self.approved.index(change)].at_ms
            self.events.schedule(at, self._submit, change)
        self.events.schedule(s.heal_ms, self._heal)
        deadline = s.heal_ms + LIVENESS_BUDGET_MS
        count = 0
        while not self.done and count < MAX_EVENTS:
            when = self.events.next_time()
            if when is None or when > deadline:
                break
            self.events.run_next()
            count += 1
        self._finish()
        return self.result

    def _finish(self) -> None:
        r = self.result
        r.liveness_failure = not self.done
        r.virtual_ms = self.events.now_ms
        honest = [self.nodes[i] for i in self.must_progress]
        if self.done and self.target is not None:
            at_target = {(n.chain.entries[self.target].block_hash, n.chain.entries[self.target].state) for n in honest}
            if len(at_target) > 1:
                self._violation("heads_differ", honest[0], self.target)
            r.wiped_recoveries = sum(1 for n in honest if n.wiped)
        reference = max(honest, key=lambda n: n.height, default=None)
        if reference is not None:
            for entry in reference.chain.entries[1:]:
                decoded = decode_payload(entry.sealed.block.payload)
                r.set_changes += len(decoded.changes) if decoded else 0
        for node in self.nodes:
            if node.driver is not None:
                r.sync_imported += node.driver.sync.stats["imported"]
                r.sync_penalties += node.driver.sync.stats["penalties"]

    def _start_node(self, node: SimNode) -> None:
        node.up = True
        if node.role is Role.SILENT:
            return
        node.driver = ConsensusDriver(node.chain, node.signer, self.codec, NodeTransport(self, node),
                                      NodeTimers(self, node), node.resume, NodeClock(self.events), self.config)
        node.driver.start()
        for other in self.nodes:
            if other is not node and other.up and other.driver is not None:
                other.driver.on_peer_connected(node.signer.address)
                node.driver.on_peer_connected(other.signer.address)

    def _crash(self, crash: Crash) -> None:
        node = self.nodes[crash.node]
        node.up, node.driver = False, None
        node.incarnation += 1
        if not crash.keep_data:
            node.chain, node.resume, node.wiped = self._new_chain(node.index), MemoryResumeStore(), True
        for other in self.nodes:
            if other.up and other.driver is not None:
                other.driver.on_peer_disconnected(node.signer.address)
        if crash.restart_ms is not None:
            self.events.schedule(crash.restart_ms - crash.at_ms, self._start_node, node)

    def _submit(self, change: SetChange) -> None:
        for node in self.nodes:
            node.chain.submit(change)  # a voted change reaches every pool (a durable one, across restarts)

    def _partition(self, partition: Partition) -> None:
        self._active_partition = partition
        self.network.partition(partition.groups)

    def _unpartition(self, partition: Partition) -> None:
        if self._active_partition is partition:
            self._active_partition = None
            self.network.unpartition()

    def _heal(self) -> None:
        self._active_partition = None
        self.network.unpartition()
        self.network.conditions = self.scenario.healed
        self.target = max(self.heights, self.result.max_height + 1)
        self._check_done()

    def _check_done(self) -> None:
        """Done once every node that must progress reaches the target and, when set changes were voted, a
        block past the last of them: every change has been applied and sealed under on every honest node."""
        if self.target is None or self.changes_final < len(self.approved):
            return
        target = max(self.target, self.change_height + 1)
        self.done = all(self.nodes[i].height >= target for i in self.must_progress)

    # -- what the drivers do, seen from outside ----------------------------------------------------------

    def fire_timer(self, node: SimNode, incarnation: int, generation: int, timer: Timer) -> None:
        if node.up and node.incarnation == incarnation and node.driver is not None \
                and node.timer_generation.get(timer.kind) == generation:
            node.driver.on_timer(timer)

    def send(self, node: SimNode, peer: int, payload: bytes) -> None:
        if node.role in SYNC_ROLES and payload[0] == Lane.SYNC:
            payload = wrap(Lane.SYNC, tamper_sync(node.role, payload[1:], self.codec, self.rng))
        self.network.send(node.index, peer, payload)

    def _deliver(self, src: int, dst: int, payload: object) -> None:
        node = self.nodes[dst]
        if not node.up or node.driver is None:
            return
        assert isinstance(payload, bytes)
        if payload[:1] == bytes([Lane.SYNC]):
            self.result.sync_messages += 1
        else:
            self.result.messages += 1
        node.driver.on_message(self.nodes[src].signer.address, payload)

    def _stored(self, node: SimNode, height: int, entry: Entry) -> None:
        """A node's chain took block `height` (by consensus or sync): check it against every other node's."""
        if node.role is Role.HONEST:
            validators = node.chain.validators_at(height)
            if not verify_commit_seals(entry.block_hash, entry.sealed.seals, validators):
                self._violation("bad_commit_seals", node, height)
            if height not in self.final:
                decoded = decode_payload(entry.sealed.block.payload)
                if decoded is not None and decoded.changes:
                    self.changes_final += len(decoded.changes)
                    self.change_height = height
            first = self.final.setdefault(height, (entry.block_hash, entry.state))
            if first[0] != entry.block_hash:
                self._violation("conflicting_final_blocks", node, height)
            elif first[1] != entry.state:
                self._violation("state_divergence", node, height)
            self.result.first_final_ms.setdefault(height, self.events.now_ms)
            self.result.max_height = max(self.result.max_height, height)
        self._check_done()

    def _violation(self, what: str, node: SimNode, height: int) -> None:
        self.result.safety_violations.append(
            {"what": what, "node": node.index, "height": height, "at_ms": self.events.now_ms}
        )


def run_seed(seed: int, sizes: list[int], heights: int) -> SeedResult:
    """Replayable: the same (seed, sizes, heights) always yields the same result."""
    from network.sim.scenario import draw_scenario

    rng = random.Random(seed)
    scenario = draw_scenario(rng, seed, sizes)
    return SimWorld(scenario, rng, heights).run()
