"""The Python helpers refuse bad input with clear, typed errors instead of encoding garbage."""

from __future__ import annotations

import pytest

from contracts.abi import ContractCodec
from contracts.artifacts import load_artifact
from contracts.errors import BadArguments, UnknownEvent, UnknownFunction
from contracts.ids import borrower_hash, id_text, text_id
from tests.contracts.conftest import SHARES, loan_input


@pytest.fixture(scope="module")
def colending() -> ContractCodec:
    return ContractCodec(load_artifact("CoLending").abi, "CoLending")


def test_unknown_function(colending: ContractCodec) -> None:
    with pytest.raises(UnknownFunction, match="no function 'steal'"):
        colending.encode_call("steal")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "takes 1 argument"),
        (({"loanId": b"x"},), "missing fields"),
        ((dict(loan_input(text_id("L"), SHARES), extra=1),), "unknown fields"),
        ((dict(loan_input(text_id("L"), SHARES), loanId=b"short"),), "expected 32 bytes"),
        ((dict(loan_input(text_id("L"), SHARES), principal="lots"),), "principal"),
        ((dict(loan_input(text_id("L"), SHARES), tranches="all"),), "expected a list"),
        ((dict(loan_input(text_id("L"), SHARES), principal=-1),), "principal"),
    ],
)
def test_bad_arguments(colending: ContractCodec, args: tuple, message: str) -> None:
    with pytest.raises(BadArguments, match=message):
        colending.encode_call("registerLoan", *args)


def test_unknown_logs_and_errors(colending: ContractCodec) -> None:
    with pytest.raises(UnknownEvent):
        colending.decode_log([b"\0" * 32], b"")
    assert colending.decode_error(b"\xde\xad\xbe\xef") is None
    assert colending.decode_error(b"") is None


def test_ids_round_trip_and_refuse_bad_text() -> None:
    assert id_text(text_id("LN-2026-000123")) == "LN-2026-000123"
    assert id_text(b"\xff" * 32).startswith("0x")
    for bad in ["", "has space", "x" * 33, "中文"]:
        with pytest.raises(BadArguments):
            text_id(bad)


def test_borrower_hash_needs_a_real_salt() -> None:
    with pytest.raises(BadArguments):
        borrower_hash(b"short", "110101199001011234")
    salt = bytes(range(16))
    assert borrower_hash(salt, "110101199001011234") != borrower_hash(salt[::-1], "110101199001011234")
