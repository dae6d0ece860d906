"""LevelDB (plyvel) chain store. Each block lands in ONE synced write batch (block, txs, receipts, logs
index, state diff, state rows, the pool journal's records and the head pointer), so after a crash the head is
the old block or the new one, never half of either; the state rows always belong to the head, and a tx is in
the journal or in a block, never in both."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import plyvel
import rlp

from node.chain.block import Block
from node.chain.header import BlockHeader
from node.chain.receipt import Receipt
from node.chain.state import AccountRecord, StateDiff
from node.errors import StoreCorrupted
from node.rlp_codec import decode as rlp_decode
from node.rlp_codec import encode as rlp_encode
from node.rlp_codec import encode_bytes, encode_list_of_encoded, encode_uint
from node.store import keys
from node.tx.decode import DecodeLimits, decode_transaction
from node.tx.model import Transaction

_int = rlp.sedes.big_endian_int.deserialize
JournalOp = tuple[int, bytes | None]  # a pool journal record to put (sequence number, record) or delete (seq, None)


@dataclass(frozen=True, slots=True)
class StoredTx:
    tx: Transaction
    block_number: int
    index: int
    receipt: Receipt
    first_log_index: int


class ChainStore:
    def __init__(self, path: str, limits: DecodeLimits | None = None) -> None:
        self._db = plyvel.DB(path, create_if_missing=True)
        self.limits = limits

    def close(self) -> None:
        self._db.close()

    # -- writes ---------------------------------------------------------------------------------------

    def commit_block(self, block: Block, receipts: Sequence[Receipt], diff: StateDiff,
                     genesis_doc: bytes | None = None, encoded_receipts: Sequence[bytes] | None = None,
                     pool_journal: Sequence[JournalOp] = ()) -> None:
        """Persist a block and its post-state atomically and durably, and move the head to it. `pool_journal`
        rides in the same batch: a tx the block includes leaves the journal exactly when the block lands."""
        if encoded_receipts is None:
            encoded_receipts = [r.encode() for r in receipts]
        h = block.hash
        n = block.number
        encoded_diff = diff.encode()
        num = keys.num(n)
        with self._db.write_batch(transaction=True, sync=True) as batch:
            put = batch.put
            put(keys.BLOCK + h, rlp_encode([block.header.fields(), [tx.hash for tx in block.txs], list(block.seals)]))
            put(keys.CANONICAL + num, h)
            log_index = 0
            encoded_n = rlp_encode(n)
            addresses: set[bytes] = set()
            topics: set[bytes] = set()
            for i, (tx, receipt, encoded) in enumerate(zip(block.txs, receipts, encoded_receipts, strict=True)):
                put(keys.TX + tx.hash, encode_list_of_encoded(
                    [encode_bytes(tx.raw), encode_bytes(tx.sender), encoded_n, encode_uint(i), encoded,
                     encode_uint(log_index)]))
                for log in receipt.logs:
                    addresses.add(log.address)
                    topics.update(log.topics)
                log_index += len(receipt.logs)
            # The logs index says which blocks may hold a match: one row per distinct address and topic.
            for address in addresses:
                put(keys.LOG_BY_ADDRESS + address + num, b"")
            for topic in topics:
                put(keys.LOG_BY_TOPIC + topic + num, b"")
            if log_index:
                put(keys.LOG_BLOCK + num, b"")
            put(keys.DIFF + num, encoded_diff)
            for code_hash, code in diff.codes.items():
                put(keys.CODE + code_hash, code)
            for address, record in diff.accounts.items():
                if record.is_empty():
                    batch.delete(keys.ACCOUNT + address)
                else:
                    put(keys.ACCOUNT + address, record.encode())
            delete, slot_key = batch.delete, keys.slot_key
            for (address, slot), value in diff.storage.items():
                if value:
                    put(slot_key(address, slot), value.to_bytes((value.bit_length() + 7) // 8, "big"))
                else:
                    delete(slot_key(address, slot))
            if genesis_doc is not None:
                put(keys.GENESIS, genesis_doc)
            _apply_journal(batch, pool_journal)
            put(keys.HEAD, rlp_encode([n, h]))

    def write_pool_journal(self, ops: Sequence[JournalOp]) -> None:
        """Apply pool journal records in order, in one synced batch: once it returns they survive a crash."""
        with self._db.write_batch(transaction=True, sync=True) as batch:
            _apply_journal(batch, ops)

    # -- pool journal reads ---------------------------------------------------------------------------

    def pool_journal(self) -> Iterator[tuple[int, bytes]]:
        """(sequence number, record) of every pool journal record, in arrival order."""
        for k, v in self._db.iterator(prefix=keys.POOL_JOURNAL):
            yield int.from_bytes(k[len(keys.POOL_JOURNAL):], "big"), v

    def last_pool_journal_seq(self) -> int:
        """The highest sequence number in the pool journal, 0 when it is empty."""
        for k in self._db.iterator(prefix=keys.POOL_JOURNAL, reverse=True, include_value=False):
            return int.from_bytes(k[len(keys.POOL_JOURNAL):], "big")
        return 0

    # -- chain reads ----------------------------------------------------------------------------------

    def head(self) -> tuple[int, bytes] | None:
        raw = self._db.get(keys.HEAD)
        if raw is None:
            return None
        number, block_hash = rlp_decode(raw)
        return _int(number), block_hash

    def genesis_doc(self) -> bytes | None:
        return self._db.get(keys.GENESIS)

    def hash_by_number(self, number: int) -> bytes | None:
        return self._db.get(keys.CANONICAL + keys.num(number))

    def header_and_hashes(self, block_hash: bytes) -> tuple[BlockHeader, list[bytes], list[bytes]] | None:
        raw = self._db.get(keys.BLOCK + block_hash)
        if raw is None:
            return None
        header, tx_hashes, seals = rlp_decode(raw)
        return BlockHeader.from_fields(header), tx_hashes, seals

    def block(self, block_hash: bytes) -> Block | None:
        found = self.header_and_hashes(block_hash)
        if found is None:
            return None
        header, tx_hashes, seals = found
        txs = []
        for tx_hash in tx_hashes:
            stored = self.tx(tx_hash)
            if stored is None:
                raise StoreCorrupted(f"block {header.number} lists tx 0x{tx_hash.hex()} that is not stored")
            txs.append(stored.tx)
        return Block(header, tuple(txs), tuple(seals))

    def tx(self, tx_hash: bytes) -> StoredTx | None:
        raw = self._db.get(keys.TX + tx_hash)
        if raw is None:
            return None
        tx_raw, sender, number, index, receipt, first_log = rlp_decode(raw)
        tx = decode_transaction(tx_raw, self._limits(), trusted_sender=sender)
        return StoredTx(tx, _int(number), _int(index), Receipt.from_fields(receipt), _int(first_log))

    def _limits(self) -> DecodeLimits:
        if self.limits is None:
            raise StoreCorrupted("chain store opened without decode limits")
        return self.limits

    def diff(self, number: int) -> StateDiff | None:
        raw = self._db.get(keys.DIFF + keys.num(number))
        return StateDiff.decode(raw) if raw is not None else None

    # -- logs index -----------------------------------------------------------------------------------

    def blocks_with_logs(self, from_block: int, to_block: int, addresses: Sequence[bytes],
                         topics: Sequence[Sequence[bytes] | None]) -> list[int]:
        """Candidate block numbers (ascending) whose logs may match; callers filter the logs exactly."""
        sets: list[set[int]] = []
        if addresses:
            sets.append(self._numbers(keys.LOG_BY_ADDRESS, addresses, from_block, to_block))
        for position in topics:
            if position:
                sets.append(self._numbers(keys.LOG_BY_TOPIC, position, from_block, to_block))
        if not sets:
            return self._scan(keys.LOG_BLOCK, from_block, to_block)
        return sorted(set.intersection(*sets))

    def _numbers(self, prefix: bytes, values: Iterable[bytes], lo: int, hi: int) -> set[int]:
        found: set[int] = set()
        for value in values:
            found.update(self._scan(prefix + value, lo, hi))
        return found

    def _scan(self, prefix: bytes, lo: int, hi: int) -> list[int]:
        start, stop = prefix + keys.num(lo), prefix + keys.num(hi + 1)
        return [int.from_bytes(k[-8:], "big") for k in self._db.iterator(start=start, stop=stop, include_value=False)]

    # -- state ----------------------------------------------------------------------------------------

    def account(self, address: bytes) -> AccountRecord:
        raw = self._db.get(keys.ACCOUNT + address)
        return AccountRecord.decode(raw) if raw is not None else AccountRecord()

    def slot(self, address: bytes, slot: int) -> int:
        raw = self._db.get(keys.slot_key(address, slot))
        return int.from_bytes(raw, "big") if raw else 0

    def code(self, code_hash: bytes) -> bytes:
        raw = self._db.get(keys.CODE + code_hash)
        if raw is None:
            raise StoreCorrupted(f"code 0x{code_hash.hex()} is not stored")
        return raw

    def accounts(self) -> Iterator[tuple[bytes, AccountRecord]]:
        for k, v in self._db.iterator(prefix=keys.ACCOUNT):
            yield k[1:], AccountRecord.decode(v)

    def storage(self) -> Iterator[tuple[bytes, int, int]]:
        for k, v in self._db.iterator(prefix=keys.SLOT):
            yield k[1:21], int.from_bytes(k[21:], "big"), int.from_bytes(v, "big")


class _Batch(Protocol):
    def put(self, key: bytes, value: bytes) -> None: ...

    def delete(self, key: bytes) -> None: ...


def _apply_journal(batch: _Batch, ops: Sequence[JournalOp]) -> None:
    for seq, record in ops:
        if record is None:
            batch.delete(keys.POOL_JOURNAL + keys.num(seq))
        else:
            batch.put(keys.POOL_JOURNAL + keys.num(seq), record)
