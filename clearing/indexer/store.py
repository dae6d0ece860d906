"""The query index the chain follower fills: normalized on-chain records in LevelDB, read per bank in bulk.

Key layout (all text UTF-8, SEP = NUL, which records never contain; BLOCK = 8-byte big-endian number):
  m/last_block                                  -> BLOCK of the last block fully applied (the resume cursor)
  r/<bank>SEP<kind>SEP<key>                     -> BLOCK + line: latest version of one record (point reads)
  c/<bank>SEP<BLOCK>[<SEQ>]                     -> lines: that bank's records as written by that block
                                                  (compaction writes numbered chunks at the last block)
  t/<bank>SEP<BLOCK><kind>SEP<key>              -> "" : tombstone, the version in chunk BLOCK is superseded
  x/<dim>SEP<value>SEP<bank>SEP<kind>SEP<key>   -> "" : secondary keys, dim in SECONDARY_DIMS
Reading by bank is a prefix scan of r/ (points) or c/ (bulk). A line is the record as tab-separated text
(None as empty, date as days since 1970-01-01), so a bank's chunks concatenate into one buffer that polars
parses in a single vectorised pass. Measured on 1M records: one value per record took ~1 s to iterate and
~0.8 s more to join and parse; one Arrow IPC chunk per block ~0.7 ms per chunk to open in polars (0.7 s);
chunks of lines ~0.2 s to iterate and ~0.3 s to parse. Everything a block changes, cursor included, goes in
one atomic write batch, so a crash leaves the old cursor or the new one, and re-applying a block at or
below the cursor is a no-op (exact resume, idempotent replay).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import plyvel
import polars as pl

from clearing.errors import CorruptIndex, IndexStoreError
from clearing.records import RECORD_COLUMNS, Record, RecordKind, empty_record_frame

SEP = b"\x00"
LAST_BLOCK_KEY = b"m/last_block"
PRIMARY = b"r/"
CHUNK = b"c/"
TOMBSTONE = b"t/"
SECONDARY = b"x/"
BLOCK_BYTES = 8
EPOCH = dt.date(1970, 1, 1)
SECONDARY_DIMS = ("counterparty", "loan", "cycle", "entry", "value_date")
LINE_COLUMNS: tuple[str, ...] = (
    "kind",
    "key",
    "counterparty",
    "loan_id",
    "cycle_id",
    "amount",
    "currency",
    "value_days",
    "status",
    "reference",
    "_block",
)
LINE_SCHEMA: dict[str, pl.DataType] = {
    name: (pl.Int64() if name in ("amount", "value_days", "_block") else pl.Utf8()) for name in LINE_COLUMNS
}


def _block_bytes(number: int) -> bytes:
    return number.to_bytes(BLOCK_BYTES, "big")


def _text(value: str | None) -> str:
    return "" if value is None else value


def encode_line(record: Record, block: int) -> bytes:
    """The record as one tab-separated line (without bank, which the key prefix carries)."""
    parts = (
        record.kind.value,
        record.key,
        _text(record.counterparty),
        _text(record.loan_id),
        _text(record.cycle_id),
        str(record.amount),
        record.currency,
        str((record.value_date - EPOCH).days),
        _text(record.status),
        _text(record.reference),
        str(block),
    )
    return "\t".join(parts).encode()


def decode_line(bank: str, line: bytes) -> Record:
    """Inverse of `encode_line` for point reads."""
    try:
        kind, key, cpty, loan, cycle, amount, ccy, days, status, ref, _block = line.decode().split("\t")
        return Record(
            kind=RecordKind(kind),
            key=key,
            bank=bank,
            counterparty=cpty or None,
            loan_id=loan or None,
            cycle_id=cycle or None,
            amount=int(amount),
            currency=ccy,
            value_date=EPOCH + dt.timedelta(days=int(days)),
            status=status or None,
            reference=ref or None,
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptIndex(f"undecodable record line {line[:80]!r}") from exc


def _primary_key(bank: str, kind: str, key: str) -> bytes:
    return PRIMARY + SEP.join((bank.encode(), kind.encode(), key.encode()))


def _secondary_values(record: Record) -> Iterator[tuple[str, str]]:
    if record.counterparty:
        yield "counterparty", record.counterparty
    if record.loan_id:
        yield "loan", record.loan_id
    if record.cycle_id:
        yield "cycle", record.cycle_id
    if record.kind is RecordKind.CLEARING_ENTRY:
        yield "entry", record.key
    yield "value_date", record.value_date.isoformat()


def _secondary_keys(record: Record) -> Iterator[bytes]:
    tail = SEP.join((record.bank.encode(), record.kind.value.encode(), record.key.encode()))
    for dim, value in _secondary_values(record):
        yield SECONDARY + dim.encode() + SEP + value.encode() + SEP + tail


class IndexStore:
    """One LevelDB directory; safe for one writer (the indexer) and readers in the same process."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        try:
            self._db = plyvel.DB(str(path), create_if_missing=create)
        except plyvel.Error as exc:
            raise IndexStoreError(f"cannot open index at {path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> IndexStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def last_block(self) -> int | None:
        """The resume cursor: the follower continues at last_block + 1 (None: nothing applied yet)."""
        raw = self._db.get(LAST_BLOCK_KEY)
        return None if raw is None else int.from_bytes(raw, "big")

    def apply_block(self, number: int, records: Iterable[Record]) -> bool:
        """Write one block's records and advance the cursor atomically; False if already applied."""
        last = self.last_block()
        if last is not None and number <= last:
            return False
        if number < 0:
            raise IndexStoreError(f"block number must be >= 0, got {number}")
        latest: dict[tuple[str, str, str], Record] = {}
        for record in records:
            latest[record.uid] = record
        chunks: dict[str, list[bytes]] = {}
        with self._db.write_batch(transaction=True) as batch:
            for (bank, kind, key), record in latest.items():
                primary = _primary_key(bank, kind, key)
                line = encode_line(record, number)
                old = self._db.get(primary)
                if old is not None:
                    old_block = int.from_bytes(old[:BLOCK_BYTES], "big")
                    previous = decode_line(bank, old[BLOCK_BYTES:])
                    if previous == record:
                        continue  # same content again: nothing changes, not even the chunk
                    for stale in _secondary_keys(previous):
                        batch.delete(stale)
                    batch.put(
                        TOMBSTONE + bank.encode() + SEP + _block_bytes(old_block) + kind.encode() + SEP + key.encode(),
                        b"",
                    )
                batch.put(primary, _block_bytes(number) + line)
                for secondary in _secondary_keys(record):
                    batch.put(secondary, b"")
                chunks.setdefault(bank, []).append(line)
            for bank, lines in chunks.items():
                batch.put(CHUNK + bank.encode() + SEP + _block_bytes(number), b"\n".join(lines))
            batch.put(LAST_BLOCK_KEY, _block_bytes(number))
        return True

    def get(self, bank: str, kind: RecordKind | str, key: str) -> Record | None:
        raw = self._db.get(_primary_key(bank, str(kind), key))
        return None if raw is None else decode_line(bank, raw[BLOCK_BYTES:])

    def scan(
        self,
        bank: str,
        kind: RecordKind,
        *,
        after: str | None = None,
        limit: int = 50,
        where: Callable[[Record], bool] | None = None,
        max_scan: int = 100_000,
    ) -> tuple[list[Record], str | None]:
        """One page of a bank's records of one kind in key order, for cursor paging: (records, next cursor).

        `after` is the last key of the previous page; `where` filters; at most `max_scan` records are read
        per page, so a rare filter value returns a short page with a cursor rather than a long wait.
        """
        prefix = _primary_key(bank, kind.value, "")
        start = prefix + after.encode() + b"\x00" if after is not None else prefix
        found: list[Record] = []
        last_key: str | None = None
        rows = self._db.iterator(start=start, stop=prefix[:-1] + bytes([prefix[-1] + 1]), include_key=False)
        for scanned, value in enumerate(rows, start=1):
            record = decode_line(bank, value[BLOCK_BYTES:])
            last_key = record.key
            if where is None or where(record):
                found.append(record)
                if len(found) == limit:
                    break
            if scanned >= max_scan:
                break
        else:
            return found, None
        return found, last_key

    def find(self, dim: str, value: str, *, bank: str | None = None) -> list[Record]:
        """Records by a secondary key (counterparty, loan, cycle, entry, value_date as ISO date)."""
        if dim not in SECONDARY_DIMS:
            raise IndexStoreError(f"unknown secondary key {dim!r}; one of {SECONDARY_DIMS}")
        prefix = SECONDARY + dim.encode() + SEP + value.encode() + SEP
        if bank is not None:
            prefix += bank.encode() + SEP
        found = []
        for key in self._db.iterator(prefix=prefix, include_value=False):
            rec_bank, kind, rec_key = key[len(SECONDARY) + len(dim) + 1 + len(value.encode()) + 1 :].split(SEP, 2)
            record = self.get(rec_bank.decode(), kind.decode(), rec_key.decode())
            if record is None:
                raise CorruptIndex(f"secondary key without its record: {key!r}")
            found.append(record)
        return found

    def banks(self) -> list[str]:
        """Banks that have at least one record."""
        seen: list[str] = []
        iterator = self._db.iterator(prefix=CHUNK, include_value=False)
        for key in iterator:
            bank = key[len(CHUNK) :].split(SEP, 1)[0].decode()
            if not seen or seen[-1] != bank:
                seen.append(bank)
        return seen

    def bank_frame(self, bank: str) -> pl.DataFrame:
        """All current records of one bank as a RECORD_SCHEMA frame, in one vectorised parse."""
        prefix = CHUNK + bank.encode() + SEP
        buffer = b"\n".join(self._db.iterator(prefix=prefix, include_key=False))
        if not buffer:
            return empty_record_frame()
        try:
            lines = pl.read_csv(
                buffer,
                has_header=False,
                separator="\t",
                quote_char=None,
                schema=LINE_SCHEMA,
            )
        except pl.exceptions.PolarsError as exc:
            raise CorruptIndex(f"undecodable chunk for bank {bank}: {exc}") from exc
        stale = self._tombstones(bank)
        if stale is not None:
            lines = lines.join(stale, on=["_block", "kind", "key"], how="anti")
        return lines.select(
            pl.col("kind"),
            pl.col("key"),
            pl.lit(bank, pl.Utf8).alias("bank"),
            pl.col("counterparty"),
            pl.col("loan_id"),
            pl.col("cycle_id"),
            pl.col("amount"),
            pl.col("currency"),
            pl.col("value_days").cast(pl.Int32).cast(pl.Date).alias("value_date"),
            pl.col("status"),
            pl.col("reference"),
        ).select(RECORD_COLUMNS)

    def compact(self, bank: str, *, lines_per_chunk: int = 50_000) -> int:
        """Rewrite one bank's chunks without superseded versions; returns how many versions were dropped.

        Updates leave old versions in their chunks (masked by tombstones), so reads slow down as history
        grows; compaction restores one line per record. It runs in one write batch, like a block.
        """
        tomb_prefix = TOMBSTONE + bank.encode() + SEP
        dropped = sum(1 for _ in self._db.iterator(prefix=tomb_prefix, include_value=False))
        last = self.last_block()
        if not dropped or last is None:
            return 0
        stamp = _block_bytes(last)
        chunk_prefix = CHUNK + bank.encode() + SEP
        with self._db.write_batch(transaction=True) as batch:
            for key in self._db.iterator(prefix=chunk_prefix, include_value=False):
                batch.delete(key)
            for key in self._db.iterator(prefix=tomb_prefix, include_value=False):
                batch.delete(key)
            lines: list[bytes] = []
            sequence = 0
            for key, value in self._db.iterator(prefix=PRIMARY + bank.encode() + SEP):
                line = value[BLOCK_BYTES:].rsplit(b"\t", 1)[0] + b"\t" + str(last).encode()
                batch.put(key, stamp + line)
                lines.append(line)
                if len(lines) == lines_per_chunk:
                    batch.put(chunk_prefix + stamp + sequence.to_bytes(4, "big"), b"\n".join(lines))
                    lines, sequence = [], sequence + 1
            if lines:
                batch.put(chunk_prefix + stamp + sequence.to_bytes(4, "big"), b"\n".join(lines))
        return dropped

    def settle(self) -> None:
        """Have LevelDB compact its files now (after a bulk load), rather than in the background during reads."""
        self._db.compact_range()

    def _tombstones(self, bank: str) -> pl.DataFrame | None:
        prefix = TOMBSTONE + bank.encode() + SEP
        blocks: list[int] = []
        kinds: list[str] = []
        keys: list[str] = []
        for key in self._db.iterator(prefix=prefix, include_value=False):
            rest = key[len(prefix) :]
            kind, rec_key = rest[BLOCK_BYTES:].split(SEP, 1)
            blocks.append(int.from_bytes(rest[:BLOCK_BYTES], "big"))
            kinds.append(kind.decode())
            keys.append(rec_key.decode())
        if not blocks:
            return None
        return pl.DataFrame(
            {"_block": blocks, "kind": kinds, "key": keys},
            schema={"_block": pl.Int64, "kind": pl.Utf8, "key": pl.Utf8},
        )
