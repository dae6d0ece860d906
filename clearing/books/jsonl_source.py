"""JSON Lines exports: one object per line; numbers are read as Decimal so no amount passes through float."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import polars as pl

from clearing.books.file_source import FileBooks, undecodable
from clearing.books.source import LINE_COLUMN, RawTable, Reject, RejectCode
from clearing.errors import SourceUnavailable


def value_text(value: object, date_format: str) -> str | None:
    """A source value as the text the normalizer parses; floats are marked so they fail as amounts."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return f"float:{value!r}"
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime(date_format)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, int | str):
        return str(value)
    return json.dumps(value, default=str)


def rows_to_raw(names: list[str], rows: list[list[str | None]], lines: list[int], rejects: list[Reject]) -> RawTable:
    """Column-wise text lists -> RawTable."""
    data: dict[str, list[str | None]] = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    frame = pl.DataFrame(data, schema={name: pl.Utf8 for name in names})
    frame = frame.with_columns(pl.Series(LINE_COLUMN, lines, dtype=pl.Int64))
    return RawTable(frame=frame, rejects=rejects)


class JsonlBooks(FileBooks):
    """A JSONL export; keys of each object are the mapping's column names."""

    def read_raw(self) -> RawTable:
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise SourceUnavailable(f"cannot read {self.path}: {exc}") from exc
        names = list(dict.fromkeys(self.mapping.columns.values()))
        rows: list[list[str | None]] = []
        lines: list[int] = []
        rejects: list[Reject] = []
        for number, raw_line in enumerate(data.split(b"\n"), start=1):
            if not raw_line.strip():
                continue
            try:
                text = raw_line.decode(self.mapping.encoding)
            except UnicodeDecodeError as exc:
                rejects.append(undecodable(number, exc, self.mapping.encoding))
                continue
            try:
                obj = json.loads(text, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                rejects.append(Reject(number, RejectCode.BAD_JSON, f"not JSON: {exc.msg} at column {exc.colno}"))
                continue
            if not isinstance(obj, dict):
                rejects.append(Reject(number, RejectCode.BAD_JSON, "line is not a JSON object"))
                continue
            rows.append([value_text(obj.get(name), self.mapping.date_format) for name in names])
            lines.append(number)
        return rows_to_raw(names, rows, lines, rejects)
