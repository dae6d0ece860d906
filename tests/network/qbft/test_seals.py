from network.hashing import keccak256
from network.qbft import PrivateKeySigner, verify_commit_seals
from network.qbft.seals import make_commit_seal
from tests.network.qbft.cluster import signers

KEYS = [*signers(4), PrivateKeySigner(keccak256(b"not a validator"))]
VALIDATORS = [k.address for k in KEYS[:4]]
BLOCK_HASH = b"\x42" * 32


def _seals(indices: list[int], block_hash: bytes = BLOCK_HASH) -> list[bytes]:
    return [make_commit_seal(block_hash, KEYS[i]) for i in indices]


def test_a_quorum_of_distinct_validator_seals_is_final() -> None:
    assert verify_commit_seals(BLOCK_HASH, _seals([0, 1, 2]), VALIDATORS)
    assert verify_commit_seals(BLOCK_HASH, _seals([0, 1, 2, 3]), VALIDATORS)


def test_fewer_than_a_quorum_is_not_final() -> None:
    assert not verify_commit_seals(BLOCK_HASH, _seals([0, 1]), VALIDATORS)
    assert not verify_commit_seals(BLOCK_HASH, [], VALIDATORS)


def test_repeated_foreign_wrong_or_garbage_seals_are_refused() -> None:
    assert not verify_commit_seals(BLOCK_HASH, _seals([0, 1, 1]), VALIDATORS)
    assert not verify_commit_seals(BLOCK_HASH, _seals([0, 1, 4]), VALIDATORS)  # key 4 is no validator
    assert not verify_commit_seals(BLOCK_HASH, _seals([0, 1, 2], b"\x43" * 32), VALIDATORS)
    assert not verify_commit_seals(BLOCK_HASH, [*_seals([0, 1, 2]), b"\x00" * 65], VALIDATORS)
    assert not verify_commit_seals(BLOCK_HASH, [*_seals([0, 1, 2]), b"short"], VALIDATORS)


def test_a_single_validator_seals_alone() -> None:
    assert verify_commit_seals(BLOCK_HASH, _seals([0]), VALIDATORS[:1])
