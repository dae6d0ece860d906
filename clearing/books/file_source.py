"""What the books exports in one file (CSV, JSONL) share: the path that names them, the mapping, loading as
normalizing what they read, and the reject for a line that does not decode."""

from __future__ import annotations

from pathlib import Path

from clearing.books.mapping import BooksMapping
from clearing.books.normalize import normalize
from clearing.books.source import BooksLoad, RawTable, Reject, RejectCode


class FileBooks:
    """A books export in one file; a subclass reads it as text columns (`read_raw`)."""

    def __init__(self, path: str | Path, mapping: BooksMapping) -> None:
        self.path = Path(path)
        self.mapping = mapping

    @property
    def name(self) -> str:
        return str(self.path)

    def read_raw(self) -> RawTable:
        raise NotImplementedError

    def load(self, bank: str) -> BooksLoad:
        return normalize(self.read_raw(), self.mapping, bank, self.name)


def undecodable(line: int, exc: UnicodeDecodeError, encoding: str) -> Reject:
    return Reject(line, RejectCode.BAD_ENCODING, f"bytes at offset {exc.start} are not valid {encoding}")
