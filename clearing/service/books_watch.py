"""Has the books source changed since the last run? A cheap fingerprint per kind of source.

Files: size, mtime and a SHA-256 of the content (a rewrite within the same second still differs).
SQL: the row count and the largest business key of the mapped table or query (new rows move one or both).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from clearing.books import SqlBooks, load_mapping, open_books
from clearing.errors import BooksError

CHUNK = 1 << 20


def file_fingerprint(path: Path) -> str:
    stat = path.stat()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return f"file:{stat.st_size}:{stat.st_mtime_ns}:{digest.hexdigest()}"


def sql_fingerprint(books: SqlBooks) -> str:
    key = books.mapping.columns.get("key")
    top = f"MAX({key})" if key and key.replace("_", "").isalnum() else "NULL"
    try:
        conn = books._connect(books.url)
    except Exception as exc:  # each driver has its own error tree
        raise BooksError(f"cannot connect to {books.name}: {exc}") from exc
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT COUNT(*), {top} FROM ({books.mapping.sql()}) books")
        count, largest = cur.fetchone()
    except Exception as exc:
        raise BooksError(f"cannot count rows on {books.name}: {exc}") from exc
    finally:
        conn.close()
    return f"sql:{count}:{largest}"


def books_fingerprint(source: str, mapping_path: Path) -> str | None:
    """None when the source cannot be read right now (a run would then report why)."""
    try:
        books = open_books(source, load_mapping(mapping_path))
        if isinstance(books, SqlBooks):
            return sql_fingerprint(books)
        return file_fingerprint(Path(source))
    except (OSError, BooksError):
        return None
