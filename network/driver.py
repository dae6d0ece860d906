"""The one performer of QBFT's actions and block sync's, for the node and the simulator alike.

Synchronous and sans-I/O: inputs are peer events and messages, fired timers and tx arrivals; everything it
does goes through the interfaces of network/abc.py. It answers the core's actions in the order returned:

- Persist: the ResumeState is durable before the next action is even looked at (write-ahead);
- Broadcast: to every peer, on the QBFT lane;
- SetTimer: a ROUND timer (timers are the only clock the core sees);
- BuildBlock: the block is built once the block period has passed since the head was proposed and there is
  something to include (or empty blocks are on, or, with peers, the proposer has waited idle_block_ms);
- ValidateProposal: the chain executes the proposal on the head;
- Commit: the chain stores the block with its seals; only then is the core handed the set in force at the
  next height, read from the chain that now holds the block.

A round timeout that moves the core to a higher round at the same height is a round change: each of
`round_change_observers` is told (height, new round), for the node's metrics and log.

Beside the core runs BlockSync. The core starts only once this node has caught up: its head reaches the
height that a quorum of validators (this one included) reports, so a node that restarts behind, or wiped,
first fetches what was finalized without it.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from network.abc import ChainAPI, ClockAPI, ResumeStoreAPI, Timer, TimerKind, TimersAPI, Transport
from network.errors import ChainHalted, ConsensusFailed, MalformedWireMessage
from network.qbft.actions import Action, Broadcast, BuildBlock, Commit, Persist, SetTimer, ValidateProposal
from network.qbft.block import BlockCodec
from network.qbft.config import QbftConfig
from network.qbft.core import QbftCore
from network.qbft.crypto import Signer
from network.qbft.quorum import quorum_size
from network.sync.machine import BlockSync, BroadcastSync, DropPeer, SendTo, SyncAction, SyncConfig
from network.wire import Lane, unwrap, wrap

log = logging.getLogger("colend.consensus")
DEFAULT_BLOCK_PERIOD_MS = 200
RoundChangeObserver = Callable[[int, int], None]  # (height, round the core moved to)


@dataclass(frozen=True)
class DriverConfig:
    qbft: QbftConfig = field(default_factory=QbftConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    period_ms: int = DEFAULT_BLOCK_PERIOD_MS
    allow_empty: bool = False
    idle_block_ms: int | None = None  # None: half a round timeout when there are peers, never when alone


class ConsensusDriver:
    def __init__(self, chain: ChainAPI, signer: Signer, codec: BlockCodec, transport: Transport,
                 timers: TimersAPI, resume: ResumeStoreAPI, clock: ClockAPI,
                 config: DriverConfig | None = None) -> None:
        self.chain = chain
        self.signer = signer
        self.codec = codec
        self.transport = transport
        self.timers = timers
        self.resume = resume
        self.clock = clock
        self.config = config or DriverConfig()
        self.sync = BlockSync(chain, codec, self.config.sync)
        self.core: QbftCore | None = None
        self.idle_block_ms: int | None = None
        self.commits = 0  # blocks this driver committed through consensus (sync imports aside)
        self.round_change_observers: list[RoundChangeObserver] = []
        self._build_height: int | None = None
        self._build_asked_ms = 0
        self._fresh_build = False
        self._head_seen_ms = 0
        self._restarting = False

    # -- inputs ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Begin syncing; the core starts at head + 1 (resuming its persisted round and lock) once caught up."""
        self.timers.set_timer(Timer(TimerKind.SYNC), self.config.sync.status_interval_ms)
        self.core = None
        self._maybe_start_core()

    def on_peer_connected(self, peer: bytes) -> None:
        self._perform_sync(self.sync.on_peer_connected(peer, self.clock.now_ms()))

    def on_peer_disconnected(self, peer: bytes) -> None:
        self._perform_sync(self.sync.on_peer_disconnected(peer, self.clock.now_ms()))

    def on_message(self, peer: bytes, payload: bytes) -> None:
        try:
            lane, body = unwrap(payload)
        except MalformedWireMessage as exc:
            self.sync.stats[exc.code] += 1
            return
        if lane is Lane.QBFT:
            if self.core is not None:
                self._perform(self.core.on_message(body))
            return
        self._perform_sync(self.sync.on_message(peer, body, self.clock.now_ms()))

    def on_timer(self, timer: Timer) -> None:
        if timer.kind is TimerKind.ROUND:
            core = self.core
            if core is not None:
                height, round_ = core.height, core.round
                self._perform(core.on_timeout(timer.height, timer.round))
                self._after_round_timeout(height, round_)
        elif timer.kind is TimerKind.BUILD:
            self.try_build()
            self._arm_build_timer()
        else:
            self.timers.set_timer(Timer(TimerKind.SYNC), self.config.sync.status_interval_ms)
            self._perform_sync(self.sync.on_tick(self.clock.now_ms()))

    def _after_round_timeout(self, height: int, round_: int) -> None:
        """The core was at (height, round_) when its round timer fired: a higher round at that height is a round change."""
        core = self.core
        if core is not None and core.height == height and core.round > round_:
            for observer in self.round_change_observers:
                observer(core.height, core.round)

    def on_tx_arrived(self) -> None:
        """A tx entered the pool: a proposer waiting for something to include builds now if its period passed;
        one still waiting for its period lets the chain start on the block (ChainAPI.prepare_block)."""
        height = self._build_height
        if height is None or self.core is None:
            return
        due = self._due_ms()
        if self.clock.now_ms() < due:
            self.chain.prepare_block(height, due)
        elif self.build_delay_ms() == 0:
            self.try_build()

    # -- building -------------------------------------------------------------------------------------------

    def build_delay_ms(self) -> int | None:
        """When try_build() is next worth calling: None when nothing is to be built or only a new tx can help."""
        if self._build_height is None:
            return None
        now = self.clock.now_ms()
        due = self._due_ms()
        if now < due:
            return due - now
        if self.config.allow_empty or self.chain.pending_work(self._fresh_build):
            return 0
        if self.idle_block_ms is not None:
            return max(0, self._build_asked_ms + self.idle_block_ms - now)
        return None

    @property
    def wants_txs(self) -> bool:
        """The core asked for a block, its period has passed, and only an arriving tx can fill it."""
        return self._build_height is not None and self.build_delay_ms() is None

    def try_build(self) -> bool:
        """Propose now if the block period has passed and there is something to put in the block."""
        height = self._build_height
        if height is None or self.core is None:
            return False
        if height != self.chain.head().height + 1:
            self._build_height = None  # the head moved on (sync); the core asks again at its new height
            return False
        now = self.clock.now_ms()
        if now < self._due_ms():
            return False
        idle = self.idle_block_ms is not None and now >= self._build_asked_ms + self.idle_block_ms
        self._fresh_build = False  # what cannot go in now waits for a new arrival
        block = self.chain.build_block(height, now, self.config.allow_empty or idle)
        if block is None:
            return False
        self._build_height = None
        self._perform(self.core.on_block_built(block))
        return True

    def _due_ms(self) -> int:
        """When the block period of the next block ends."""
        return self._period_start_ms() + self.config.period_ms

    def _period_start_ms(self) -> int:
        """Blocks are a period apart from the head's proposal time, or from when this node got the head if a
        peer's clock ran ahead of ours: a skewed clock never stalls it."""
        return min(self.chain.head().timestamp_ms, self._head_seen_ms)

    def _arm_build_timer(self) -> None:
        delay = self.build_delay_ms()
        if delay is not None:
            self.timers.set_timer(Timer(TimerKind.BUILD), delay)

    # -- the core -------------------------------------------------------------------------------------------

    def _maybe_start_core(self) -> None:
        """Start the core once this node's head reaches the height a quorum of validators reports."""
        if self.core is not None:
            return
        head = self.chain.head()
        validators = self.chain.validators_at(head.height + 1)
        needed = quorum_size(len(validators)) - (1 if self.signer.address in validators else 0)
        target = self.sync.target_height(needed)
        if target is None or head.height < target:
            return
        self._start_core(head.height + 1, validators)

    def _start_core(self, height: int, validators: tuple[bytes, ...]) -> None:
        resume = self.resume.load()
        if resume is not None and resume.height > height:
            raise ConsensusFailed(f"consensus state is at height {resume.height} but the chain only at {height - 1}")
        if resume is not None and resume.height < height:
            resume = None  # every vote it records is for a height this node already holds final
        self._build_height = None
        self._head_seen_ms = self.clock.now_ms()
        core = self.core = QbftCore(self.config.qbft, self.signer, height, validators, self.codec, resume)
        peers = len(core.validators) > 1 or self.signer.address not in core.validators
        self.idle_block_ms = self.config.idle_block_ms
        if self.idle_block_ms is None and peers:
            # Without empty blocks a proposer with nothing to include would let every round time out; with
            # peers it proposes an empty block well before its round timer fires.
            self.idle_block_ms = self.config.qbft.base_timeout_ms // 2
        log.info("event=consensus_started height=%d round=%d resumed=%s locked=%s validators=%d voting=%s",
                 height, resume.round + 1 if resume else 0, resume is not None,
                 resume is not None and resume.prepared is not None, len(core.validators),
                 self.signer.address in core.validators)
        self._perform(core.start())

    def _perform(self, actions: list[Action]) -> None:
        queue = deque(actions)
        while queue:
            action = queue.popleft()
            try:
                queue.extend(self._do(action))
            except ChainHalted:
                raise
            except Exception as exc:
                if self._restarting:
                    raise ConsensusFailed(f"consensus cannot restart: {exc}") from exc
                core = self.core
                log.exception("event=consensus_action_failed action=%s height=%s round=%s", type(action).__name__,
                              core and core.height, core and core.round)
                self._restart()  # the rest of this list is dropped: redo it from the durable state
                return

    def _do(self, action: Action) -> list[Action]:
        core = self.core
        assert core is not None
        if isinstance(action, Persist):
            if self.signer.address in core.validators:  # a node that never votes has no vote to remember
                self.resume.save(action.state)
        elif isinstance(action, Broadcast):
            self.transport.broadcast(wrap(Lane.QBFT, action.message))
        elif isinstance(action, SetTimer):
            self.timers.set_timer(Timer(TimerKind.ROUND, action.height, action.round), action.delay_ms)
        elif isinstance(action, BuildBlock):
            self._build_height, self._build_asked_ms, self._fresh_build = action.height, self.clock.now_ms(), True
            self._arm_build_timer()
        elif isinstance(action, ValidateProposal):
            if self.signer.address not in core.validators:
                # A node that does not vote has no use for a proposal before the quorum decides: it executes the
                # block once, at commit (an import, seals and state checked), outside the validators' window.
                return core.on_proposal_validated(action.block_hash, True)
            ok = self.chain.validate_proposal(action.block, action.block_hash)
            return core.on_proposal_validated(action.block_hash, ok)
        elif isinstance(action, Commit):
            self.chain.commit(action.block, action.block_hash, action.seals)
            self.commits += 1
            return self._new_head()
        return []

    def _new_head(self) -> list[Action]:
        """The chain's head moved (a commit or a sync import): the core moves to the next height with the set
        the chain says is in force there."""
        self._build_height = None
        self._head_seen_ms = self.clock.now_ms()
        core = self.core
        if core is None:
            return []
        head = self.chain.head().height
        if head < core.height:
            return []
        validators = self.chain.validators_at(head + 1)
        if set(validators) != set(core.validators):
            log.info("event=validator_set_changed height=%d validators=%d was=%d", head + 1, len(validators),
                     len(core.validators))
        return core.on_new_head(head, validators)

    def _restart(self) -> None:
        self._restarting = True
        try:
            self.core = None
            self._maybe_start_core()
            if self.core is None:  # peers vouch for nothing yet: restart where the chain is
                head = self.chain.head().height
                self._start_core(head + 1, self.chain.validators_at(head + 1))
        finally:
            self._restarting = False

    # -- sync -----------------------------------------------------------------------------------------------

    def _perform_sync(self, actions: list[SyncAction]) -> None:
        for action in actions:
            if isinstance(action, SendTo):
                self.transport.send(action.peer, wrap(Lane.SYNC, action.message))
            elif isinstance(action, BroadcastSync):
                self.transport.broadcast(wrap(Lane.SYNC, action.message))
            else:
                assert isinstance(action, DropPeer)
                self.transport.disconnect(action.peer, action.reason)
        if self.core is None:
            self._maybe_start_core()
        elif self.chain.head().height >= self.core.height and not self.core.decided:
            self._perform(self._new_head())  # sync imported blocks: the core moves past them
