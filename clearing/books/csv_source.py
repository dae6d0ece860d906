"""CSV exports: one vectorised polars parse; encoding errors are found per line and rejected, not fatal.

Line numbers are physical lines (header = line 1), which holds as long as quoted fields do not span lines.
"""

from __future__ import annotations

import csv
import io
import mmap
import os
import re
from pathlib import Path

import polars as pl

from clearing.books.file_source import FileBooks, undecodable
from clearing.books.source import LINE_COLUMN, RawTable, Reject
from clearing.errors import BadHeader, SourceUnavailable

EXTRA_COLUMN = "_extra_fields"
HEADER_LINE = 1
NON_SPACE = re.compile(rb"\S")


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
            rejects.append(undecodable(number, exc, encoding))
    return b"\n".join(lines), rejects


def _clean_text(data: bytes | mmap.mmap, delimiter: str) -> bool:
    """True when no field can contain a tab, CR, LF or NUL: no quotes, so a field never spans delimiters."""
    tab_is_delimiter = delimiter == "\t"
    found = [data.find(c) >= 0 for c in (b'"', b"\x00", b"\r")]
    return not any(found) and (tab_is_delimiter or data.find(b"\t") < 0)


def _is_utf8(encoding: str) -> bool:
    return encoding.replace("-", "").replace("_", "").lower() == "utf8"


def _header(first_line: bytes, delimiter: str) -> list[str]:
    text = first_line.decode().lstrip("\ufeff").rstrip("\r")
    names = [h.strip() for h in next(csv.reader(io.StringIO(text), delimiter=delimiter), [])]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise BadHeader(f"the header repeats column(s) {repeated}", data=repeated)
    return names


class CsvBooks(FileBooks):
    """A CSV export with a header line.

    Fast path (UTF-8): polars parses the file straight from disk and validates the encoding; the file is
    only memory-mapped to read the header and look for quotes and control bytes. Any other encoding, or a
    UTF-8 file with bad bytes, takes the per-line path that rejects undecodable lines by number.
    """

    def read_raw(self) -> RawTable:
        try:
            with open(self.path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size and _is_utf8(self.mapping.encoding):
                    with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
                        table = self._read_utf8_file(view)
                    if table is not None:
                        return table
                data = self.path.read_bytes()
        except OSError as exc:
            raise SourceUnavailable(f"cannot read {self.path}: {exc}") from exc
        data, rejects = _decode_lines(data, self.mapping.encoding)
        header_end = data.find(b"\n")
        header = _header(data if header_end < 0 else data[:header_end], self.mapping.delimiter)
        body = b"" if header_end < 0 else data[header_end + 1 :]
        frame = self._parse(body if NON_SPACE.search(body) else None, header)
        return self._table(frame, rejects, _clean_text(data, self.mapping.delimiter))

    def _read_utf8_file(self, view: mmap.mmap) -> RawTable | None:
        """The fast path; None when the file is not valid UTF-8 after all."""
        header_end = view.find(b"\n")
        try:
            header = _header(view[: header_end if header_end >= 0 else len(view)], self.mapping.delimiter)
        except UnicodeDecodeError:
            return None
        has_rows = header_end >= 0 and NON_SPACE.search(view, header_end + 1) is not None
        try:
            frame = self._parse(self.path if has_rows else None, header)
        except pl.exceptions.ComputeError as exc:
            if "utf-8" in str(exc).lower():
                return None
            raise
        return self._table(frame, [], _clean_text(view, self.mapping.delimiter))

    def _parse(self, source: Path | bytes | None, header: list[str]) -> pl.DataFrame:
        schema = {name: pl.Utf8 for name in header}
        schema[EXTRA_COLUMN] = pl.Utf8
        if source is None:
            return pl.DataFrame(schema=schema)
        return pl.read_csv(
            source,
            has_header=False,
            skip_rows=1 if isinstance(source, Path) else 0,
            schema=schema,
            separator=self.mapping.delimiter,
            truncate_ragged_lines=True,
            infer_schema=False,
        )

    @staticmethod
    def _table(frame: pl.DataFrame, rejects: list[Reject], clean_text: bool) -> RawTable:
        frame = frame.with_row_index(LINE_COLUMN, offset=HEADER_LINE + 1).with_columns(pl.col(LINE_COLUMN).cast(pl.Int64))
        return RawTable(frame=frame, rejects=rejects, extra_column=EXTRA_COLUMN, clean_text=clean_text)
