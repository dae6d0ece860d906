"""Runs the QBFT core (network.qbft) for this node: feeds it one input at a time and performs its actions.

Synchronous and single-threaded on purpose, like the core it drives: the node's runner
(node/consensus_runner.py) calls it from one consensus thread, and tests call it directly with a fake clock,
timers and an in-memory transport. It answers the core's actions in the order returned:

- Persist: the ResumeState is durable (fsynced) before the next action is even looked at;
- Broadcast: the transport carries it to the peers (none for a lone validator);
- SetTimer: the Timers fire on_timeout later (timers are the only clock the core sees);
- BuildBlock: remembered; try_build() proposes once the block period has passed since the head was
  proposed and there is something to include (or empty blocks are on, or, with peers, the proposer has
  been idle for half a round timeout);
- ValidateProposal: the proposal is decoded, checked to extend the head and executed (state commitment);
- Commit: the executed block is committed with the quorum's seals in its header.

The wall clock is read only for the proposer's block timestamp and for when to build.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

from network.qbft import (
    Action,
    Broadcast,
    BuildBlock,
    Commit,
    Persist,
    QbftConfig,
    QbftCore,
    SetTimer,
    Signer,
    ValidateProposal,
)
from network.qbft import Block as ConsensusBlock
from network.qbft.errors import MalformedMessage
from network.transport import Transport
from node.abc import ResumeStoreAPI, TimersAPI
from node.chain.block import Block
from node.consensus_block import NodeBlockCodec, from_consensus, to_consensus
from node.engine import ChainEngine, PendingBlock
from node.errors import NodeError, NodeHalted, StateCommitmentMismatch, StoreCorrupted

log = logging.getLogger("colend.consensus")
DEFAULT_BLOCK_PERIOD_MS = 200
DEFAULT_MAX_TXS_PER_BLOCK = 5_000


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class ConsensusFailed(NodeError):
    """Consensus could not go on even after restarting from its durable state; the node stops."""

    code = "consensus_failed"
    rpc_code = -32603


class ConsensusDriver:
    def __init__(self, engine: ChainEngine, signer: Signer, transport: Transport, timers: TimersAPI,
                 resume: ResumeStoreAPI, *, config: QbftConfig | None = None,
                 period_ms: int = DEFAULT_BLOCK_PERIOD_MS, allow_empty: bool = False,
                 max_txs: int = DEFAULT_MAX_TXS_PER_BLOCK, idle_block_ms: int | None = None,
                 clock_ms: Callable[[], int] = wall_clock_ms) -> None:
        self.engine = engine
        self.signer = signer
        self.transport = transport
        self.timers = timers
        self.resume = resume
        self.config = config or QbftConfig()
        self.period_ms = period_ms
        self.allow_empty = allow_empty
        self.max_txs = max_txs
        self._idle_block_ms = idle_block_ms
        self.idle_block_ms: int | None = None
        self.clock_ms = clock_ms
        self.codec = NodeBlockCodec()
        self.core: QbftCore | None = None
        self.last_block: Block | None = None  # the last block this driver committed
        self._executed: dict[bytes, PendingBlock] = {}  # consensus hash -> executed block of this height
        self._build_height: int | None = None
        self._build_asked_ms = 0
        self._fresh_build = False
        self._head_seen_ms = 0  # local clock when this node got its head (see _period_start_ms)
        self._restarting = False

    # -- inputs ---------------------------------------------------------------------------------------

    def start(self) -> None:
        """(Re)start the core at head + 1, resuming the persisted round and lock if they belong to it."""
        height = self.engine.head.number + 1
        resume = self.resume.load()
        if resume is not None and resume.height > height:
            raise StoreCorrupted(f"consensus state is at height {resume.height} but the chain only at {height - 1}")
        if resume is not None and resume.height < height:
            resume = None  # every vote it records is for a height this node already holds final
        self._executed.clear()
        self._build_height = None
        self._head_seen_ms = self.clock_ms()
        self.core = QbftCore(self.config, self.signer, height, self.engine.validators_for, self.codec, resume)
        # Without empty blocks a proposer with nothing to include would let every round time out; with peers
        # it proposes an empty block well before its round timer fires, so idle rounds never escalate.
        peers = len(self.core.validators) > 1
        self.idle_block_ms = self._idle_block_ms if self._idle_block_ms is not None or not peers \
            else self.config.base_timeout_ms // 2
        actions = self.core.start()
        log.info("event=consensus_started height=%d round=%d resumed=%s locked=%s validators=%d voting=%s", height,
                 self.core.round, resume is not None, resume is not None and resume.prepared is not None,
                 len(self.core.validators), self.signer.address in self.core.validators)
        self._perform(actions)

    def on_message(self, raw: bytes) -> None:
        self._perform(self._core().on_message(raw))

    def on_timeout(self, height: int, round_: int) -> None:
        self._perform(self._core().on_timeout(height, round_))

    def build_delay_ms(self) -> int | None:
        """When try_build() is next worth calling: None when nothing is to be built or only a new tx can help."""
        if self._build_height is None:
            return None
        now = self.clock_ms()
        due = self._period_start_ms() + self.period_ms
        if now < due:
            return due - now
        if self.allow_empty or self.engine.tx_arrived.is_set() or (self._fresh_build and len(self.engine.pool)):
            return 0
        if self.idle_block_ms is not None:
            return max(0, self._build_asked_ms + self.idle_block_ms - now)
        return None

    @property
    def wants_txs(self) -> bool:
        """The core asked for a block, its period has passed, and only an arriving tx can fill it."""
        return self._build_height is not None and self.build_delay_ms() != 0 and \
            self.clock_ms() >= self._period_start_ms() + self.period_ms

    def try_build(self) -> bool:
        """Propose now if the block period has passed and there is something to put in the block."""
        height = self._build_height
        if height is None:
            return False
        if height != self.engine.head.number + 1:
            self._build_height = None  # the head moved on (sync); the core asks again at its new height
            return False
        now = self.clock_ms()
        if now < self._period_start_ms() + self.period_ms:
            return False
        idle = self.idle_block_ms is not None and now >= self._build_asked_ms + self.idle_block_ms
        self.engine.tx_arrived.clear()  # before selecting: a tx admitted from here on wakes the next try
        self._fresh_build = False  # pooled txs that cannot go in now (nonce gaps) wait for a new arrival
        pending = self.engine.propose(now, self.signer.address, self.max_txs, allow_empty=self.allow_empty or idle)
        if pending is None:
            return False
        block = Block(pending.header, tuple(pending.execution.included))
        self._executed[block.hash] = pending
        self._build_height = None
        self._perform(self._core().on_block_built(to_consensus(block)))
        return True

    def _period_start_ms(self) -> int:
        """Blocks are a period apart from the head's proposal time (as the single producer kept them), or from
        when this node got the head if a peer's clock ran ahead of ours: a skewed clock never stalls it."""
        return min(self.engine.head.timestamp_ms, self._head_seen_ms)

    # -- actions --------------------------------------------------------------------------------------

    def _perform(self, actions: list[Action]) -> None:
        queue = deque(actions)
        while queue:
            action = queue.popleft()
            try:
                queue.extend(self._do(action))
                if isinstance(action, Commit) and self._validator_set_moved():
                    self.start()  # the core's next height was set up with the old set: none of it was performed
                    return
            except NodeHalted:
                raise
            except Exception as exc:
                if self._restarting:
                    raise ConsensusFailed(f"consensus cannot restart: {exc}") from exc
                log.exception("event=consensus_action_failed action=%s height=%d round=%d", type(action).__name__,
                              self._core().height, self._core().round)
                self._restart()  # the rest of this list is dropped: redo it from the durable state
                return

    def _do(self, action: Action) -> list[Action]:
        if isinstance(action, Persist):
            self.resume.save(action.state)
        elif isinstance(action, Broadcast):
            self.transport.broadcast(action.message)
        elif isinstance(action, SetTimer):
            self.timers.set_timer(action.height, action.round, action.delay_ms)
        elif isinstance(action, BuildBlock):
            self._build_height, self._build_asked_ms, self._fresh_build = action.height, self.clock_ms(), True
        elif isinstance(action, ValidateProposal):
            return self._core().on_proposal_validated(action.block_hash, self._validate(action.block, action.block_hash))
        elif isinstance(action, Commit):
            self._commit(action)
        return []

    def _validate(self, proposal: ConsensusBlock, block_hash: bytes) -> bool:
        """Decode the proposal, check it extends the head (parent, height, timestamp) and execute it: the
        state commitment, tx and receipt roots must be what this node computes."""
        if block_hash in self._executed:
            return True
        try:
            block = from_consensus(proposal, self.engine.limits)
            pending = self.engine.validate_block(block)
        except NodeHalted:
            raise
        except (NodeError, MalformedMessage) as exc:
            level = logging.ERROR if isinstance(exc, StateCommitmentMismatch) else logging.WARNING
            log.log(level, "event=proposal_rejected height=%d hash=0x%s reason=%s", proposal.height, block_hash.hex(),
                    exc)
            return False
        self._executed[block_hash] = pending
        return True

    def _commit(self, action: Commit) -> None:
        pending = self._executed.pop(action.block_hash, None)
        if pending is None or pending.header.parent_hash != self.engine.head_hash:
            # Final without having been executed here in this run (a lock re-proposed after a restart):
            # import it like a synced block, seals checked, halting if its state differs from ours.
            block = from_consensus(action.block, self.engine.limits)
            committed = self.engine.import_block(Block(block.header, block.txs, action.seals))
        else:
            sealed = Block(pending.header, tuple(pending.execution.included), action.seals)
            self.engine.verify_seals(sealed)  # the invariant every importer will check, asserted at the source
            committed = self.engine.commit(pending, action.seals)
        for other in self._executed.values():
            self.engine.abandon(other)
        self._executed.clear()
        self._build_height = None
        self._head_seen_ms = self.clock_ms()
        self.last_block = committed

    def _validator_set_moved(self) -> bool:
        """Consortium changes apply from the block after the one that made them; the core asked for the set of
        this next height before the committed block's state existed, so look again now that it does."""
        core = self._core()
        now_in_force = tuple(sorted(set(self.engine.validators_for(core.height))))
        if now_in_force == core.validators:
            return False
        log.info("event=validator_set_changed height=%d validators=%d was=%d", core.height, len(now_in_force),
                 len(core.validators))
        return True

    def _restart(self) -> None:
        self._restarting = True
        try:
            self.start()
        finally:
            self._restarting = False

    def _core(self) -> QbftCore:
        assert self.core is not None, "start() first"
        return self.core
