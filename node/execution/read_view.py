"""The last committed state, for reads: head, accounts and an EVM of its own that block execution never touches.

Reads (eth_call, eth_getBalance, colend_status, admission's permission check) never take the engine's lock, so
a block executing for seconds does not hold them up. The engine publishes each committed block here after it
is durable: the diff goes into this EVM under a short lock of its own, then the head moves, so a reader sees a
head only once its state is in place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from node.chain.header import BlockHeader
from node.chain.state import AccountRecord, StateDiff
from node.execution.abc import BlockContext
from node.execution.evm import CallResult, EvmExecutor

_EMPTY = AccountRecord()


@dataclass(frozen=True, slots=True)
class Head:
    header: BlockHeader
    hash: bytes


class CommittedState:
    def __init__(self, chain_id: int, block_gas_limit: int, consortium: bytes | None) -> None:
        self._lock = threading.Lock()  # this EVM only; never held across a block's execution
        self._evm = EvmExecutor(chain_id, block_gas_limit, consortium)
        self._accounts: dict[bytes, AccountRecord] = {}
        self.head: Head | None = None

    def load(self, head: Head, accounts: dict[bytes, AccountRecord], code_of: Callable[[bytes], bytes],
             storage: Iterable[tuple[bytes, int, int]]) -> None:
        """The whole state, at start-up or after the engine rebuilt its executor (whose Executor.loading may
        yield `storage`, so that one pass over the store fills both)."""
        with self._lock:
            self._evm.load(accounts.items(), code_of, storage)
            self._set_context(head.header)
            self._accounts = dict(accounts)
            self.head = head

    def publish(self, head: Head, diff: StateDiff, code_of: Callable[[bytes], bytes]) -> None:
        """A block is durable: apply its net effects, then show its head."""
        accounts = dict(self._accounts)
        for address, record in diff.accounts.items():
            if record.is_empty():
                accounts.pop(address, None)
            else:
                accounts[address] = record
        with self._lock:
            self._evm.apply(diff, code_of)
            self._set_context(head.header)
            self._accounts = accounts
            self.head = head

    def _set_context(self, header: BlockHeader) -> None:
        self._evm.set_context(BlockContext(header.number, header.timestamp, header.proposer, header.gas_limit))

    @property
    def consortium(self) -> bytes | None:
        return self._evm.consortium

    @consortium.setter
    def consortium(self, address: bytes | None) -> None:
        self._evm.consortium = address

    def account(self, address: bytes) -> AccountRecord:
        return self._accounts.get(address, _EMPTY)

    def call(self, sender: bytes, to: bytes | None, data: bytes, value: int = 0, gas: int | None = None) -> CallResult:
        with self._lock:
            return self._evm.call(sender, to, data, value, gas)

    def estimate_gas(self, sender: bytes, to: bytes | None, data: bytes, value: int = 0) -> CallResult:
        with self._lock:
            return self._evm.estimate_gas(sender, to, data, value)

    def can_write(self, sender: bytes) -> bool:
        with self._lock:
            return self._evm.can_write(sender)
