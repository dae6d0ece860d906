"""SQL books adapters against real servers: sqlite3 file, PostgreSQL and MariaDB on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from clearing.books import BooksMapping, RejectCode, open_books
from clearing.errors import SourceUnavailable

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
MYSQL_URL = "mysql://root@127.0.0.1:3306/test"
ROWS = [
    ("E1", "CLEARING_ENTRY", Decimal("100.25"), dt.date(2026, 11, 2), "CONFIRMED"),
    ("E2", "CLEARING_ENTRY", Decimal("-3.10"), dt.date(2026, 11, 3), None),
    ("E3", "CLEARING_ENTRY", Decimal("0.001"), dt.date(2026, 11, 3), "CONFIRMED"),  # sub-fen: rejected
    ("E1", "CLEARING_ENTRY", Decimal("100.25"), dt.date(2026, 11, 2), "CONFIRMED"),  # duplicate key
    ("T1", "LOAN_TRANCHE", Decimal("5000.00"), dt.date(2026, 11, 1), "ACTIVE"),
]


def mapping_for(table: str) -> BooksMapping:
    return BooksMapping.from_dict(
        {
            "source": {"query": f"SELECT ref_no, record_type, amount, value_date, status FROM {table} ORDER BY seq"},
            "columns": {
                "key": "ref_no",
                "kind": "record_type",
                "amount": "amount",
                "value_date": "value_date",
                "status": "status",
            },
            "constants": {"currency": "CNY"},
            "format": {"amount_unit": "yuan"},
        }
    )


def fill(connect: Callable[[], Any], table: str, placeholder: str, seq_type: str) -> None:
    connection = connect()
    try:
        cursor = connection.cursor()
        cursor.execute(
            f"CREATE TABLE {table} (seq {seq_type}, ref_no VARCHAR(40), record_type VARCHAR(40),"
            f" amount NUMERIC(20, 3), value_date DATE, status VARCHAR(20))"
        )
        marks = ", ".join([placeholder] * 6)
        cursor.executemany(f"INSERT INTO {table} VALUES ({marks})", [(i, *row) for i, row in enumerate(ROWS)])
        connection.commit()
    finally:
        connection.close()


def drop(connect: Callable[[], Any], table: str) -> None:
    connection = connect()
    try:
        connection.cursor().execute(f"DROP TABLE IF EXISTS {table}")
        connection.commit()
    finally:
        connection.close()


def assert_loaded(url: str, table: str) -> None:
    loaded = open_books(url, mapping_for(table)).load("WEBANK")
    assert [(r.line, r.code) for r in loaded.rejects] == [(3, RejectCode.BAD_AMOUNT), (4, RejectCode.DUPLICATE_KEY)]
    rows = loaded.frame.select("key", "kind", "amount", "value_date", "status", "line").rows()
    assert rows == [
        ("E1", "CLEARING_ENTRY", 10025, dt.date(2026, 11, 2), "CONFIRMED", 1),
        ("E2", "CLEARING_ENTRY", -310, dt.date(2026, 11, 3), None, 2),
        ("E1", "CLEARING_ENTRY", 10025, dt.date(2026, 11, 2), "CONFIRMED", 4),
        ("T1", "LOAN_TRANCHE", 500000, dt.date(2026, 11, 1), "ACTIVE", 5),
    ]


def unique_table() -> str:
    return f"books_{uuid.uuid4().hex[:12]}"


def test_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "books.db"
    table = unique_table()
    # sqlite has no exact NUMERIC: a bank would store text or integer fen; text keeps this test exact
    connection = sqlite3.connect(path)
    connection.execute(
        f"CREATE TABLE {table} (seq INTEGER, ref_no TEXT, record_type TEXT, amount TEXT, value_date TEXT, status TEXT)"
    )
    connection.executemany(
        f"INSERT INTO {table} VALUES (?,?,?,?,?,?)",
        [(i, r[0], r[1], str(r[2]), r[3].isoformat(), r[4]) for i, r in enumerate(ROWS)],
    )
    connection.commit()
    connection.close()
    assert_loaded(str(path), table)
    assert_loaded(f"sqlite:///{path}", table)


@pytest.fixture
def postgres() -> Iterator[Callable[[], Any]]:
    psycopg = pytest.importorskip("psycopg")

    def connect() -> Any:
        return psycopg.connect(PG_URL, connect_timeout=5)

    try:
        connect().close()
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    yield connect


@pytest.fixture
def mariadb() -> Iterator[Callable[[], Any]]:
    pymysql = pytest.importorskip("pymysql")

    def connect() -> Any:
        return pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", database="test", connect_timeout=5)

    try:
        connect().close()
    except pymysql.err.OperationalError as exc:
        pytest.skip(f"MariaDB not reachable at {MYSQL_URL}: {exc}")
    yield connect


def test_postgresql(postgres: Callable[[], Any]) -> None:
    table = unique_table()
    fill(postgres, table, "%s", "INTEGER")
    try:
        assert_loaded(PG_URL, table)
    finally:
        drop(postgres, table)


def test_mariadb(mariadb: Callable[[], Any]) -> None:
    table = unique_table()
    fill(mariadb, table, "%s", "INTEGER")
    try:
        assert_loaded(MYSQL_URL, table)
    finally:
        drop(mariadb, table)


def test_float_columns_are_refused_as_amounts(postgres: Callable[[], Any]) -> None:
    table = unique_table()
    connection = postgres()
    try:
        connection.execute(
            f"CREATE TABLE {table} (seq INT, ref_no TEXT, record_type TEXT, amount DOUBLE PRECISION,"
            " value_date DATE, status TEXT)"
        )
        connection.execute(f"INSERT INTO {table} VALUES (1, 'E1', 'CLEARING_ENTRY', 0.1, '2026-11-02', 'OK')")
        connection.commit()
        loaded = open_books(PG_URL, mapping_for(table)).load("WEBANK")
        assert [(r.line, r.code) for r in loaded.rejects] == [(1, RejectCode.BAD_AMOUNT)]
        assert "float" in loaded.rejects[0].reason
    finally:
        connection.close()
        drop(postgres, table)


def test_unreachable_or_failing_source_is_a_coded_error(postgres: Callable[[], Any]) -> None:
    with pytest.raises(SourceUnavailable) as info:
        open_books(PG_URL, mapping_for("no_such_table_" + uuid.uuid4().hex[:8])).load("WEBANK")
    assert info.value.code == "clearing.books_unavailable"
    with pytest.raises(SourceUnavailable):
        open_books("mysql://root:secret@127.0.0.1:1/test", mapping_for("x")).load("WEBANK")
