"""The real node behind JSON-RPC: implements node.rpc.backend.api.NodeBackend over one chain's parts.

Every read is served from the last committed state (node.execution.read_view) and never takes the engine's lock,
so it is answered while a block executes. Only the latest state is kept live (blocks are final on commit);
state queries for an older block raise HistoricalStateUnavailable rather than answer from the wrong state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TypeVar

from eth_abi import decode as abi_decode
from eth_utils import to_checksum_address

from contracts.abi import ERROR_STRING_SELECTOR
from node.chain.block import Block
from node.chain.header import ZERO_ADDRESS
from node.chain.receipt import Receipt
from node.chain.state import EMPTY_CODE_HASH
from node.engine.chain_parts import ChainParts
from node.errors import BlockNotFound, ExecutionReverted, HistoricalStateUnavailable, StoreCorrupted
from node.rpc.backend.api import BlockTag, CallRequest, JsonDict, LogQuery
from node.rpc.json_views import block_json, data, header_json, log_json, receipt_json, tx_json
from node.rpc.log_filter import LogCriteria
from node.store.chain_store import StoredTx
from node.tx.model import Transaction

CLIENT_VERSION = "colend/0.1.0/python"
T = TypeVar("T")


def revert_message(revert: bytes) -> str:
    """'execution reverted: <reason>' for Error(string), as geth words it; the raw bytes go in data."""
    if revert[:4] == ERROR_STRING_SELECTOR:
        try:
            return f"execution reverted: {abi_decode(['string'], revert[4:])[0]}"
        except Exception:
            pass
    return "execution reverted"


COLEND_HEADER_EXTRAS = ("timestampMs", "stateCommitment", "commitSeals")


def _receipt_json(stored: StoredTx, block_hash: bytes) -> JsonDict:
    return receipt_json(stored.tx, stored.receipt, block_hash, stored.block_number, stored.index,
                        stored.first_log_index)


class EngineBackend:
    """NodeBackend for one node. Calls may come from the RPC loop and callbacks fire on the block thread."""

    def __init__(self, chain: ChainParts, node_id: str = "colend-node", peers: Callable[[], int] = lambda: 0) -> None:
        self.engine = chain.engine  # the head, a halt, and the blocks as they commit
        self.front = chain.front  # admission and the pending txs
        self.read_view = chain.read_view  # accounts and calls at the head
        self.store = chain.store
        self.genesis = chain.genesis
        self.node_id = node_id
        self._peers = peers

    @property
    def chain_id(self) -> int:
        return self.genesis.chain_id

    @property
    def client_version(self) -> str:
        return CLIENT_VERSION

    def block_number(self) -> int:
        return self.engine.head.number

    # -- blocks and txs ------------------------------------------------------------------------------

    def _number(self, tag: BlockTag) -> int:
        if isinstance(tag, int):
            return tag
        if tag == "earliest":
            return 0
        return self.engine.head.number  # latest, pending, safe, finalized: one final head

    def _block(self, block_hash: bytes | None) -> Block | None:
        return self.store.block(block_hash) if block_hash is not None else None

    def get_block_by_number(self, tag: BlockTag, full_txs: bool) -> JsonDict | None:
        block = self._block(self.store.hash_by_number(self._number(tag)))
        return block_json(block, full_txs) if block else None

    def get_block_by_hash(self, block_hash: bytes, full_txs: bool) -> JsonDict | None:
        block = self._block(block_hash)
        return block_json(block, full_txs) if block else None

    def get_transaction_by_hash(self, tx_hash: bytes) -> JsonDict | None:
        stored = self.store.tx(tx_hash)
        if stored is not None:
            block_hash = self._block_hash_of(stored)
            found = self.store.header_and_hashes(block_hash)
            if found is None:
                raise StoreCorrupted(f"tx 0x{tx_hash.hex()} is in block {stored.block_number}, whose header is missing")
            return tx_json(stored.tx, block_hash, stored.block_number, stored.index, found[0].timestamp)
        pending = self.front.get(tx_hash)
        return tx_json(pending, None, None, None, None) if pending else None

    def get_transaction_receipt(self, tx_hash: bytes) -> JsonDict | None:
        stored = self.store.tx(tx_hash)
        return None if stored is None else _receipt_json(stored, self._block_hash_of(stored))

    def get_block_receipts(self, block: BlockTag | bytes) -> list[JsonDict] | None:
        block_hash = block if isinstance(block, bytes) else self.store.hash_by_number(self._number(block))
        found = self.store.header_and_hashes(block_hash) if block_hash is not None else None
        if block_hash is None or found is None:
            return None
        receipts = []
        for tx_hash in found[1]:
            stored = self.store.tx(tx_hash)
            if stored is None:
                raise StoreCorrupted(f"block {found[0].number} lists tx 0x{tx_hash.hex()} that is not stored")
            receipts.append(_receipt_json(stored, block_hash))
        return receipts

    def _block_hash_of(self, stored: StoredTx) -> bytes:
        block_hash = self.store.hash_by_number(stored.block_number)
        if block_hash is None:
            raise StoreCorrupted(f"a stored tx is in block {stored.block_number}, which is not on the chain")
        return block_hash

    def send_raw_transaction(self, raw: bytes | Transaction) -> bytes:
        return self.front.submit(raw) if isinstance(raw, bytes) else self.front.submit_tx(raw)

    def offload(self, fn: Callable[..., T], *args: object) -> T | None:
        workers = self.front.workers
        return None if workers is None else workers.call(fn, *args)

    def prefetch_raw_transactions(self, raws: Sequence[bytes]) -> AbstractContextManager[None]:
        return self.front.prefetch(raws)

    def make_durable(self, tx_hashes: Sequence[bytes]) -> None:
        self.front.durable(tx_hashes)

    # -- state ---------------------------------------------------------------------------------------

    def _require_head(self, tag: BlockTag) -> None:
        number, head = self._number(tag), self.engine.head.number
        if number > head:
            raise BlockNotFound(f"block {number} not found (head is {head})")
        if number < head:
            raise HistoricalStateUnavailable(f"state of block {number} is not kept; only the latest ({head}) is")

    def call(self, request: CallRequest, tag: BlockTag) -> bytes:
        self._require_head(tag)
        result = self.read_view.call(request.sender or ZERO_ADDRESS, request.to, request.data, request.value,
                                     request.gas)
        if not result.success:
            raise ExecutionReverted(revert_message(result.output), data=data(result.output))
        return result.output

    def estimate_gas(self, request: CallRequest, tag: BlockTag) -> int:
        self._require_head(tag)
        result = self.read_view.estimate_gas(request.sender or ZERO_ADDRESS, request.to, request.data,
                                             request.value)
        if not result.success:
            raise ExecutionReverted(revert_message(result.output), data=data(result.output))
        return result.gas_used

    def get_transaction_count(self, address: bytes, tag: BlockTag) -> int:
        if tag == "pending":
            return self.front.pending_nonce(address)
        self._require_head(tag)
        return self.read_view.account(address).nonce

    def get_balance(self, address: bytes, tag: BlockTag) -> int:
        self._require_head(tag)
        return self.read_view.account(address).balance

    def get_code(self, address: bytes, tag: BlockTag) -> bytes:
        self._require_head(tag)
        record = self.read_view.account(address)
        return self.store.code(record.code_hash) if record.code_hash != EMPTY_CODE_HASH else b""

    def get_storage_at(self, address: bytes, slot: int, tag: BlockTag) -> bytes:
        self._require_head(tag)
        return self.store.slot(address, slot).to_bytes(32, "big")

    # -- logs ----------------------------------------------------------------------------------------

    def get_logs(self, query: LogQuery) -> list[JsonDict]:
        match = query.criteria
        if query.block_hash is not None:
            found = self.store.header_and_hashes(query.block_hash)
            if found is None:
                raise BlockNotFound("unknown block")
            numbers = [found[0].number]
        else:
            head = self.engine.head.number
            first, last = min(query.first, head), min(query.last, head)
            topics = [sorted(t) if t is not None else None for t in match.topics]
            numbers = self.store.blocks_with_logs(first, last, sorted(match.addresses), topics)
        out: list[JsonDict] = []
        for number in numbers:
            block_hash = self.store.hash_by_number(number)
            found = self.store.header_and_hashes(block_hash) if block_hash else None
            if found is None:
                continue
            for tx_hash in found[1]:
                stored = self.store.tx(tx_hash)
                if stored is None:
                    continue
                for i, log in enumerate(stored.receipt.logs):
                    if match.matches(log):
                        out.append(log_json(log, block_hash, number, tx_hash, stored.index, stored.first_log_index + i))
        return out

    # -- misc ----------------------------------------------------------------------------------------

    def fee_history(self, block_count: int, newest: BlockTag, percentiles: list[float]) -> JsonDict:
        newest_n = self._number(newest)
        head = self.engine.head.number
        if newest_n > head:
            raise BlockNotFound(f"requested block {newest_n} is beyond the head {head}")
        count = min(block_count, newest_n + 1)
        if count <= 0:
            return {"oldestBlock": "0x0", "baseFeePerGas": [], "gasUsedRatio": []}
        oldest = newest_n - count + 1
        ratios = []
        for n in range(oldest, newest_n + 1):
            block_hash = self.store.hash_by_number(n)
            found = self.store.header_and_hashes(block_hash) if block_hash else None
            ratios.append(found[0].gas_used / found[0].gas_limit if found else 0.0)
        history: JsonDict = {"oldestBlock": hex(oldest), "baseFeePerGas": ["0x0"] * (count + 1), "gasUsedRatio": ratios}
        if percentiles:
            history["reward"] = [["0x0"] * len(percentiles) for _ in range(count)]
        return history

    def syncing(self) -> JsonDict | bool:
        return False

    def status(self) -> JsonDict:
        committed = self.read_view.head  # one consistent (header, hash) pair, without waiting for a block
        assert committed is not None
        head, head_hash = committed.header, committed.hash
        pool = len(self.front)
        return {
            "nodeId": self.node_id,
            "chainId": hex(self.chain_id),
            "head": {"number": hex(head.number), "hash": data(head_hash), "timestampMs": hex(head.timestamp_ms)},
            "stateCommitment": data(head.state_root),
            "poolSize": pool,
            "peers": self._peers(),
            "validators": [to_checksum_address(v) for v in self.genesis.validators],
            "contracts": {k: to_checksum_address(v) for k, v in sorted(self.genesis.contracts.items())},
            "halted": self.engine.halted,
        }

    # -- subscriptions -------------------------------------------------------------------------------

    def subscribe_new_heads(self, callback: Callable[[JsonDict], None]) -> Callable[[], None]:
        def on_block(block: Block, _receipts: list[Receipt]) -> None:
            header = header_json(block.header, block.hash, block.seals, len(block.encode()))
            # Subscribers get the standard header only: web3.py classifies a notification as a header by the
            # share of standard fields it carries, and the Colend extras are in eth_getBlockBy* anyway.
            for extra in COLEND_HEADER_EXTRAS:
                header.pop(extra, None)
            callback(header)

        return self.engine.on_block(on_block)

    def subscribe_logs(self, criteria: LogCriteria, callback: Callable[[JsonDict], None]) -> Callable[[], None]:
        match = criteria

        def on_block(block: Block, receipts: list[Receipt]) -> None:
            log_index = 0
            for i, (tx, receipt) in enumerate(zip(block.txs, receipts, strict=True)):
                for log in receipt.logs:
                    if match.matches(log):
                        callback(log_json(log, block.hash, block.number, tx.hash, i, log_index))
                    log_index += 1

        return self.engine.on_block(on_block)
