"""The books fingerprint moves when a bank's books change: a rewritten export, new SQL rows."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from clearing.service.books_watch import books_fingerprint
from tests.clearing.factories import CSV_HEADER, write_mapping

SQL_MAPPING = """
[source]
table = "ledger"
[columns]
key = "ref_no"
kind = "record_type"
amount = "amount_fen"
value_date = "value_date"
[constants]
currency = "CNY"
"""


def test_a_rewritten_export_changes_the_fingerprint_even_at_the_same_size_and_time(tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path)
    books = tmp_path / "books.csv"
    books.write_text(CSV_HEADER + "E1,ENTRY,100.00,2026-11-02,POSTED,,MYBANK\n")
    first = books_fingerprint(str(books), mapping)
    stat = books.stat()
    books.write_text(CSV_HEADER + "E1,ENTRY,100.01,2026-11-02,POSTED,,MYBANK\n")
    os.utime(books, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime: only the content moved
    assert first is not None and books_fingerprint(str(books), mapping) != first
    assert books_fingerprint(str(books), mapping) == books_fingerprint(str(books), mapping)


def test_new_sql_rows_change_the_fingerprint_and_a_missing_source_has_none(tmp_path: Path) -> None:
    mapping = tmp_path / "sql.toml"
    mapping.write_text(SQL_MAPPING)
    db = tmp_path / "books.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE ledger (ref_no TEXT, record_type TEXT, amount_fen INTEGER, value_date TEXT)")
        conn.execute("INSERT INTO ledger VALUES ('E1', 'CLEARING_ENTRY', 100, '2026-11-02')")
    before = books_fingerprint(str(db), mapping)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO ledger VALUES ('E2', 'CLEARING_ENTRY', 200, '2026-11-02')")
    after = books_fingerprint(str(db), mapping)
    assert before == "sql:1:E1" and after == "sql:2:E2"
    assert books_fingerprint(str(tmp_path / "missing.csv"), write_mapping(tmp_path)) is None
