from hypothesis import given, settings
from hypothesis import strategies as st

from network.qbft import PrivateKeySigner, make_commit_seal, seal_signer
from node.chain.commitment import StateCommitment, storage_digest, update_storage_digest
from node.chain.header import BlockHeader
from node.chain.state import AccountRecord
from tests.node.support import VALIDATOR

writes = st.lists(st.tuples(st.integers(0, 20), st.integers(0, 3)), max_size=60)


@settings(max_examples=200, deadline=None)
@given(writes)
def test_incremental_storage_digest_equals_from_scratch(ops):
    state: dict[int, int] = {}
    digest = 0
    for slot, value in ops:
        digest = update_storage_digest(digest, slot, state.get(slot, 0), value)
        state[slot] = value
    assert digest == storage_digest(state.items())


def test_commitment_ignores_empty_accounts_and_order():
    a, b = b"\x01" * 20, b"\x02" * 20
    one = StateCommitment([(a, AccountRecord(nonce=1)), (b, AccountRecord(nonce=2))])
    two = StateCommitment([(b, AccountRecord(nonce=2)), (a, AccountRecord(nonce=1)), (b"\x03" * 20, AccountRecord())])
    assert one.root() == two.root()
    preview = one.root_with([(a, AccountRecord(nonce=5))])
    assert preview != one.root()
    one.apply([(a, AccountRecord(nonce=5))])
    assert one.root() == preview


def test_header_roundtrip_and_seals_outside_the_hash():
    header = BlockHeader(3, b"\x01" * 32, 1_000, b"\x02" * 20, b"\x03" * 32, b"\x04" * 32, b"\x05" * 32, 10**9, 5, b"x")
    assert BlockHeader.decode(header.encode()) == header
    seal = make_commit_seal(header.hash(), PrivateKeySigner(VALIDATOR))
    assert len(seal) == 65
    assert seal_signer(header.hash(), seal) == PrivateKeySigner(VALIDATOR).address
    assert header.with_(extra_data=b"y").hash() != header.hash()
