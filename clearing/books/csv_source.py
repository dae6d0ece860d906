"""CSV exports: one vectorised polars parse; encoding errors are found per line and rejected, not fatal.

Line numbers are physical lines (header = line 1), which holds as long as quoted fields do not span lines.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from clearing.books.mapping import BooksMapping
from clearing.books.normalize import normalize
from clearing.books.source import LINE_COLUMN, BooksLoad, RawTable, Reject, RejectCode
from clearing.errors import SourceUnavailable

EXTRA_COLUMN = "_extra_fields"
HEADER_LINE = 1


def _decode_lines(data: bytes, encoding: str) -> tuple[bytes, list[Reject]]:
    """UTF-8 bytes for polars; lines that do not decode are blanked and rejected with their number."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        pass
    else:
        return (data if encoding.replace("-", "").lower() == "utf8" else text.encode()), []
    rejects: list[Reject] = []
    lines = data.split(b"\n")
    for number, line in enumerate(lines, start=1):
        try:
            lines[number - 1] = line.decode(encoding).encode()
        except UnicodeDecodeError as exc:
            lines[number - 1] = b""
            rejects.append(
                Reject(
                    line=number,
                    code=RejectCode.BAD_ENCODING,
                    reason=f"bytes at offset {exc.start} are not valid {encoding}",
                )
            )
    return b"\n".join(lines), rejects


def _clean_text(data: bytes, delimiter: str) -> bool:
    """True when no field can contain a tab, CR, LF or NUL: no quotes, so a field never spans delimiters."""
    tab_is_delimiter = delimiter == "\t"
    return not any(c in data for c in (b'"', b"\x00", b"\r")) and (tab_is_delimiter or b"\t" not in data)


class CsvBooks:
    """A CSV export with a header line."""

    def __init__(self, path: str | Path, mapping: BooksMapping) -> None:
        self.path = Path(path)
        self.mapping = mapping

    @property
    def name(self) -> str:
        return str(self.path)

    def read_raw(self) -> RawTable:
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise SourceUnavailable(f"cannot read {self.path}: {exc}") from exc
        data, rejects = _decode_lines(data, self.mapping.encoding)
        header_end = data.find(b"\n")
        header_text = (data if header_end < 0 else data[:header_end]).decode().lstrip("\ufeff").rstrip("\r")
        header = next(csv.reader(io.StringIO(header_text), delimiter=self.mapping.delimiter), [])
        header = [h.strip() for h in header]
        schema = {name: pl.Utf8 for name in header}
        schema[EXTRA_COLUMN] = pl.Utf8
        body = b"" if header_end < 0 else data[header_end + 1 :]
        if body.strip():
            frame = pl.read_csv(
                body,
                has_header=False,
                schema=schema,
                separator=self.mapping.delimiter,
                truncate_ragged_lines=True,
                infer_schema=False,
            )
        else:
            frame = pl.DataFrame(schema=schema)
        frame = frame.with_row_index(LINE_COLUMN, offset=HEADER_LINE + 1).with_columns(pl.col(LINE_COLUMN).cast(pl.Int64))
        return RawTable(
            frame=frame, rejects=rejects, extra_column=EXTRA_COLUMN, clean_text=_clean_text(data, self.mapping.delimiter)
        )

    def load(self, bank: str) -> BooksLoad:
        return normalize(self.read_raw(), self.mapping, bank, self.name)
