"""Justification rules: when a ROUND-CHANGE and a new round's PROPOSAL are backed by enough signed votes.

These are the `isValid...` predicates of the QBFT specification, kept pure so tests can feed them
hand-built message sets.
"""

from __future__ import annotations

from collections.abc import Sequence

from network.qbft.messages import MessageKind, SignedVote, Vote
from network.qbft.quorum import quorum_size


def has_quorum_of_prepares(
    prepares: Sequence[SignedVote], height: int, round_: int, digest: bytes, validators: Sequence[bytes]
) -> bool:
    """A prepared certificate: a quorum of distinct validators PREPAREd exactly (height, round, digest)."""
    expected = Vote(MessageKind.PREPARE, height, round_, digest)
    members = set(validators)
    senders: set[bytes] = set()
    for prepare in prepares:
        if prepare.vote != expected or prepare.sender not in members or prepare.sender in senders:
            return False
        senders.add(prepare.sender)
    return len(senders) >= quorum_size(len(members))


def is_valid_round_change(
    vote: Vote,
    prepared_block_hash: bytes | None,
    prepares: Sequence[SignedVote],
    validators: Sequence[bytes],
) -> bool:
    """A ROUND-CHANGE either claims nothing prepared, or carries the block and a certificate for its claim."""
    if vote.kind is not MessageKind.ROUND_CHANGE or vote.round < 1 or vote.commit_seal:
        return False
    if vote.prepared_round is None:
        return not vote.digest and prepared_block_hash is None and not prepares
    return (
        vote.prepared_round < vote.round
        and prepared_block_hash == vote.digest
        and has_quorum_of_prepares(prepares, vote.height, vote.prepared_round, vote.digest, validators)
    )


def highest_prepared(round_changes: Sequence[SignedVote]) -> SignedVote | None:
    """The ROUND-CHANGE reporting the highest prepared round (ties broken by sender, for determinism)."""
    claims = [rc for rc in round_changes if rc.vote.prepared_round is not None]
    if not claims:
        return None
    return min(claims, key=lambda rc: (-(rc.vote.prepared_round or 0), rc.sender))


def is_valid_proposal_justification(
    proposal: Vote,
    round_changes: Sequence[SignedVote],
    prepares: Sequence[SignedVote],
    validators: Sequence[bytes],
) -> bool:
    """Round 0 needs nothing; a later round needs a quorum of ROUND-CHANGEs for it and, if any of them
    reports a prepared block, must re-propose the highest such block with its quorum of PREPAREs."""
    assert proposal.kind is MessageKind.PROPOSAL
    if proposal.round == 0:
        return not round_changes and not prepares
    members = set(validators)
    senders: set[bytes] = set()
    for rc in round_changes:
        vote = rc.vote
        if (
            vote.kind is not MessageKind.ROUND_CHANGE
            or vote.height != proposal.height
            or vote.round != proposal.round
            or rc.sender not in members
            or rc.sender in senders
            or (vote.prepared_round is not None and vote.prepared_round >= proposal.round)
        ):
            return False
        senders.add(rc.sender)
    if len(senders) < quorum_size(len(members)):
        return False
    top = highest_prepared(round_changes)
    if top is None:
        return not prepares
    top_round = top.vote.prepared_round
    assert top_round is not None
    reports_proposed_block = any(
        rc.vote.prepared_round == top_round and rc.vote.digest == proposal.digest for rc in round_changes
    )
    return reports_proposed_block and has_quorum_of_prepares(
        prepares, proposal.height, top_round, proposal.digest, validators
    )
