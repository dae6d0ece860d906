import pytest

from network.qbft import ResumeState, decode_resume_state, encode_resume_state
from network.qbft.errors import MalformedMessage
from network.qbft.messages import MessageKind
from tests.network.qbft.cluster import Cluster
from tests.network.qbft.test_core import kind_of


def test_a_locked_resume_state_survives_its_durable_form() -> None:
    cluster = Cluster(4)
    cluster.start()
    cluster.deliver_all(drop=lambda src, dst, m: kind_of(m) is MessageKind.COMMIT)
    state = cluster.persisted[0]
    assert state is not None and state.prepared is not None and len(state.prepared.prepares) >= 3
    assert decode_resume_state(encode_resume_state(state)) == state


def test_an_unlocked_resume_state_round_trips() -> None:
    state = ResumeState(height=7, round=3, prepared=None)
    assert decode_resume_state(encode_resume_state(state)) == state


@pytest.mark.parametrize("garbage", [b"", b"\x80", b"\xc3\x01\x02\x03\x04", b"\xc3\x00\x01\xc0"])
def test_garbage_is_not_a_resume_state(garbage: bytes) -> None:
    with pytest.raises(MalformedMessage):
        decode_resume_state(garbage)
