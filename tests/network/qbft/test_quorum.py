import pytest

from network.qbft.quorum import max_faulty, proposer_for, quorum_size, round_timeout_ms, weak_quorum_size

EXPECTED_F = {1: 0, 2: 0, 3: 0, 4: 1, 5: 1, 6: 1, 7: 2, 8: 2, 9: 2, 10: 3}
EXPECTED_QUORUM = {1: 1, 2: 2, 3: 2, 4: 3, 5: 4, 6: 4, 7: 5, 8: 6, 9: 6, 10: 7}


@pytest.mark.parametrize("n", range(1, 11))
def test_f_and_quorum_match_the_specification_table(n: int) -> None:
    assert max_faulty(n) == EXPECTED_F[n]
    assert quorum_size(n) == EXPECTED_QUORUM[n]
    assert weak_quorum_size(n) == EXPECTED_F[n] + 1


@pytest.mark.parametrize("n", range(1, 200))
def test_two_quorums_share_an_honest_validator_and_honest_ones_alone_form_a_quorum(n: int) -> None:
    q, f = quorum_size(n), max_faulty(n)
    assert 2 * q - n >= f + 1  # safety: intersection holds more than f validators
    assert q <= n - f  # liveness: the honest validators are enough
    assert q == -(-2 * n // 3)  # the same as DESIGN.md's ceil(2V/3)


def test_invalid_sizes_are_refused() -> None:
    with pytest.raises(AssertionError):
        quorum_size(0)
    with pytest.raises(AssertionError):
        max_faulty(0)


def test_proposer_rotates_by_height_and_round() -> None:
    validators = [bytes([i]) * 20 for i in range(4)]
    assert proposer_for(validators, 1, 0) == validators[1]
    assert proposer_for(validators, 1, 1) == validators[2]
    assert proposer_for(validators, 2, 0) == validators[2]
    assert proposer_for(validators, 3, 2) == validators[1]
    for height in range(1, 6):
        assert {proposer_for(validators, height, r) for r in range(4)} == set(validators)
        assert proposer_for(validators, height, 0) != proposer_for(validators, height + 1, 0)


def test_single_validator_always_proposes() -> None:
    only = [b"\x01" * 20]
    assert all(proposer_for(only, h, r) == only[0] for h in range(1, 5) for r in range(5))


def test_round_timeouts_double_and_are_capped() -> None:
    assert [round_timeout_ms(1000, r, 10) for r in range(4)] == [1000, 2000, 4000, 8000]
    assert round_timeout_ms(1000, 30, 10) == 1000 * 1024
