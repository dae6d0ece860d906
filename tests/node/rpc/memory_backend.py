"""An in-memory `NodeBackend` for the RPC tests: real tx decoding and signature checks, a toy state machine.

Transactions are decoded and recovered with eth-account, checked for chain id, nonce, duplicates and
permission like the node's pool, then mined one block per `mine()` (or per tx with `auto_mine`).
Execution is a documented toy, not the EVM:
- a create (`to` empty) installs the tx data as the new account's code, at the usual sender+nonce address;
- a tx with `to` moves `value`; its data, if any, is read as [n][n 32-byte topics][payload] and emits one
  log with those topics and payload (a malformed encoding fails the tx: status 0x0, no log);
- `call` returns the calldata, unless the target's code starts with 0xfd: then it reverts with the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import rlp
from eth_account import Account
from eth_account._utils.legacy_transactions import Transaction as LegacyTx
from eth_account.typed_transactions import TypedTransaction
from eth_hash.auto import keccak
from hexbytes import HexBytes

from node.errors import (
    AlreadyKnown,
    BlockNotFound,
    ExecutionReverted,
    HistoricalStateUnavailable,
    MalformedTransaction,
    NodeError,
    NonceTooLow,
    NotPermitted,
    TxRejected,
    WrongChainId,
)
from node.rpc.backend.api import BlockTag, CallRequest, JsonDict, LogQuery
from node.rpc.log_filter import LogCriteria

ZERO_HASH = "0x" + "00" * 32
EMPTY_BLOOM = "0x" + "00" * 256
BLOCK_GAS_LIMIT = 30_000_000
REVERT_MARKER = b"\xfd"


def hx(data: bytes) -> str:
    return "0x" + data.hex()


def log_data(topics: list[bytes], payload: bytes = b"") -> bytes:
    """Calldata that makes the toy execution emit one log with these topics and payload."""
    assert len(topics) <= 4 and all(len(t) == 32 for t in topics)
    return bytes([len(topics)]) + b"".join(topics) + payload


def intrinsic_gas(data: bytes, create: bool) -> int:
    zeros = data.count(0)
    return 21_000 + (32_000 if create else 0) + 4 * zeros + 16 * (len(data) - zeros)


@dataclass
class DecodedTx:
    hash: bytes
    sender: bytes
    chain_id: int | None
    nonce: int
    to: bytes | None
    value: int
    data: bytes
    gas: int
    tx_type: int
    fields: JsonDict


@dataclass
class Account_:
    balance: int = 0
    nonce: int = 0
    code: bytes = b""
    storage: dict[int, int] = field(default_factory=dict)


def decode_raw(raw: bytes) -> DecodedTx:
    """Decode and recover a signed tx, raising what the node raises for undecodable or unsigned bytes."""
    try:
        if raw and raw[0] <= 0x7F:
            typed = TypedTransaction.from_bytes(HexBytes(raw))
            fields = dict(typed.as_dict())
            tx_hash = keccak(raw)
            chain_id = fields["chainId"]
        else:
            legacy = rlp.decode(raw, LegacyTx)
            fields = dict(legacy.as_dict())
            fields["type"] = 0
            tx_hash = keccak(raw)
            v = fields["v"]
            chain_id = (v - 35) // 2 if v >= 35 else None
    except Exception as exc:
        raise MalformedTransaction(f"rlp: {exc}") from exc
    try:
        sender = bytes.fromhex(Account.recover_transaction(raw)[2:])
    except Exception as exc:
        raise TxRejected("invalid sender") from exc
    to = bytes(fields["to"]) if fields.get("to") else None
    return DecodedTx(
        hash=tx_hash, sender=sender, chain_id=chain_id, nonce=fields["nonce"], to=to, value=fields["value"],
        data=bytes(fields["data"]), gas=fields["gas"], tx_type=fields["type"], fields=fields,
    )


def create_address(sender: bytes, nonce: int) -> bytes:
    return keccak(rlp.encode([sender, nonce]))[12:]


class MemoryBackend:
    """A deterministic single-node chain honouring the NodeBackend protocol; see the module docstring."""

    def __init__(
        self,
        chain_id: int = 1337,
        balances: dict[bytes, int] | None = None,
        permitted: set[bytes] | None = None,
        auto_mine: bool = False,
    ) -> None:
        self._chain_id = chain_id
        self.auto_mine = auto_mine
        self.permitted = permitted  # None: every sender may write
        self.accounts: dict[bytes, Account_] = {a: Account_(balance=b) for a, b in (balances or {}).items()}
        self.blocks: list[JsonDict] = []
        self.txs: dict[bytes, JsonDict] = {}
        self.receipts: dict[bytes, JsonDict] = {}
        self.pool: list[DecodedTx] = []
        self.logs: list[JsonDict] = []
        self._head_subs: dict[int, Callable[[JsonDict], None]] = {}
        self._log_subs: dict[int, tuple[JsonDict, Callable[[JsonDict], None]]] = {}
        self._next_sub = 0
        self.calls: list[str] = []  # backend methods called, for tests that check what the RPC layer asked
        self.durable_calls: list[list[bytes]] = []  # the tx hashes of each durability barrier
        self.durable_error: NodeError | None = None  # set: the barrier fails, as a node's journal write may
        self._append_block([], [])

    # --- protocol ---------------------------------------------------------------------------------------

    @property
    def chain_id(self) -> int:
        return self._chain_id

    @property
    def client_version(self) -> str:
        return "colend-memory/0.1"

    def block_number(self) -> int:
        return len(self.blocks) - 1

    def get_block_by_number(self, tag: BlockTag, full_txs: bool) -> JsonDict | None:
        self.calls.append(f"get_block_by_number:{tag}")
        number = self._number(tag)
        return None if number > self.block_number() else self._render_block(self.blocks[number], full_txs)

    def get_block_by_hash(self, block_hash: bytes, full_txs: bool) -> JsonDict | None:
        for block in self.blocks:
            if block["hash"] == hx(block_hash):
                return self._render_block(block, full_txs)
        return None

    def get_transaction_by_hash(self, tx_hash: bytes) -> JsonDict | None:
        if tx_hash in self.txs:
            return dict(self.txs[tx_hash])
        for tx in self.pool:
            if tx.hash == tx_hash:
                return self._render_tx(tx, None, None)
        return None

    def get_transaction_receipt(self, tx_hash: bytes) -> JsonDict | None:
        receipt = self.receipts.get(tx_hash)
        return None if receipt is None else dict(receipt)

    def get_block_receipts(self, block: BlockTag | bytes) -> list[JsonDict] | None:
        found = self.get_block_by_hash(block, False) if isinstance(block, bytes) else self.get_block_by_number(block, False)
        return None if found is None else [dict(self.receipts[bytes.fromhex(h[2:])]) for h in found["transactions"]]

    def send_raw_transaction(self, raw: bytes) -> bytes:
        tx = decode_raw(raw)
        if tx.chain_id is None:
            raise TxRejected("only replay-protected (EIP-155) transactions allowed over RPC")
        if tx.chain_id != self._chain_id:
            raise WrongChainId(f"invalid chain id for signer: have {tx.chain_id} want {self._chain_id}")
        if tx.hash in self.txs or any(p.hash == tx.hash for p in self.pool):
            raise AlreadyKnown("already known")
        if self.permitted is not None and tx.sender not in self.permitted:
            raise NotPermitted(f"account {hx(tx.sender)} is not permitted to write")
        state_nonce = self._account(tx.sender).nonce
        if tx.nonce < state_nonce:
            raise NonceTooLow(f"nonce too low: address {hx(tx.sender)}, tx: {tx.nonce} state: {state_nonce}")
        if tx.gas < intrinsic_gas(tx.data, tx.to is None):
            raise TxRejected("intrinsic gas too low")
        self.pool.append(tx)
        if self.auto_mine:
            self.mine()
        return tx.hash

    def prefetch_raw_transactions(self, raws: Sequence[bytes]) -> AbstractContextManager[None]:
        return nullcontext()

    def offload(self, fn: object, *args: object) -> None:
        return None  # no worker processes: every request is parsed by the dispatcher itself

    def make_durable(self, tx_hashes: Sequence[bytes]) -> None:
        self.durable_calls.append(list(tx_hashes))
        if self.durable_error is not None:
            self.pool = [tx for tx in self.pool if tx.hash not in set(tx_hashes)]
            raise self.durable_error

    def call(self, request: CallRequest, tag: BlockTag) -> bytes:
        self.calls.append(f"call:{tag}")
        self._require_latest(tag)
        code = self._account(request.to).code if request.to is not None else b""
        if code.startswith(REVERT_MARKER):
            revert = code[1:]
            raise ExecutionReverted("execution reverted", data=hx(revert))
        return request.data

    def estimate_gas(self, request: CallRequest, tag: BlockTag) -> int:
        self.call(request, tag)
        return intrinsic_gas(request.data, request.to is None)

    def get_transaction_count(self, address: bytes, tag: BlockTag) -> int:
        if tag == "pending":
            pending = [tx.nonce for tx in self.pool if tx.sender == address]
            return max([self._account(address).nonce - 1, *pending]) + 1
        self._require_latest(tag)
        return self._account(address).nonce

    def get_balance(self, address: bytes, tag: BlockTag) -> int:
        self.calls.append(f"get_balance:{tag}")
        self._require_latest(tag)
        return self._account(address).balance

    def get_code(self, address: bytes, tag: BlockTag) -> bytes:
        self._require_latest(tag)
        return self._account(address).code

    def get_storage_at(self, address: bytes, slot: int, tag: BlockTag) -> bytes:
        self._require_latest(tag)
        return self._account(address).storage.get(slot, 0).to_bytes(32, "big")

    def get_logs(self, query: LogQuery) -> list[JsonDict]:
        self.calls.append("get_logs")
        if query.block_hash is not None:
            block = self.get_block_by_hash(query.block_hash, False)
            if block is None:
                raise BlockNotFound("unknown block")
            first = last = int(block["number"], 16)
        else:
            first, last = query.first, query.last
        return [
            dict(log) for log in self.logs
            if first <= int(log["blockNumber"], 16) <= last and _matches(log, query.criteria)
        ]

    def fee_history(self, block_count: int, newest: BlockTag, percentiles: list[float]) -> JsonDict:
        newest_n = self._number(newest)
        if newest_n > self.block_number():
            raise BlockNotFound(f"requested block {newest_n} is beyond the head {self.block_number()}")
        count = min(block_count, newest_n + 1)
        if count == 0:
            return {"oldestBlock": "0x0", "baseFeePerGas": [], "gasUsedRatio": []}
        oldest = newest_n - count + 1
        history: JsonDict = {
            "oldestBlock": hex(oldest),
            "baseFeePerGas": ["0x0"] * (count + 1),
            "gasUsedRatio": [int(self.blocks[n]["gasUsed"], 16) / BLOCK_GAS_LIMIT for n in range(oldest, newest_n + 1)],
        }
        if percentiles:
            history["reward"] = [["0x0"] * len(percentiles) for _ in range(count)]
        return history

    def syncing(self) -> JsonDict | bool:
        return False

    def status(self) -> JsonDict:
        head = self.blocks[-1]
        return {
            "nodeId": "memory",
            "chainId": hex(self._chain_id),
            "head": {"number": head["number"], "hash": head["hash"]},
            "stateCommitment": head["stateRoot"],
            "poolSize": len(self.pool),
            "peers": 0,
            "validators": [],
        }

    def subscribe_new_heads(self, callback: Callable[[JsonDict], None]) -> Callable[[], None]:
        key = self._next_sub = self._next_sub + 1
        self._head_subs[key] = callback
        return lambda: self._head_subs.pop(key, None) and None

    def subscribe_logs(self, criteria: LogCriteria, callback: Callable[[JsonDict], None]) -> Callable[[], None]:
        key = self._next_sub = self._next_sub + 1
        self._log_subs[key] = (criteria, callback)
        return lambda: self._log_subs.pop(key, None) and None

    # --- test driving -----------------------------------------------------------------------------------

    def fund(self, address: bytes, amount: int) -> None:
        self._account(address).balance += amount

    def mine(self) -> JsonDict:
        """Seal the pool into a new block in nonce order, skipping txs whose nonce is not next yet."""
        number = len(self.blocks)
        included: list[tuple[DecodedTx, JsonDict]] = []
        block_logs: list[JsonDict] = []
        for tx in sorted(self.pool, key=lambda t: (t.sender, t.nonce)):
            if tx.nonce != self._account(tx.sender).nonce:
                continue
            receipt = self._execute(tx, number, len(included), len(block_logs))
            included.append((tx, receipt))
            block_logs.extend(receipt["logs"])
        self.pool = [tx for tx in self.pool if all(tx is not t for t, _ in included)]
        block = self._append_block(included, block_logs)
        header = self._render_block(block, False)
        header.pop("transactions")
        for callback in list(self._head_subs.values()):
            callback(header)
        for log in block_logs:
            for criteria, callback in list(self._log_subs.values()):
                if _matches(log, criteria):
                    callback(dict(log))
        return block

    # --- internals --------------------------------------------------------------------------------------

    def _account(self, address: bytes) -> Account_:
        return self.accounts.setdefault(address, Account_())

    def _number(self, tag: BlockTag) -> int:
        if isinstance(tag, int):
            return tag
        if tag == "earliest":
            return 0
        return self.block_number()

    def _require_latest(self, tag: BlockTag) -> None:
        number = self._number(tag)
        if number > self.block_number():
            raise BlockNotFound(f"block {number} not found")
        if number < self.block_number():
            raise HistoricalStateUnavailable(f"state of block {number} is not kept; only the latest state is")

    def _execute(self, tx: DecodedTx, number: int, index: int, log_index: int) -> JsonDict:
        sender = self._account(tx.sender)
        sender.nonce += 1
        status, logs, contract = 1, [], None
        if tx.to is None:
            contract = create_address(tx.sender, tx.nonce)
            self._account(contract).code = tx.data
        elif sender.balance < tx.value:
            status = 0
        else:
            sender.balance -= tx.value
            self._account(tx.to).balance += tx.value
            if tx.data:
                emitted = _decode_log(tx.data)
                if emitted is None:
                    status = 0
                else:
                    topics, payload = emitted
                    logs.append(
                        {
                            "address": hx(tx.to), "topics": [hx(t) for t in topics], "data": hx(payload),
                            "blockNumber": hex(number), "transactionHash": hx(tx.hash),
                            "transactionIndex": hex(index), "logIndex": hex(log_index), "removed": False,
                        }
                    )
        gas_used = intrinsic_gas(tx.data, tx.to is None)
        return {
            "transactionHash": hx(tx.hash), "transactionIndex": hex(index), "blockNumber": hex(number),
            "from": hx(tx.sender), "to": hx(tx.to) if tx.to else None, "gasUsed": hex(gas_used),
            "cumulativeGasUsed": hex(gas_used), "effectiveGasPrice": "0x0",
            "contractAddress": hx(contract) if contract else None, "logs": logs, "logsBloom": EMPTY_BLOOM,
            "status": hex(status), "type": hex(tx.tx_type),
        }

    def _append_block(self, included: list[tuple[DecodedTx, JsonDict]], logs: list[JsonDict]) -> JsonDict:
        number = len(self.blocks)
        parent = self.blocks[-1]["hash"] if self.blocks else ZERO_HASH
        tx_hashes = [hx(tx.hash) for tx, _ in included]
        block_hash = hx(keccak(f"{self._chain_id}:{number}:{parent}:{','.join(tx_hashes)}".encode()))
        gas_used = sum(int(r["gasUsed"], 16) for _, r in included)
        block: JsonDict = {
            "number": hex(number), "hash": block_hash, "parentHash": parent, "timestamp": hex(1_700_000_000 + number),
            "gasLimit": hex(BLOCK_GAS_LIMIT), "gasUsed": hex(gas_used), "baseFeePerGas": "0x0",
            "miner": "0x" + "00" * 20, "stateRoot": hx(keccak(block_hash.encode())), "logsBloom": EMPTY_BLOOM,
            "transactionsRoot": ZERO_HASH, "receiptsRoot": ZERO_HASH, "extraData": "0x", "nonce": "0x" + "00" * 8,
            "difficulty": "0x0", "totalDifficulty": "0x0", "mixHash": ZERO_HASH, "sha3Uncles": ZERO_HASH,
            "size": hex(500 + 100 * len(included)), "uncles": [], "transactions": tx_hashes,
        }
        self.blocks.append(block)
        for tx_index, (tx, receipt) in enumerate(included):
            receipt["blockHash"] = block_hash
            for log in receipt["logs"]:
                log["blockHash"] = block_hash
            self.receipts[tx.hash] = receipt
            self.txs[tx.hash] = self._render_tx(tx, block, tx_index)
        self.logs.extend(logs)
        return block

    def _render_tx(self, tx: DecodedTx, block: JsonDict | None, index: int | None) -> JsonDict:
        f = tx.fields
        out: JsonDict = {
            "hash": hx(tx.hash), "nonce": hex(tx.nonce), "from": hx(tx.sender), "to": hx(tx.to) if tx.to else None,
            "value": hex(tx.value), "gas": hex(tx.gas), "input": hx(tx.data), "type": hex(tx.tx_type),
            "v": hex(f["v"]), "r": hex(f["r"]), "s": hex(f["s"]),
            "blockHash": block["hash"] if block else None, "blockNumber": block["number"] if block else None,
            "blockTimestamp": block["timestamp"] if block else None,
            "transactionIndex": hex(index) if index is not None else None,
            "chainId": hex(tx.chain_id) if tx.chain_id is not None else None,
        }
        if tx.tx_type == 2:
            out.update(
                maxFeePerGas=hex(f["maxFeePerGas"]), maxPriorityFeePerGas=hex(f["maxPriorityFeePerGas"]),
                gasPrice="0x0", accessList=[], yParity=hex(f["v"]),
            )
        else:
            out["gasPrice"] = hex(f["gasPrice"])
        return out

    def _render_block(self, block: JsonDict, full_txs: bool) -> JsonDict:
        rendered = dict(block)
        if full_txs:
            rendered["transactions"] = [dict(self.txs[bytes.fromhex(h[2:])]) for h in block["transactions"]]
        else:
            rendered["transactions"] = list(block["transactions"])
        return rendered


def _decode_log(data: bytes) -> tuple[list[bytes], bytes] | None:
    count = data[0]
    if count > 4 or len(data) < 1 + 32 * count:
        return None
    topics = [data[1 + 32 * i : 33 + 32 * i] for i in range(count)]
    return topics, data[1 + 32 * count :]


def _matches(log: JsonDict, criteria: LogCriteria) -> bool:
    """An independent reading of the criteria over the rendered (JSON) log."""
    if criteria.addresses and log["address"].lower() not in {hx(a) for a in criteria.addresses}:
        return False
    for position, wanted in enumerate(criteria.topics):
        if wanted is None:
            continue
        if position >= len(log["topics"]) or log["topics"][position] not in {hx(o) for o in wanted}:
            return False
    return True
