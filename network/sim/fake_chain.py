"""The simulator's chain: tiny blocks, a state digest per height and a validator set voted on chain.

A block's payload is RLP [tag, timestamp, [[op, address], ...]]. The tag says who built it (an "invalid:" tag is what
a Byzantine proposer builds and every honest node refuses); the ops add or remove a validator, and only
ops the consortium approved (the scenario's governance plan, known to every node) are valid. The state
after block h is keccak(state after h - 1 || payload) with the validator set the ops leave; that set is in
force from h + 1, the rule the node follows too. Comparing digests across nodes makes any divergence visible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import rlp

from network.abc import ChainHead, SealedBlock
from network.errors import BlockRejected
from network.hashing import keccak256
from network.qbft.block import BlockCodec, ConsensusBlock

GENESIS = ConsensusBlock(0, b"\x00" * 32, b"colend-sim-genesis")
VALID_TAG = b"valid:"
INVALID_TAG = b"invalid:"


class Op(Enum):
    ADD = b"add"
    REMOVE = b"remove"


@dataclass(frozen=True)
class SetChange:
    op: Op
    address: bytes


@dataclass(frozen=True)
class Entry:
    sealed: SealedBlock
    block_hash: bytes
    state: bytes  # digest of the state after this block
    validators_next: tuple[bytes, ...]  # the set in force at the next height


CommitListener = Callable[[int, Entry], None]


@dataclass(frozen=True)
class Payload:
    tag: bytes
    timestamp_ms: int  # the proposer's (virtual) clock: blocks are a block period apart
    changes: list[SetChange]


def encode_payload(payload: Payload) -> bytes:
    return rlp.encode([payload.tag, payload.timestamp_ms, [[c.op.value, c.address] for c in payload.changes]])


def decode_payload(payload: bytes) -> Payload | None:
    try:
        tag, timestamp, raw = rlp.decode(payload)
        return Payload(tag, int.from_bytes(timestamp, "big"), [SetChange(Op(op), address) for op, address in raw])
    except Exception:
        return None


class FakeChain:
    """ChainAPI with no clock and no randomness: the same blocks give the same states on every node."""

    def __init__(self, codec: BlockCodec, validators: tuple[bytes, ...], approved: tuple[SetChange, ...],
                 author: int, invalid_proposals: bool = False, on_commit: CommitListener | None = None) -> None:
        self.codec = codec
        self.approved = approved
        self.author = author
        self.invalid_proposals = invalid_proposals
        self.on_commit = on_commit
        genesis = SealedBlock(GENESIS, ())
        self.entries = [Entry(genesis, codec.hash(GENESIS), keccak256(GENESIS.payload), tuple(sorted(validators)))]
        self.pending: list[SetChange] = []  # set changes submitted to this node, like txs in its pool
        self.builds = 0

    # -- ChainAPI ---------------------------------------------------------------------------------------

    def head(self) -> ChainHead:
        return ChainHead(len(self.entries) - 1, self.entries[-1].block_hash, self._timestamp(-1))

    def validators_at(self, height: int) -> tuple[bytes, ...]:
        assert 1 <= height <= len(self.entries), "the set is known up to head + 1"
        return self.entries[height - 1].validators_next

    def pending_work(self, new_height: bool) -> bool:
        return True

    def build_block(self, height: int, timestamp_ms: int, allow_empty: bool) -> ConsensusBlock | None:
        assert height == len(self.entries)
        self.builds += 1
        timestamp_ms = max(timestamp_ms, self._timestamp(-1) + 1)
        if self.invalid_proposals:
            tag = INVALID_TAG + b"%d:%d" % (self.author, height)
            return ConsensusBlock(height, self.entries[-1].block_hash, encode_payload(Payload(tag, timestamp_ms, [])))
        changes = [c for c in self.pending if self._applies(c, self.entries[-1].validators_next)]
        tag = VALID_TAG + b"%d:%d:%d" % (self.author, height, self.builds)
        return ConsensusBlock(height, self.entries[-1].block_hash, encode_payload(Payload(tag, timestamp_ms, changes)))

    def prepare_block(self, height: int, due_ms: int) -> None:
        """Nothing to start early: a block here is built in no time when asked."""

    def validate_proposal(self, block: ConsensusBlock, block_hash: bytes) -> bool:
        return self._problem(block) is None

    def commit(self, block: ConsensusBlock, block_hash: bytes, seals: tuple[bytes, ...]) -> None:
        problem = self._problem(block)
        assert problem is None, f"consensus finalized a block this chain refuses: {problem}"
        self._append(SealedBlock(block, seals), block_hash)

    def import_block(self, sealed: SealedBlock, block_hash: bytes) -> None:
        problem = self._problem(sealed.block)
        if problem is not None:
            raise BlockRejected(f"block {sealed.block.height} {problem}")
        self._append(sealed, block_hash)

    def sealed_block(self, height: int) -> SealedBlock | None:
        return self.entries[height].sealed if 1 <= height < len(self.entries) else None

    # -- the state machine --------------------------------------------------------------------------------

    def submit(self, change: SetChange) -> None:
        if change not in self.pending:
            self.pending.append(change)

    def state_after(self, height: int, previous: bytes, payload: bytes) -> bytes:
        """The state transition; a test overrides it to plant a divergence the checker must see."""
        return keccak256(previous + payload)

    def _problem(self, block: ConsensusBlock) -> str | None:
        if block.height != len(self.entries) or block.parent_hash != self.entries[-1].block_hash:
            return "does not extend the head"
        decoded = decode_payload(block.payload)
        if decoded is None or not decoded.tag.startswith(VALID_TAG):
            return "is not a valid block"
        if decoded.timestamp_ms <= self._timestamp(-1):
            return "is not later than its parent"
        validators = self.entries[-1].validators_next
        for change in decoded.changes:
            if change not in self.approved or not self._applies(change, validators):
                return "carries a set change the consortium did not approve"
            validators = _apply(change, validators)
        return None

    def _timestamp(self, index: int) -> int:
        decoded = decode_payload(self.entries[index].sealed.block.payload) if len(self.entries) > 1 else None
        return decoded.timestamp_ms if decoded is not None else 0

    def _applies(self, change: SetChange, validators: tuple[bytes, ...]) -> bool:
        if change.op is Op.ADD:
            return change.address not in validators
        return change.address in validators and len(validators) > 1

    def _append(self, sealed: SealedBlock, block_hash: bytes) -> None:
        block = sealed.block
        decoded = decode_payload(block.payload)
        assert decoded is not None
        validators = self.entries[-1].validators_next
        for change in decoded.changes:
            validators = _apply(change, validators)
            if change in self.pending:
                self.pending.remove(change)
        state = self.state_after(block.height, self.entries[-1].state, block.payload)
        entry = Entry(sealed, block_hash, state, validators)
        self.entries.append(entry)
        if self.on_commit is not None:
            self.on_commit(block.height, entry)


def _apply(change: SetChange, validators: tuple[bytes, ...]) -> tuple[bytes, ...]:
    if change.op is Op.ADD:
        return tuple(sorted({*validators, change.address}))
    return tuple(v for v in validators if v != change.address)
