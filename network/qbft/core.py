"""QBFT as a pure state machine: messages, timer ticks and node answers in; a list of actions out.

It follows the EEA QBFT specification and Moniz (2020), "The Istanbul BFT Consensus Algorithm". The core
never touches sockets, clocks or randomness: the driver delivers bytes, fires timers it was asked to set,
builds and validates blocks on request, and persists the ResumeState it is handed before going on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from network.qbft.actions import (
    Action,
    Broadcast,
    BuildBlock,
    Commit,
    Persist,
    PreparedCertificate,
    ResumeState,
    SetTimer,
    ValidateProposal,
)
from network.qbft.block import BlockCodec, ConsensusBlock
from network.qbft.config import QbftConfig
from network.qbft.crypto import Signer
from network.qbft.errors import MalformedMessage
from network.qbft.justification import is_valid_proposal_justification, is_valid_round_change
from network.qbft.messages import (
    Message,
    MessageKind,
    SignedVote,
    Vote,
    decode_message,
    encode_message,
    sign_vote,
)
from network.qbft.quorum import (
    proposer_for,
    quorum_size,
    round_timeout_ms,
    weak_quorum_size,
)
from network.qbft.seals import make_commit_seal, seal_signer


class QbftCore:
    """One validator's consensus state from `height` on.

    The validator set is an input: `validators` is the set in force at `height`, and once a block is final
    (a Commit action) the core waits, ignoring everything, until the driver has committed it and calls
    on_new_head(height, set in force at height + 1), read from the chain that now holds the block.
    """

    def __init__(
        self,
        config: QbftConfig,
        signer: Signer,
        height: int,
        validators: Sequence[bytes],
        codec: BlockCodec,
        resume: ResumeState | None = None,
    ) -> None:
        assert height >= 1, "height 0 is genesis, which is never voted on"
        assert resume is None or resume.height == height, "a resume state belongs to the height being resumed"
        self.config = config
        self._signer = signer
        self._codec = codec
        self._resume = resume
        self._started = False
        self._out: list[Action] = []
        self.dropped: Counter[str] = Counter()  # reason -> count, for observability and tests
        self._future: dict[bytes, list[Message]] = {}
        self._reset_height(height, validators)

    # -- public API: each call returns the actions to perform, in order ------------------------------------

    def start(self) -> list[Action]:
        assert not self._started, "start() is called once"
        self._started = True
        if self._resume is not None:
            # A restarted validator never votes again in a round it may have voted in: it moves on one round.
            self._prepared = self._resume.prepared
            self.round = self._resume.round
            self._enter_round(self._resume.round + 1, send_round_change=True)
        else:
            self._enter_round(0, send_round_change=False)
        return self._flush()

    def on_message(self, message: bytes | Message) -> list[Action]:
        assert self._started
        if self.decided:
            self.dropped["decided"] += 1
            return []
        if isinstance(message, bytes):
            try:
                message = decode_message(message, self._codec)
            except MalformedMessage:
                self.dropped["malformed"] += 1
                return []
        self._receive(message)
        return self._flush()

    def on_timeout(self, height: int, round_: int) -> list[Action]:
        assert self._started
        if not self.decided and height == self.height and round_ == self.round:
            self._enter_round(round_ + 1, send_round_change=True)
        return self._flush()

    def on_block_built(self, block: ConsensusBlock) -> list[Action]:
        assert self._started
        if not self.decided and block.height == self.height:
            self._own_block = block
            self._try_propose()
        return self._flush()

    def on_proposal_validated(self, block_hash: bytes, ok: bool) -> list[Action]:
        assert self._started
        if self.decided or block_hash in self._validated or block_hash not in self._pending:
            return []  # an answer for another height, or a repeated answer
        self._validated[block_hash] = ok
        block, rounds = self._pending.pop(block_hash)
        if ok:
            for round_ in sorted(rounds):
                if self.decided:
                    break  # the first round already made the block final
                self._on_valid_proposal(round_, block, block_hash)
        else:
            self.dropped["invalid_block"] += 1
        return self._flush()

    def on_new_head(self, head: int, validators: Sequence[bytes]) -> list[Action]:
        """The chain's head is now final block `head` (committed after our Commit, or imported by sync):
        move to head + 1, where `validators` (read from the state after `head`) are in force."""
        assert self._started
        if head >= self.height:
            self._advance(head + 1, validators)
        return self._flush()

    @property
    def validators(self) -> tuple[bytes, ...]:
        return self._validators

    # -- per-height state ------------------------------------------------------------------------------------

    def _reset_height(self, height: int, validators: Sequence[bytes]) -> None:
        self.height = height
        self.round = 0
        self.decided = False  # a block of this height is final; waiting for on_new_head
        self._validators = tuple(sorted(set(validators)))
        assert self._validators, "a validator set is never empty"
        self._members = frozenset(self._validators)
        self._quorum = quorum_size(len(self._validators))
        self._prepared: PreparedCertificate | None = None
        self._own_block: ConsensusBlock | None = None
        self._build_requested = False
        self._proposed: set[int] = set()
        self._commit_sent: set[int] = set()
        self._proposal_seen: dict[int, bytes] = {}
        self._accepted: dict[int, tuple[ConsensusBlock, bytes]] = {}
        self._blocks: dict[bytes, ConsensusBlock] = {}
        self._pending: dict[bytes, tuple[ConsensusBlock, list[int]]] = {}
        self._validated: dict[bytes, bool] = {}
        self._prepares: dict[int, dict[bytes, SignedVote]] = {}
        self._commits: dict[int, dict[bytes, SignedVote]] = {}
        self._round_changes: dict[int, dict[bytes, Message]] = {}

    def _is_proposer(self, round_: int) -> bool:
        return proposer_for(self._validators, self.height, round_) == self._signer.address

    def _resume_state(self) -> ResumeState:
        return ResumeState(self.height, self.round, self._prepared)

    def _flush(self) -> list[Action]:
        out, self._out = self._out, []
        return out

    # -- rounds and heights -----------------------------------------------------------------------------

    def _enter_round(self, round_: int, send_round_change: bool) -> None:
        if self.decided:
            return
        assert round_ >= self.round, "rounds never go back within a height"
        self.round = round_
        self._out.append(Persist(self._resume_state()))
        delay = round_timeout_ms(self.config.base_timeout_ms, round_, self.config.max_backoff_exponent)
        self._out.append(SetTimer(self.height, round_, delay))
        if send_round_change:
            self._broadcast_round_change()
        self._check_prepared()
        self._try_propose()

    def _advance(self, height: int, validators: Sequence[bytes]) -> None:
        assert height > self.height
        self._reset_height(height, validators)
        self._enter_round(0, send_round_change=False)
        self._replay_future()

    def _replay_future(self) -> None:
        buffered, self._future = self._future, {}
        ready: list[Message] = []
        for sender, messages in buffered.items():
            keep = [m for m in messages if m.vote.height > self.height]
            ready.extend(m for m in messages if m.vote.height == self.height)
            if keep:
                self._future[sender] = keep
        for message in ready:
            if self.decided:
                self._buffer_next(message)  # a replayed message finalized this height; keep the rest for later
                continue
            self._receive(message)

    # -- receiving ------------------------------------------------------------------------------------------

    def _receive(self, message: Message) -> None:
        vote = message.vote
        if self.decided:
            self._buffer_next(message)
        elif vote.height < self.height:
            self.dropped["stale_height"] += 1
        elif message.sender not in self._members:
            self.dropped["not_validator"] += 1
        elif vote.height > self.height:
            self._buffer_future(message)
        elif vote.round > self.round + self.config.max_round_lookahead:
            self.dropped["round_too_far"] += 1
        elif vote.kind is MessageKind.PROPOSAL:
            self._on_proposal(message)
        elif vote.kind is MessageKind.PREPARE:
            self._on_prepare(message.signed)
        elif vote.kind is MessageKind.COMMIT:
            self._on_commit(message.signed)
        else:
            self._on_round_change(message)

    def _buffer_next(self, message: Message) -> None:
        """While decided, messages for later heights wait for on_new_head; the rest are stale."""
        if message.vote.height > self.height:
            self._buffer_future(message)
        else:
            self.dropped["decided"] += 1

    def _buffer_future(self, message: Message) -> None:
        if message.vote.height > self.height + self.config.future_height_window:
            self.dropped["height_too_far"] += 1
            return
        queue = self._future.setdefault(message.sender, [])
        if len(queue) >= self.config.max_buffered_per_sender:
            self.dropped["buffer_full"] += 1
            return
        queue.append(message)

    def _on_proposal(self, message: Message) -> None:
        vote, block = message.vote, message.block
        if message.sender != proposer_for(self._validators, self.height, vote.round):
            self.dropped["wrong_proposer"] += 1
        elif block is None or block.height != self.height or self._codec.hash(block) != vote.digest:
            self.dropped["bad_proposal_block"] += 1
        elif vote.round in self._proposal_seen or vote.prepared_round is not None or vote.commit_seal:
            self.dropped["duplicate_or_malformed_proposal"] += 1
        elif not is_valid_proposal_justification(
            vote, message.round_changes, message.prepares, self._validators
        ):
            self.dropped["unjustified_proposal"] += 1
        else:
            self._proposal_seen[vote.round] = vote.digest
            if message.sender == self._signer.address:
                self._on_valid_proposal(vote.round, block, vote.digest)  # we built or re-propose it
            else:
                self._request_validation(vote.round, block, vote.digest)

    def _request_validation(self, round_: int, block: ConsensusBlock, block_hash: bytes) -> None:
        known = self._validated.get(block_hash)
        if known is True:
            self._on_valid_proposal(round_, block, block_hash)
        elif known is False:
            self.dropped["invalid_block"] += 1
        elif block_hash in self._pending:
            self._pending[block_hash][1].append(round_)
        else:
            self._pending[block_hash] = (block, [round_])
            self._out.append(ValidateProposal(block, block_hash))

    def _on_valid_proposal(self, round_: int, block: ConsensusBlock, block_hash: bytes) -> None:
        self._blocks[block_hash] = block
        if round_ >= self.round and round_ not in self._accepted:
            if round_ > self.round:
                self._enter_round(round_, send_round_change=False)  # a justified proposal leads the way
            self._accepted[round_] = (block, block_hash)
            prepare = Vote(MessageKind.PREPARE, self.height, round_, block_hash)
            self._broadcast(Message(sign_vote(prepare, self._signer)))
            self._check_prepared()
        self._check_committed()

    def _on_prepare(self, signed: SignedVote) -> None:
        vote = signed.vote
        if not vote.digest or vote.prepared_round is not None or vote.commit_seal:
            self.dropped["malformed_prepare"] += 1
            return
        if not self._record(self._prepares, signed):
            return
        self._check_prepared()

    def _on_commit(self, signed: SignedVote) -> None:
        vote = signed.vote
        if not vote.digest or vote.prepared_round is not None:
            self.dropped["malformed_commit"] += 1
            return
        if seal_signer(vote.digest, vote.commit_seal) != signed.sender:
            self.dropped["bad_commit_seal"] += 1
            return
        if not self._record(self._commits, signed):
            return
        self._check_committed()

    def _on_round_change(self, message: Message) -> None:
        vote = message.vote
        if vote.round < self.round:
            self.dropped["stale_round"] += 1
            return
        block_hash = None if message.block is None else self._codec.hash(message.block)
        if not is_valid_round_change(vote, block_hash, message.prepares, self._validators):
            self.dropped["invalid_round_change"] += 1
            return
        votes = self._round_changes.setdefault(vote.round, {})
        if message.sender in votes:
            self.dropped["duplicate"] += 1
            return
        votes[message.sender] = message
        self._check_round_jump()
        self._try_propose()

    def _record(self, table: dict[int, dict[bytes, SignedVote]], signed: SignedVote) -> bool:
        """Keep the first vote of each sender per round; a second one is a duplicate or an equivocation."""
        votes = table.setdefault(signed.vote.round, {})
        if signed.sender in votes:
            self.dropped["duplicate"] += 1
            return False
        votes[signed.sender] = signed
        return True

    # -- the rules ----------------------------------------------------------------------------------------

    def _check_prepared(self) -> None:
        """Upon a quorum of PREPAREs for the proposal accepted this round: lock on it and COMMIT."""
        if self.decided:
            return
        round_ = self.round
        if round_ not in self._accepted or round_ in self._commit_sent:
            return
        block, block_hash = self._accepted[round_]
        prepares = self._matching(self._prepares, round_, block_hash)
        if len(prepares) < self._quorum:
            return
        self._commit_sent.add(round_)
        self._prepared = PreparedCertificate(round_, block, tuple(prepares))
        self._out.append(Persist(self._resume_state()))
        seal = make_commit_seal(block_hash, self._signer)
        commit = Vote(MessageKind.COMMIT, self.height, round_, block_hash, commit_seal=seal)
        self._broadcast(Message(sign_vote(commit, self._signer)))

    def _check_committed(self) -> None:
        """Upon a quorum of COMMITs in one round for a block we hold: the block is final."""
        if self.decided:
            return
        for round_ in sorted(self._commits):
            by_digest: dict[bytes, int] = Counter(c.vote.digest for c in self._commits[round_].values())
            for block_hash in sorted(by_digest):
                if by_digest[block_hash] >= self._quorum and block_hash in self._blocks:
                    commits = self._matching(self._commits, round_, block_hash)
                    seals = tuple(c.vote.commit_seal for c in commits)
                    self._out.append(Commit(self._blocks[block_hash], block_hash, seals))
                    self.decided = True
                    return

    def _check_round_jump(self) -> None:
        """Upon f+1 ROUND-CHANGEs for rounds above ours, one of them honest: jump to the smallest of them."""
        if self.decided:
            return
        highest_by_sender: dict[bytes, int] = {}
        for round_, votes in self._round_changes.items():
            if round_ > self.round:
                for sender in votes:
                    highest_by_sender[sender] = max(round_, highest_by_sender.get(sender, 0))
        needed = weak_quorum_size(len(self._validators))
        if len(highest_by_sender) < needed:
            return
        target = sorted(highest_by_sender.values(), reverse=True)[needed - 1]
        self._enter_round(target, send_round_change=True)

    def _try_propose(self) -> None:
        """As proposer of the current round: at round 0 propose a new block; later, once a quorum of
        ROUND-CHANGEs arrived, re-propose the highest prepared block or else a new one."""
        if self.decided:
            return
        round_ = self.round
        if round_ in self._proposed or not self._is_proposer(round_):
            return
        round_changes: list[Message] = []
        if round_ > 0:
            votes = self._round_changes.get(round_, {})
            if len(votes) < self._quorum:
                return
            by_prepared = sorted(votes.values(), key=_highest_prepared_first)
            round_changes = by_prepared[: self._quorum]
            top = round_changes[0]
            if top.vote.prepared_round is not None:
                assert top.block is not None
                self._propose(top.block, round_changes, top.prepares)
                return
        if self._own_block is None:
            if not self._build_requested:
                self._build_requested = True
                self._out.append(BuildBlock(self.height))
            return
        self._propose(self._own_block, round_changes, ())

    def _propose(self, block: ConsensusBlock, round_changes: list[Message], prepares: Sequence[SignedVote]) -> None:
        self._proposed.add(self.round)
        vote = Vote(MessageKind.PROPOSAL, self.height, self.round, self._codec.hash(block))
        justification = tuple(m.signed for m in round_changes)
        self._broadcast(Message(sign_vote(vote, self._signer), block, justification, tuple(prepares)))

    def _broadcast_round_change(self) -> None:
        prepared = self._prepared
        if prepared is None:
            vote = Vote(MessageKind.ROUND_CHANGE, self.height, self.round)
            self._broadcast(Message(sign_vote(vote, self._signer)))
            return
        digest = self._codec.hash(prepared.block)
        vote = Vote(MessageKind.ROUND_CHANGE, self.height, self.round, digest, prepared_round=prepared.round)
        self._broadcast(Message(sign_vote(vote, self._signer), prepared.block, (), prepared.prepares))

    def _broadcast(self, message: Message) -> None:
        """Send to peers, then count our own vote exactly as a peer's would be counted."""
        if self._signer.address not in self._members:
            return  # an observer or a removed validator follows but never votes
        self._out.append(Broadcast(encode_message(message, self._codec)))
        self._receive(message)

    def _matching(
        self, table: dict[int, dict[bytes, SignedVote]], round_: int, digest: bytes
    ) -> list[SignedVote]:
        votes = table.get(round_, {})
        return [votes[s] for s in sorted(votes) if votes[s].vote.digest == digest]


def _highest_prepared_first(message: Message) -> tuple[int, bytes]:
    prepared = message.vote.prepared_round
    return (-(prepared if prepared is not None else -1), message.sender)

