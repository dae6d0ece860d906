"""The column-mapping file (TOML): which source column feeds which record field, and how to parse it.

    [source]            # all optional
    encoding = "utf-8"  # text encoding of CSV/JSONL exports (e.g. "gb18030")
    delimiter = ","     # CSV only
    table = "loan_book" # SQL: read the whole table ...
    query = "SELECT ..."# ... or run this query (takes precedence)
    [columns]           # record field -> column (CSV header / JSON key / SQL column)
    key = "entry_ref"
    amount = "amount"
    [constants]         # record field -> the same text for every row (e.g. bank, currency, kind)
    currency = "CNY"
    [values.kind]       # per field: source value -> record value
    TRANCHE = "LOAN_TRANCHE"
    [format]
    date = "%Y-%m-%d"   # strptime format of value_date
    amount_unit = "yuan" # "fen" (integer) or "yuan" (at most two decimals, parsed exactly)

kind, key, amount, currency and value_date must each come from a column or a constant; bank defaults to the
bank being reconciled.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clearing.books.amounts import check_unit
from clearing.errors import MappingError
from clearing.records import RECORD_COLUMNS

REQUIRED_FIELDS = ("kind", "key", "amount", "currency", "value_date")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


@dataclass(frozen=True)
class BooksMapping:
    columns: dict[str, str]
    constants: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    date_format: str = "%Y-%m-%d"
    amount_unit: str = "fen"
    encoding: str = "utf-8"
    delimiter: str = ","
    table: str | None = None
    query: str | None = None

    def __post_init__(self) -> None:
        for name in (*self.columns, *self.constants, *self.values):
            if name not in RECORD_COLUMNS:
                raise MappingError(f"unknown record field {name!r}; fields are {RECORD_COLUMNS}")
        for name in REQUIRED_FIELDS:
            if name not in self.columns and name not in self.constants:
                raise MappingError(f"field {name!r} needs a column or a constant")
        if "amount" in self.constants or "value_date" in self.constants:
            raise MappingError("amount and value_date must come from columns")
        check_unit(self.amount_unit)
        if len(self.delimiter) != 1:
            raise MappingError("delimiter must be one character")
        if self.table is not None and not IDENTIFIER.match(self.table):
            raise MappingError(f"table must be a plain identifier, got {self.table!r}")
        try:
            "".encode(self.encoding)
        except LookupError as exc:
            raise MappingError(f"unknown encoding {self.encoding!r}") from exc

    def sql(self) -> str:
        if self.query:
            return self.query
        if self.table:
            return f"SELECT * FROM {self.table}"
        raise MappingError("a SQL source needs [source] table or query in the mapping")

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> BooksMapping:
        source = doc.get("source", {})
        fmt = doc.get("format", {})
        try:
            return cls(
                columns={str(k): str(v) for k, v in doc.get("columns", {}).items()},
                constants={str(k): str(v) for k, v in doc.get("constants", {}).items()},
                values={str(f): {str(k): str(v) for k, v in m.items()} for f, m in doc.get("values", {}).items()},
                date_format=str(fmt.get("date", "%Y-%m-%d")),
                amount_unit=str(fmt.get("amount_unit", "fen")),
                encoding=str(source.get("encoding", "utf-8")),
                delimiter=str(source.get("delimiter", ",")),
                table=source.get("table"),
                query=source.get("query"),
            )
        except (AttributeError, TypeError) as exc:
            raise MappingError(f"malformed mapping: {exc}") from exc


def load_mapping(path: str | Path) -> BooksMapping:
    """Read and validate a mapping TOML file."""
    try:
        with open(path, "rb") as handle:
            doc = tomllib.load(handle)
    except OSError as exc:
        raise MappingError(f"cannot read mapping {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"mapping {path} is not valid TOML: {exc}") from exc
    return BooksMapping.from_dict(doc)
