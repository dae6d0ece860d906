import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st

from node.chain.receipt import Log, Receipt
from node.chain.state import AccountRecord, StateDiff
from node.errors import MalformedRlp
from node.rlp_codec import decode, encode, encode_bytes, encode_uint

items = st.recursive(st.binary(max_size=80) | st.integers(0, 2**256 - 1), lambda inner: st.lists(inner, max_size=6),
                     max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(items)
def test_same_bytes_as_pyrlp(item):
    assert encode(item) == rlp.encode(item)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 2**256 - 1))
def test_typed_encoders_give_the_same_bytes(data, number):
    assert encode_bytes(data) == rlp.encode(data) and encode_uint(number) == rlp.encode(number)


def test_typed_encoders_refuse_negative_integers():
    with pytest.raises(ValueError):
        encode_uint(-1)


@settings(max_examples=300, deadline=None)
@given(items)
def test_decode_reads_back_what_pyrlp_encodes(item):
    encoded = rlp.encode(item)
    assert decode(encoded) == rlp.decode(encoded, strict=True)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=70) | items.map(rlp.encode).flatmap(
    lambda b: st.tuples(st.integers(0, max(0, len(b) - 1)), st.integers(0, 255)).map(
        lambda edit: b[: edit[0]] + bytes([edit[1]]) + b[edit[0] + 1 :])))
def test_decode_accepts_and_refuses_exactly_what_strict_pyrlp_does(data):
    """Random and one-byte-mutated encodings: same item, or both refuse (non-canonical, truncated, trailing)."""
    try:
        expected = rlp.decode(data, strict=True)
    except Exception:
        with pytest.raises(MalformedRlp):
            decode(data)
    else:
        assert decode(data) == expected


@pytest.mark.parametrize("data", [b"", b"\x81\x05", b"\xb8\x05abcde", b"\xb9\x00\x40" + b"x" * 64, b"\x83ab",
                                  b"\xc2\x01", b"\x01\x02", b"\xf8\x02\x01\x02"])
def test_decode_refuses_non_canonical_and_truncated_input(data):
    with pytest.raises(MalformedRlp):
        decode(data)


def test_receipt_encoding_matches_its_fields():
    logs = (Log(b"\x01" * 20, (b"\x02" * 32, b"\x03" * 32), b"x" * 100), Log(b"\x01" * 20, (), b""))
    for receipt in (Receipt(1, 50_000, 90_000, logs, None), Receipt(0, 1, 2, (), b"\x05" * 20, b"\x08\xc3")):
        assert receipt.encode() == rlp.encode(receipt.fields())
        assert Receipt.from_fields(rlp.decode(receipt.encode())) == receipt


slots = st.dictionaries(st.tuples(st.sampled_from([b"\x01" * 20, b"\xff" * 20, b"\x00" * 19 + b"\x01", b"\x02" * 3]),
                                  st.integers(0, 2**256 - 1) | st.integers(0, 300)),
                        st.integers(0, 2**256 - 1) | st.integers(0, 300), max_size=20)


@settings(max_examples=300, deadline=None)
@given(slots)
def test_state_diff_encoding_is_sorted_rlp(storage):
    diff = StateDiff({b"\x01" * 20: AccountRecord(nonce=1, storage_digest=5)}, storage, {b"\x07" * 32: b"\x60" * 70})
    expected = rlp.encode([[[a, diff.accounts[a].encode()] for a in sorted(diff.accounts)],
                           [[a, s, v] for (a, s), v in sorted(storage.items())],
                           [[h, diff.codes[h]] for h in sorted(diff.codes)]])
    assert diff.encode() == expected
    assert StateDiff.decode(expected) == diff
