from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearing.books.amounts import AmountSyntaxError, amount_expr, parse_amount
from clearing.errors import MappingError


def vectorised(texts: list[str], unit: str) -> list[int | None]:
    return pl.DataFrame({"t": texts}, schema={"t": pl.Utf8}).select(amount_expr(pl.col("t"), unit)).to_series().to_list()


def scalar(text: str, unit: str) -> int | None:
    try:
        return parse_amount(text, unit)
    except AmountSyntaxError:
        return None


@pytest.mark.parametrize(
    ("text", "unit", "fen"),
    [
        ("123.45", "yuan", 12345),
        ("-0.5", "yuan", -50),
        ("7", "yuan", 700),
        ("+1.05", "yuan", 105),
        ("0.10", "yuan", 10),
        ("1.250", "yuan", 125),
        ("-2.5000", "yuan", -250),
        ("42", "fen", 42),
        ("-42", "fen", -42),
        ("9999999999999999.99", "yuan", 999999999999999999),
    ],
)
def test_exact_amounts(text: str, unit: str, fen: int) -> None:
    assert parse_amount(text, unit) == fen
    assert vectorised([text], unit) == [fen]


@pytest.mark.parametrize("text", ["1.234", "1.2501", "1e3", "1,000.00", "", "abc", "1.", ".5", "--1", "0x10", "NaN", " "])
def test_inexact_or_malformed_yuan_is_refused_by_both_paths(text: str) -> None:
    assert scalar(text, "yuan") is None
    assert vectorised([text], "yuan") == [None]


def test_fen_unit_refuses_decimals() -> None:
    assert scalar("1.00", "fen") is None
    assert vectorised(["1.00"], "fen") == [None]


@given(
    st.decimals(
        min_value=Decimal("-99999999999.99"), max_value=Decimal("99999999999.99"), places=2, allow_nan=False, allow_infinity=False
    )
)
def test_vectorised_parse_agrees_with_decimal(value: Decimal) -> None:
    text = format(value, "f")
    assert vectorised([text], "yuan") == [scalar(text, "yuan")] == [int(value * 100)]


@given(st.text(alphabet="0123456789.-+e, ", max_size=12))
def test_paths_agree_on_arbitrary_text(text: str) -> None:
    stripped = text.strip()
    assert vectorised([stripped], "yuan") == [scalar(stripped, "yuan")]
    assert vectorised([stripped], "fen") == [scalar(stripped, "fen")]


def test_unknown_unit_is_a_mapping_error() -> None:
    with pytest.raises(MappingError):
        parse_amount("1", "dollars")
