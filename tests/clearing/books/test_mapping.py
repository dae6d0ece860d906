from pathlib import Path

import pytest

from clearing.books import BooksMapping, load_mapping, open_books
from clearing.errors import MappingError, UnsupportedSource
from tests.clearing.factories import write_mapping


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"columns": {"key": "k", "amount": "a", "value_date": "d", "kind": "t"}}, "currency"),
        (
            {
                "columns": {"key": "k", "amount": "a", "value_date": "d", "kind": "t", "colour": "c"},
                "constants": {"currency": "CNY"},
            },
            "colour",
        ),
        (
            {
                "columns": {"key": "k", "amount": "a", "value_date": "d", "kind": "t"},
                "constants": {"currency": "CNY"},
                "format": {"amount_unit": "cents"},
            },
            "unit",
        ),
        (
            {
                "columns": {"key": "k", "amount": "a", "value_date": "d", "kind": "t"},
                "constants": {"currency": "CNY"},
                "source": {"table": "books; DROP TABLE x"},
            },
            "identifier",
        ),
    ],
)
def test_bad_mappings_are_refused_with_a_code(doc: dict, needle: str) -> None:
    with pytest.raises(MappingError) as info:
        BooksMapping.from_dict(doc)
    assert info.value.code == "clearing.bad_mapping"
    assert needle in info.value.message


def test_mapping_file_must_be_toml(tmp_path: Path) -> None:
    with pytest.raises(MappingError):
        load_mapping(write_mapping(tmp_path, "columns = ["))


def test_unknown_source_kind(tmp_path: Path) -> None:
    mapping = load_mapping(write_mapping(tmp_path))
    with pytest.raises(UnsupportedSource) as info:
        open_books(tmp_path / "books.xlsx", mapping)
    assert info.value.code == "clearing.unsupported_source"
