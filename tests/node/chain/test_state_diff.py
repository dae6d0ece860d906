from hypothesis import given, settings
from hypothesis import strategies as st

from node.chain.commitment import storage_digest
from node.chain.state import EMPTY_CODE_HASH, AccountRecord, TouchedAccount, diff_from_changes

A, B = b"\x01" * 20, b"\x02" * 20
blocks = st.lists(st.lists(st.tuples(st.sampled_from([A, B]), st.integers(0, 12), st.integers(0, 3)), max_size=25),
                  max_size=8)


@settings(max_examples=200, deadline=None)
@given(blocks)
def test_block_diffs_keep_storage_digests_equal_to_from_scratch(writes_per_block):
    """Each block's (old, new) slot changes, summed into the digests, match the digest of the whole storage."""
    storage: dict[tuple[bytes, int], int] = {}
    accounts: dict[bytes, AccountRecord] = {}
    for writes in writes_per_block:
        changes: dict[tuple[bytes, int], tuple[int, int]] = {}
        for address, slot, value in writes:  # the last write of a slot in a block wins; first value is block start
            old = changes[(address, slot)][0] if (address, slot) in changes else storage.get((address, slot), 0)
            changes[(address, slot)] = (old, value)
        touched = {a: TouchedAccount(1, 0, EMPTY_CODE_HASH) for a, _ in changes}
        diff = diff_from_changes(touched, changes, {}, lambda a: accounts.get(a, AccountRecord()))
        assert diff.storage == {k: new for k, (old, new) in changes.items() if old != new}
        storage.update(diff.storage)
        accounts.update(diff.accounts)
        for address in (A, B):
            expected = storage_digest((s, v) for (a, s), v in storage.items() if a == address)
            assert accounts.get(address, AccountRecord()).storage_digest == expected
