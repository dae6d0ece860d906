"""What reconciliation needs from a bank's books: one Protocol, so CSV, JSONL and SQL sources wire alike."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import polars as pl

from clearing.records import Record, frame_to_records

LINE_COLUMN = "_line"


class RejectCode(StrEnum):
    """Stable codes for why a books row was not reconciled as it stands."""

    BAD_ENCODING = "bad_encoding"
    BAD_JSON = "bad_json"
    EXTRA_FIELDS = "extra_fields"
    MISSING_FIELD = "missing_field"
    BAD_AMOUNT = "bad_amount"
    BAD_DATE = "bad_date"
    BAD_KIND = "bad_kind"
    BAD_SIGN = "bad_sign"
    BAD_TEXT = "bad_text"
    WRONG_BANK = "wrong_bank"
    DUPLICATE_KEY = "duplicate_key"


@dataclass(frozen=True, slots=True)
class Reject:
    """One bad row: where (line, or result row for SQL), why, and whether recon still saw it.

    `carried` is true for duplicate keys: the row is well formed, so it stays in the books and shows up
    as a DUPLICATE break; every other reject is left out of reconciliation.
    """

    line: int
    code: RejectCode
    reason: str
    key: str | None = None
    carried: bool = False


@dataclass(frozen=True)
class RawTable:
    """Source rows as text: one Utf8 column per source column plus `_line`; rejects found while reading."""

    frame: pl.DataFrame
    rejects: list[Reject] = field(default_factory=list)
    extra_column: str | None = None
    clean_text: bool = False  # the reader proved no value can hold a tab, newline or NUL


@dataclass(frozen=True)
class BooksLoad:
    """Normalized books: `frame` has RECORD_SCHEMA plus `line`; `rejects` sorted by line."""

    source: str
    frame: pl.DataFrame
    rejects: list[Reject]
    rows_read: int

    def records(self) -> Iterator[Record]:
        return frame_to_records(self.frame)

    @property
    def unreadable(self) -> list[Reject]:
        """Rejects whose rows reconciliation never saw."""
        return [r for r in self.rejects if not r.carried]


class BooksSource(Protocol):
    """A bank's books, read once per run into normalized records and rejects."""

    @property
    def name(self) -> str:
        """Where the books come from, for reports (a path or a URL without password)."""

    def load(self, bank: str) -> BooksLoad:
        """Read, parse and validate every row; bad rows become rejects, never exceptions."""
