"""Hex quantity/data parsing follows geth's hexutil: strict prefix, digits, sizes; round-trips with formatting."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.errors import InvalidParams
from node.rpc.backend.api import CallRequest
from node.rpc.params import (
    BlockHashRef,
    format_data,
    format_quantity,
    parse_address,
    parse_block_id,
    parse_block_number,
    parse_block_ref,
    parse_bool,
    parse_call_object,
    parse_count,
    parse_data,
    parse_hash,
    parse_quantity,
    parse_storage_slot,
    parse_uint64,
    random_id,
)

ADDR = "0x" + "ab" * 20


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty hex string"),
        ("12", "without 0x prefix"),
        ("0x", 'hex string "0x"'),
        ("0x01", "leading zero digits"),
        ("0xg1", "invalid hex string"),
        ("0x1_0", "invalid hex string"),  # int(..., 16) would accept the underscore
        (" 0x1", "without 0x prefix"),
        ("0x1 ", "invalid hex string"),
        ("0x1\n", "invalid hex string"),  # a regex "$" would let the newline through
        (1, "got number"),
        (None, "got null"),
        (True, "got boolean"),
        (["0x1"], "got array"),
        ("0x1" + "0" * 64, "> 256 bits"),
    ],
)
def test_quantity_rejections_name_the_problem(value: object, reason: str) -> None:
    with pytest.raises(InvalidParams, match="invalid argument 0") as info:
        parse_quantity(value, "argument 0")
    assert reason in info.value.message
    assert info.value.rpc_code == -32602


def test_quantity_accepts_canonical_forms() -> None:
    assert parse_quantity("0x0", "q") == 0
    assert parse_quantity("0X1f", "q") == 31
    assert parse_quantity("0x" + "f" * 64, "q") == 2**256 - 1
    assert parse_uint64("0x" + "f" * 16, "q") == 2**64 - 1
    with pytest.raises(InvalidParams, match="> 64 bits"):
        parse_uint64("0x1" + "0" * 16, "q")


@given(st.integers(min_value=0, max_value=2**256 - 1))
def test_quantity_round_trips(number: int) -> None:
    assert parse_quantity(format_quantity(number), "q") == number


@given(st.binary(max_size=200))
def test_data_round_trips(data: bytes) -> None:
    assert parse_data(format_data(data), "d") == data


@given(st.text(max_size=20))
def test_arbitrary_text_is_parsed_or_rejected_cleanly(text: str) -> None:
    """Only InvalidParams may escape; anything else (ValueError from int(), say) would be a -32603."""
    for parse in (parse_quantity, parse_data, parse_address, parse_block_number, parse_storage_slot):
        with contextlib.suppress(InvalidParams):
            parse(text, "x")


def test_data_rules() -> None:
    assert parse_data("0x", "d") == b""
    with pytest.raises(InvalidParams, match="odd length"):
        parse_data("0xabc", "d")
    with pytest.raises(InvalidParams, match="invalid hex"):
        parse_data("0xzz", "d")
    with pytest.raises(InvalidParams, match="invalid hex"):
        parse_data("0xab\n", "d")
    with pytest.raises(InvalidParams, match="invalid hex"):
        parse_data("0xab cd", "d")  # bytes.fromhex would skip the space
    with pytest.raises(InvalidParams, match="exceeds 2 bytes"):
        parse_data("0xaabbcc", "d", max_size=2)


def test_address_and_hash_sizes() -> None:
    assert parse_address(ADDR, "a") == bytes.fromhex("ab" * 20)
    assert parse_address("0x" + "AB" * 20, "a") == bytes.fromhex("ab" * 20)
    with pytest.raises(InvalidParams, match="length 38, want 40"):
        parse_address("0x" + "ab" * 19, "a")
    with pytest.raises(InvalidParams, match="want 64"):
        parse_hash(ADDR, "h")
    assert parse_hash("0x" + "00" * 32, "h") == bytes(32)


def test_storage_slot_allows_padding_but_not_more_than_32_bytes() -> None:
    assert parse_storage_slot("0x0", "s") == 0
    assert parse_storage_slot("0x" + "0" * 63 + "5", "s") == 5
    with pytest.raises(InvalidParams, match="at most 64"):
        parse_storage_slot("0x" + "0" * 65, "s")


def test_block_numbers_and_tags() -> None:
    for tag in ("latest", "earliest", "pending", "safe", "finalized"):
        assert parse_block_number(tag, "b") == tag
    assert parse_block_number("0x10", "b") == 16
    assert parse_block_number("0X10", "b") == 16
    with pytest.raises(InvalidParams, match="unknown block tag 'Latest'"):
        parse_block_number("Latest", "b")
    with pytest.raises(InvalidParams, match="larger than int64"):
        parse_block_number(hex(2**63), "b")
    with pytest.raises(InvalidParams, match="got number"):
        parse_block_number(5, "b")


def test_eip1898_block_references() -> None:
    block_hash = "0x" + "cd" * 32
    assert parse_block_ref({"blockNumber": "0x2"}, "b") == 2
    assert parse_block_ref({"blockHash": block_hash}, "b") == BlockHashRef(bytes.fromhex("cd" * 32), False)
    assert parse_block_ref({"blockHash": block_hash, "requireCanonical": True}, "b").require_canonical
    for bad in ({}, {"blockNumber": "0x1", "blockHash": block_hash}, {"blockHash": "0x12"}, {"other": 1}):
        with pytest.raises(InvalidParams):
            parse_block_ref(bad, "b")


def test_bool_and_count() -> None:
    assert parse_bool(True, "f") is True
    with pytest.raises(InvalidParams, match="expected a boolean, got string"):
        parse_bool("true", "f")
    assert parse_count(4, "c") == parse_count("0x4", "c") == 4
    with pytest.raises(InvalidParams):
        parse_count(-1, "c")
    with pytest.raises(InvalidParams):
        parse_count(True, "c")


def test_call_object_is_normalised_and_checked() -> None:
    tx = parse_call_object(
        {"from": "0x" + "AA" * 20, "to": ADDR, "value": "0x10", "input": "0xABCD", "gas": "0x5208", "extra": 1},
        "argument 0",
    )
    assert tx == CallRequest(sender=b"\xaa" * 20, to=bytes.fromhex(ADDR[2:]), data=b"\xab\xcd", value=16, gas=21_000)
    assert parse_call_object({"to": None}, "a") == CallRequest()
    with pytest.raises(InvalidParams, match=r"argument 0\.to: hex string has length"):
        parse_call_object({"to": "0x12"}, "argument 0")
    with pytest.raises(InvalidParams, match="not equal"):
        parse_call_object({"data": "0x01", "input": "0x02"}, "a")
    with pytest.raises(InvalidParams, match="both gasPrice and"):
        parse_call_object({"gasPrice": "0x0", "maxFeePerGas": "0x0"}, "a")
    with pytest.raises(InvalidParams, match="expected a transaction object, got array"):
        parse_call_object([], "a")
    with pytest.raises(InvalidParams, match=r"accessList\[0\]\.storageKeys\[0\]"):
        parse_call_object({"accessList": [{"address": ADDR, "storageKeys": ["0x1"]}]}, "a")


def test_a_block_id_is_a_number_a_tag_a_bare_hash_or_an_eip1898_object() -> None:
    block_hash = "0x" + "ab" * 32
    assert parse_block_id(block_hash, "b") == BlockHashRef(b"\xab" * 32)
    assert parse_block_id({"blockHash": block_hash}, "b") == BlockHashRef(b"\xab" * 32)
    assert parse_block_id("0x10", "b") == 16 and parse_block_id("safe", "b") == "safe"
    with pytest.raises(InvalidParams):
        parse_block_id("0x" + "zz" * 32, "b")
    with pytest.raises(InvalidParams):
        parse_block_id("0x" + "ab" * 31, "b")  # 31 bytes: neither a hash nor a quantity without leading zeros


def test_random_ids_are_quantities_without_leading_zeros(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = {random_id() for _ in range(200)}
    assert len(ids) == 200 and all(i.startswith("0x") and i[2] != "0" for i in ids)
    monkeypatch.setattr("node.rpc.params.secrets.randbits", lambda bits: 0x0ABC)
    assert random_id() == "0xabc"
