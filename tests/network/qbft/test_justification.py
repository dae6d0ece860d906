from network.hashing import keccak256
from network.qbft import ConsensusBlock, PrivateKeySigner
from network.qbft.justification import (
    has_quorum_of_prepares,
    highest_prepared,
    is_valid_proposal_justification,
    is_valid_round_change,
)
from network.qbft.messages import MessageKind, SignedVote, Vote, sign_vote
from tests.network.qbft.cluster import CODEC, signers

KEYS = [*signers(4), PrivateKeySigner(keccak256(b"not a validator"))]
VALIDATORS = [k.address for k in KEYS[:4]]  # n = 4, quorum 3; KEYS[4] is an outsider
HEIGHT = 7
B = CODEC.hash(ConsensusBlock(HEIGHT, b"\x01" * 32, b"B"))
C = CODEC.hash(ConsensusBlock(HEIGHT, b"\x01" * 32, b"C"))


def rc(i: int, round_: int, prepared_round: int | None = None, digest: bytes = b"") -> SignedVote:
    return sign_vote(Vote(MessageKind.ROUND_CHANGE, HEIGHT, round_, digest, prepared_round), KEYS[i])


def prepares(indices: list[int], round_: int, digest: bytes) -> tuple[SignedVote, ...]:
    return tuple(sign_vote(Vote(MessageKind.PREPARE, HEIGHT, round_, digest), KEYS[i]) for i in indices)


def proposal(round_: int, digest: bytes) -> Vote:
    return Vote(MessageKind.PROPOSAL, HEIGHT, round_, digest)


def justified(round_: int, digest: bytes, rcs: list[SignedVote], preps: tuple[SignedVote, ...] = ()) -> bool:
    return is_valid_proposal_justification(proposal(round_, digest), rcs, preps, VALIDATORS)


def test_round_zero_needs_no_justification_and_accepts_none() -> None:
    assert justified(0, B, [])
    assert not justified(0, B, [rc(0, 1), rc(1, 1), rc(2, 1)])


def test_a_quorum_of_empty_round_changes_justifies_any_block() -> None:
    assert justified(1, B, [rc(0, 1), rc(1, 1), rc(2, 1)])
    assert justified(1, C, [rc(1, 1), rc(2, 1), rc(3, 1)])


def test_fewer_than_a_quorum_repeated_senders_or_outsiders_do_not_count() -> None:
    assert not justified(1, B, [rc(0, 1), rc(1, 1)])
    assert not justified(1, B, [rc(0, 1), rc(1, 1), rc(1, 1)])
    assert not justified(1, B, [rc(0, 1), rc(1, 1), rc(4, 1)])


def test_round_changes_must_be_for_the_proposal_round_and_height() -> None:
    assert not justified(2, B, [rc(0, 2), rc(1, 2), rc(2, 1)])
    other_height = sign_vote(Vote(MessageKind.ROUND_CHANGE, HEIGHT + 1, 2), KEYS[2])
    assert not justified(2, B, [rc(0, 2), rc(1, 2), other_height])
    wrong_kind = sign_vote(Vote(MessageKind.PREPARE, HEIGHT, 2, B), KEYS[2])
    assert not justified(2, B, [rc(0, 2), rc(1, 2), wrong_kind])


def test_a_reported_prepared_block_must_be_reproposed_with_its_prepares() -> None:
    rcs = [rc(0, 1, 0, B), rc(1, 1), rc(2, 1)]
    assert justified(1, B, rcs, prepares([0, 1, 2], 0, B))
    assert not justified(1, C, rcs, prepares([0, 1, 2], 0, B))  # the lock is ignored
    assert not justified(1, B, rcs)  # no certificate
    assert not justified(1, B, rcs, prepares([0, 1], 0, B))  # certificate below quorum
    assert not justified(1, B, rcs, prepares([0, 1, 2], 1, B))  # certificate for another round
    assert not justified(1, B, rcs, prepares([0, 1, 4], 0, B))  # an outsider's PREPARE


def test_the_highest_prepared_round_wins() -> None:
    rcs = [rc(0, 3, 0, B), rc(1, 3, 2, C), rc(2, 3)]
    assert justified(3, C, rcs, prepares([1, 2, 3], 2, C))
    assert not justified(3, B, rcs, prepares([0, 1, 2], 0, B))
    top = highest_prepared(rcs)
    assert top is not None and top.vote.prepared_round == 2 and top.vote.digest == C


def test_a_round_change_cannot_claim_a_prepared_round_at_or_after_its_own() -> None:
    assert not justified(2, B, [rc(0, 2, 2, B), rc(1, 2), rc(2, 2)], prepares([0, 1, 2], 2, B))


def test_round_change_certificates() -> None:
    assert is_valid_round_change(rc(0, 1).vote, None, (), VALIDATORS)
    assert is_valid_round_change(rc(0, 1, 0, B).vote, B, prepares([0, 1, 2], 0, B), VALIDATORS)
    assert not is_valid_round_change(rc(0, 1, 0, B).vote, C, prepares([0, 1, 2], 0, B), VALIDATORS)
    assert not is_valid_round_change(rc(0, 1, 0, B).vote, B, prepares([0, 1], 0, B), VALIDATORS)
    assert not is_valid_round_change(rc(0, 1, 1, B).vote, B, prepares([0, 1, 2], 1, B), VALIDATORS)
    assert not is_valid_round_change(rc(0, 0).vote, None, (), VALIDATORS)  # round 0 has no round change
    assert not is_valid_round_change(rc(0, 1).vote, B, (), VALIDATORS)  # a block with no claim


def test_prepare_certificates_need_distinct_members_and_exact_votes() -> None:
    assert has_quorum_of_prepares(prepares([0, 1, 2], 0, B), HEIGHT, 0, B, VALIDATORS)
    assert not has_quorum_of_prepares(prepares([0, 1, 1], 0, B), HEIGHT, 0, B, VALIDATORS)
    assert not has_quorum_of_prepares(prepares([0, 1, 2], 0, B), HEIGHT + 1, 0, B, VALIDATORS)
    mixed = prepares([0, 1], 0, B) + prepares([2], 0, C)
    assert not has_quorum_of_prepares(mixed, HEIGHT, 0, B, VALIDATORS)
