"""A bank's books as normalized records: CSV, JSONL and SQL adapters behind the `BooksSource` Protocol."""

from __future__ import annotations

from pathlib import Path

from clearing.books.csv_source import CsvBooks
from clearing.books.jsonl_source import JsonlBooks
from clearing.books.mapping import BooksMapping, load_mapping
from clearing.books.source import BooksLoad, BooksSource, Reject, RejectCode
from clearing.books.sql_source import SQL_SCHEMES, SqlBooks
from clearing.errors import UnsupportedSource

FILE_SUFFIXES = {
    ".csv": CsvBooks,
    ".tsv": CsvBooks,
    ".txt": CsvBooks,
    ".jsonl": JsonlBooks,
    ".ndjson": JsonlBooks,
}
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def open_books(location: str | Path, mapping: BooksMapping) -> BooksSource:
    """Pick the adapter from a URL scheme (sqlite, postgresql, mysql) or a file extension."""
    text = str(location)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in SQL_SCHEMES:
        return SqlBooks(text, mapping)
    suffix = Path(text).suffix.lower()
    if suffix in SQLITE_SUFFIXES:
        return SqlBooks(f"sqlite:///{Path(text).resolve()}", mapping)
    if suffix in FILE_SUFFIXES:
        return FILE_SUFFIXES[suffix](text, mapping)
    raise UnsupportedSource(f"cannot tell how to read books at {text!r} (extension or URL scheme)")


__all__ = [
    "BooksLoad",
    "BooksMapping",
    "BooksSource",
    "CsvBooks",
    "JsonlBooks",
    "Reject",
    "RejectCode",
    "SqlBooks",
    "load_mapping",
    "open_books",
]
