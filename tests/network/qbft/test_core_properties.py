"""Property: whatever the delivery order, losses and timer firings, no two blocks are final at one height."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from network.qbft import verify_commit_seals
from network.qbft.messages import MessageKind, decode_message
from tests.network.qbft.cluster import CODEC, Cluster


def kind_of(message: bytes) -> MessageKind:
    return decode_message(message, CODEC).vote.kind

STEPS = 400
HEIGHTS = 3


def _step(
    cluster: Cluster, rng: random.Random, loss: float, commit_loss: float = 0.0, timer_chance: float = 0.1
) -> None:
    """Deliver (or lose) one in-flight message picked at random, or fire a random validator's timer."""
    if cluster.queue and rng.random() >= timer_chance:
        src, dst, message = cluster.queue[rng.randrange(len(cluster.queue))]
        cluster.queue.remove((src, dst, message))
        lost = rng.random() < (commit_loss if kind_of(message) is MessageKind.COMMIT else loss)
        if not lost and dst not in cluster.down and cluster.cores[dst] is not None:
            cluster.perform(dst, cluster.core(dst).on_message(message))
    else:
        cluster.fire_timer(rng.randrange(cluster.size))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32),
    st.sampled_from([1, 4, 5, 7]),
    st.sampled_from([0.0, 0.1, 0.3]),
    st.sampled_from([0.0, 0.5, 0.8]),
)
def test_any_schedule_is_safe(seed: int, n: int, loss: float, commit_loss: float) -> None:
    """Losing COMMITs while PREPAREs get through is what makes the round-change lock matter."""
    rng = random.Random(seed)  # a seed, not st.randoms(): thousands of draws would exhaust hypothesis
    cluster = Cluster(n)
    cluster.build_limit = HEIGHTS
    cluster.start()
    for _ in range(STEPS):
        _step(cluster, rng, loss, commit_loss)
    for height in range(1, max(cluster.heights()) + 1):
        assert len(cluster.final_hashes(height)) == 1
    for commits in cluster.commits:
        for commit in commits:
            assert verify_commit_seals(commit.block_hash, commit.seals, cluster.addresses)
            assert commit.block.parent_hash == (commits[commit.block.height - 2].block_hash
                                                if commit.block.height > 1 else b"\x00" * 32)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from([4, 7]))
def test_once_timers_outlast_delivery_every_order_finalizes(seed: int, n: int) -> None:
    """Liveness needs eventual synchrony: here a timer fires only when nothing is in flight."""
    rng = random.Random(seed)
    cluster = Cluster(n)
    cluster.build_limit = HEIGHTS
    cluster.start()
    for _ in range(20 * STEPS):
        if min(cluster.heights()) >= HEIGHTS:
            break
        _step(cluster, rng, 0.0, timer_chance=0.0)
    assert min(cluster.heights()) >= HEIGHTS
