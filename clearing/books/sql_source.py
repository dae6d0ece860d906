"""Books in a SQL database through DB-API: sqlite3, PostgreSQL (psycopg) and MariaDB/MySQL (pymysql) by URL.

URLs: sqlite:///path/to/file.db, postgresql://user@host:5432/db, mysql://user:pass@host:3306/db.
The mapping names the table or query. A reject's line is the 1-based row number in the query result, so
give the query an ORDER BY when those numbers must be stable.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from clearing.books.jsonl_source import rows_to_raw, value_text
from clearing.books.mapping import BooksMapping
from clearing.books.normalize import normalize
from clearing.books.source import BooksLoad, RawTable, Reject, RejectCode
from clearing.errors import SourceUnavailable, UnsupportedSource

FETCH_ROWS = 10_000
SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb")


def _connect_sqlite(url: str) -> Any:
    path = url.split(":", 1)[1]
    path = path[2:] if path.startswith("//") else path
    return sqlite3.connect(unquote(path))


def _connect_postgres(url: str) -> Any:
    import psycopg

    return psycopg.connect(url.replace("postgres://", "postgresql://", 1))


def _connect_mysql(url: str) -> Any:
    import pymysql

    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
        database=parts.path.lstrip("/") or None,
        charset="utf8mb4",
    )


CONNECTORS: dict[str, Callable[[str], Any]] = {
    "sqlite": _connect_sqlite,
    "postgresql": _connect_postgres,
    "postgres": _connect_postgres,
    "mysql": _connect_mysql,
    "mariadb": _connect_mysql,
}


def redact(url: str) -> str:
    """The URL without its password, for reports and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


class SqlBooks:
    """A table or query in a DB-API database."""

    def __init__(self, url: str, mapping: BooksMapping) -> None:
        scheme = url.split(":", 1)[0].lower()
        if scheme not in CONNECTORS:
            raise UnsupportedSource(f"no SQL adapter for scheme {scheme!r}; use one of {SQL_SCHEMES}")
        self.url = url
        self.mapping = mapping
        self._connect = CONNECTORS[scheme]

    @property
    def name(self) -> str:
        return redact(self.url)

    def read_raw(self) -> RawTable:
        query = self.mapping.sql()
        try:
            connection = self._connect(self.url)
        except Exception as exc:  # each driver has its own error tree; all mean the same here
            raise SourceUnavailable(f"cannot connect to {self.name}: {exc}") from exc
        try:
            cursor = connection.cursor()
            cursor.execute(query)
            names = [str(d[0]) for d in cursor.description]
            rows: list[list[str | None]] = []
            lines: list[int] = []
            rejects: list[Reject] = []
            number = 0
            while batch := cursor.fetchmany(FETCH_ROWS):
                for row in batch:
                    number += 1
                    try:
                        rows.append([value_text(v, self.mapping.date_format) for v in row])
                    except UnicodeDecodeError as exc:
                        rejects.append(Reject(number, RejectCode.BAD_ENCODING, f"undecodable bytes: {exc.reason}"))
                        continue
                    lines.append(number)
        except Exception as exc:
            raise SourceUnavailable(f"query failed on {self.name}: {exc}") from exc
        finally:
            connection.close()
        return rows_to_raw(names, rows, lines, rejects)

    def load(self, bank: str) -> BooksLoad:
        return normalize(self.read_raw(), self.mapping, bank, self.name)
