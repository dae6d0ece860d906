from network.hashing import keccak256
from network.qbft import (
    Broadcast,
    BuildBlock,
    Commit,
    ConsensusBlock,
    PrivateKeySigner,
    QbftConfig,
    QbftCore,
    SetTimer,
    verify_commit_seals,
)
from network.qbft.messages import Message, MessageKind, Vote, decode_message, encode_message, sign_vote
from tests.network.qbft.cluster import CODEC, Cluster, signers


def kind_of(message: bytes) -> MessageKind:
    return decode_message(message, CODEC).vote.kind


def run_heights(cluster: Cluster, heights: int, max_steps: int = 50) -> None:
    """Deliver everything and fire timers of the running nodes until each has `heights` blocks."""
    up = [i for i in range(cluster.size) if i not in cluster.down and cluster.cores[i] is not None]
    cluster.allow_heights(heights)
    for _ in range(max_steps):
        cluster.deliver_all()
        if all(len(cluster.commits[i]) >= heights for i in up):
            return
        cluster.fire_timers(up)
    raise AssertionError(f"no progress: heights {cluster.heights()}")


def assert_agreement(cluster: Cluster) -> None:
    for height in range(1, max(cluster.heights()) + 1):
        assert len(cluster.final_hashes(height)) == 1, f"two blocks final at height {height}"
    for commits in cluster.commits:
        for commit in commits:
            validators = cluster.validators_at(commit.block.height)
            assert verify_commit_seals(commit.block_hash, commit.seals, validators)


def test_a_single_validator_seals_its_own_blocks_immediately() -> None:
    cluster = Cluster(1)
    cluster.start()
    assert cluster.heights() == [1]
    commit = cluster.commits[0][0]
    assert len(commit.seals) == 1 and verify_commit_seals(commit.block_hash, commit.seals, cluster.addresses)
    cluster.allow_heights(3)  # no peer, no timer: each requested block is final at once
    assert cluster.heights() == [3]


def test_a_single_core_waits_for_the_commit_then_moves_on_with_the_set_it_is_given() -> None:
    signer, newcomer = signers(2)
    core = QbftCore(QbftConfig(), signer, 1, [signer.address], CODEC)
    parent = b"\x00" * 32
    actions = core.start()
    for height in range(1, 4):
        assert BuildBlock(height) in actions
        actions = core.on_block_built(ConsensusBlock(height, parent, b"x"))
        commit = actions[-1]
        assert isinstance(commit, Commit) and commit.block.height == height  # nothing after the Commit
        assert core.decided and core.on_timeout(height, 0) == [] and core.height == height
        parent = commit.block_hash
        actions = core.on_new_head(height, [signer.address])
    assert core.height == 4
    core.on_new_head(4, [signer.address, newcomer.address])  # e.g. block 4 voted a validator in
    assert core.height == 5 and core.validators == tuple(sorted([signer.address, newcomer.address]))


def test_four_validators_agree_on_one_block_with_a_quorum_of_seals() -> None:
    cluster = Cluster(4)
    cluster.start()
    run_heights(cluster, 3)
    assert_agreement(cluster)
    assert all(len(c[0].seals) >= 3 for c in cluster.commits)
    assert cluster.commits[0][0].block.payload == b"block by 1 at 1"  # (height + round) % n proposes


def test_duplicates_stale_messages_and_outsiders_are_dropped() -> None:
    outsider = PrivateKeySigner(keccak256(b"not a validator"))
    cluster = Cluster(4, extra_signers=[outsider])
    cluster.start(range(4))
    proposal = next(m for m in cluster.sent[1] if kind_of(m) is MessageKind.PROPOSAL)
    core = cluster.core(0)
    cluster.perform(0, core.on_message(proposal))
    cluster.perform(0, core.on_message(proposal))
    assert core.dropped["duplicate_or_malformed_proposal"] == 1
    run_heights(cluster, 1)
    stale_before = core.dropped["stale_height"]
    assert core.on_message(proposal) == [] and core.dropped["stale_height"] == stale_before + 1
    foreign = Message(sign_vote(Vote(MessageKind.PREPARE, core.height, 0, b"\x05" * 32), outsider))
    assert core.on_message(encode_message(foreign, CODEC)) == []
    assert core.dropped["not_validator"] == 1
    assert core.on_message(b"\x00garbage") == [] and core.dropped["malformed"] == 1


def test_future_messages_are_buffered_within_bounds_and_replayed() -> None:
    config = QbftConfig(future_height_window=2, max_buffered_per_sender=2)
    keys = signers(4)
    core = QbftCore(config, keys[0], 1, [k.address for k in keys], CODEC)
    core.start()
    for height in (2, 3, 3):
        future = Message(sign_vote(Vote(MessageKind.ROUND_CHANGE, height, 1), keys[1]))
        core.on_message(encode_message(future, CODEC))
    assert core.dropped["buffer_full"] == 1
    too_far = Message(sign_vote(Vote(MessageKind.ROUND_CHANGE, 4, 1), keys[2]))
    core.on_message(encode_message(too_far, CODEC))
    assert core.dropped["height_too_far"] == 1
    far_round = Message(sign_vote(Vote(MessageKind.ROUND_CHANGE, 1, 1 + config.max_round_lookahead), keys[2]))
    core.on_message(encode_message(far_round, CODEC))
    assert core.dropped["round_too_far"] == 1
    core.on_new_head(1, [k.address for k in keys])  # the buffered height-2 round change is replayed now
    assert core.height == 2 and 1 in core._round_changes and keys[1].address in core._round_changes[1]


def test_a_silent_proposer_costs_one_round() -> None:
    cluster = Cluster(4)
    cluster.start()
    cluster.crash(1)  # proposer of height 1, round 0
    cluster.drop_all()
    cluster.fire_timers([0, 2, 3])
    assert {cluster.core(i).round for i in (0, 2, 3)} == {1}
    cluster.deliver_all()
    assert cluster.heights() == [1, 0, 1, 1]
    assert cluster.commits[0][0].block.payload == b"block by 2 at 1"
    assert_agreement(cluster)


def test_a_prepared_block_is_reproposed_after_a_round_change() -> None:
    cluster = Cluster(4)
    cluster.start()
    cluster.deliver_all(drop=lambda src, dst, m: kind_of(m) is MessageKind.COMMIT)
    assert cluster.heights() == [0, 0, 0, 0]
    locked = {cluster.persisted[i].prepared.block for i in range(4)}
    assert len(locked) == 1
    cluster.invalid_payloads.add(b"block by 2 at 1")  # round 1's proposer would like its own block
    cluster.fire_timers()
    cluster.deliver_all()
    assert cluster.heights() == [1, 1, 1, 1]
    assert {c[0].block for c in cluster.commits} == locked
    assert {c[0].block.payload for c in cluster.commits} == {b"block by 1 at 1"}


def test_a_refused_proposal_gets_no_prepare() -> None:
    cluster = Cluster(4)
    cluster.invalid_payloads.add(b"block by 1 at 1")
    cluster.start()
    cluster.deliver_all()
    prepares = [m for i in (0, 2, 3) for m in cluster.sent[i] if kind_of(m) is MessageKind.PREPARE]
    assert prepares == [] and cluster.heights() == [0, 0, 0, 0]
    run_heights(cluster, 1)
    assert cluster.commits[0][0].block.payload == b"block by 2 at 1"


def test_f_plus_one_round_changes_pull_a_validator_to_their_smallest_round() -> None:
    keys = signers(4)
    core = QbftCore(QbftConfig(), keys[0], 1, [k.address for k in keys], CODEC)
    core.start()
    core.on_message(encode_message(Message(sign_vote(Vote(MessageKind.ROUND_CHANGE, 1, 5), keys[1])), CODEC))
    assert core.round == 0  # one could be a liar
    actions = core.on_message(
        encode_message(Message(sign_vote(Vote(MessageKind.ROUND_CHANGE, 1, 3), keys[2])), CODEC)
    )
    assert core.round == 3
    assert SetTimer(1, 3, 8000) in actions
    sent = [decode_message(a.message, CODEC).vote for a in actions if isinstance(a, Broadcast)]
    assert Vote(MessageKind.ROUND_CHANGE, 1, 3) in sent


def test_validators_drifting_to_different_rounds_converge() -> None:
    cluster = Cluster(4)
    cluster.start()
    cluster.drop_all()
    for i in range(4):
        for _ in range(i):  # node i drifts alone to round i
            cluster.fire_timer(i)
            cluster.drop_all()
    assert [cluster.core(i).round for i in range(4)] == [0, 1, 2, 3]
    run_heights(cluster, 2)
    assert_agreement(cluster)


def test_one_validator_down_keeps_the_chain_going() -> None:
    cluster = Cluster(4)
    cluster.start()
    cluster.crash(3)
    run_heights(cluster, 6)
    assert min(cluster.heights()[:3]) >= 6
    assert_agreement(cluster)


def test_more_than_f_down_halts_safely_and_resumes_when_they_return() -> None:
    cluster = Cluster(4)
    cluster.start()
    run_heights(cluster, 1)
    cluster.crash(2)
    cluster.crash(3)
    for _ in range(5):
        cluster.fire_timers([0, 1])
        cluster.deliver_all()
    assert cluster.heights()[:2] == [1, 1]  # halted, nothing final without a quorum
    assert cluster.core(0).round >= 3
    cluster.start([2, 3], resume=True)
    run_heights(cluster, 3)
    assert_agreement(cluster)


def test_a_restarted_validator_resumes_past_its_last_round_with_its_lock() -> None:
    cluster = Cluster(4)
    cluster.start()
    cluster.deliver_all(drop=lambda src, dst, m: kind_of(m) is MessageKind.COMMIT)
    state = cluster.persisted[0]
    assert state is not None and state.prepared is not None and state.round == 0
    cluster.crash(0)
    cluster.start([0], resume=True)
    assert cluster.core(0).round == 1
    round_change = decode_message(cluster.sent[0][-1], CODEC)
    assert round_change.vote.kind is MessageKind.ROUND_CHANGE and round_change.vote.prepared_round == 0
    assert round_change.block == state.prepared.block


def test_a_validator_set_change_takes_effect_at_its_height() -> None:
    keys = signers(5)
    first = [k.address for k in keys[:4]]
    second = [k.address for k in keys[1:5]]
    cluster = Cluster(5, validators=lambda h: first if h < 3 else second)
    cluster.addresses = first
    cluster.start()
    run_heights(cluster, 4)
    assert_agreement(cluster)
    for commit in cluster.commits[1][2:4]:
        assert verify_commit_seals(commit.block_hash, commit.seals, second)
    removed = cluster.core(0)
    assert removed.height == 5 and keys[0].address not in removed.validators
    assert not any(kind_of(m) is MessageKind.PREPARE and decode_message(m, CODEC).vote.height >= 3
                   for m in cluster.sent[0])


def test_an_observer_finalizes_by_watching_but_never_votes() -> None:
    observer = PrivateKeySigner(keccak256(b"regulator"))
    cluster = Cluster(4, extra_signers=[observer])
    cluster.start()
    run_heights(cluster, 2)
    assert cluster.heights()[4] >= 2 and cluster.sent[4] == []
    assert_agreement(cluster)
