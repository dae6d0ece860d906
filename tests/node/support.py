"""Shared builders for node tests: fixed keys, a genesis with the real contract suite, engines and signers."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from eth_account import Account
from eth_utils import to_checksum_address

from network.abc import Timer, TimerKind
from network.driver import ConsensusDriver, DriverConfig
from network.qbft import PrivateKeySigner
from network.qbft.resume import MemoryResumeStore
from network.transport import LoopbackTransport
from node.chain.block import Block
from node.chain.genesis import Genesis, GenesisMember
from node.consensus.block_codec import NodeBlockCodec
from node.consensus.chain_adapter import EngineChain, NextBlockPolicy
from node.engine.chain_parts import ChainParts, open_chain
from node.execution.process import ExecutionProcess
from node.store.chain_store import ChainStore
from node.tx.signing import sign_dynamic_fee

CHAIN_ID = 777
BANK_A = bytes([1]) * 32
BANK_B = bytes([2]) * 32
OBSERVER = bytes([3]) * 32
OUTSIDER = bytes([4]) * 32
VALIDATOR = bytes([9]) * 32
GENESIS_MS = 1_767_225_600_000


def addr(key: bytes) -> bytes:
    return PrivateKeySigner(key).address


def make_genesis(chain_id: int = CHAIN_ID) -> Genesis:
    return Genesis(
        chain_id=chain_id, timestamp_ms=GENESIS_MS, validators=(addr(VALIDATOR),),
        members=(GenesisMember("WEBANK", "WeBank", "BANK", (addr(BANK_A),)),
                 GenesisMember("MYBANK", "MyBank", "BANK", (addr(BANK_B),)),
                 GenesisMember("REGULATOR", "Regulator", "OBSERVER", (addr(OBSERVER),))))


def open_engine(path: Path, genesis: Genesis | None = None) -> ChainParts:
    return open_chain(ChainStore(str(path)), genesis or make_genesis())


def execution_process(chain: ChainParts) -> ExecutionProcess:
    """The chain's executor, for a chain opened to execute in a child process (make_engine's default)."""
    return cast(ExecutionProcess, chain.executor)


class Clock:
    """A deterministic proposer clock: each reading is 250 ms after the previous one."""

    def __init__(self, start_ms: int = GENESIS_MS) -> None:
        self.now = start_ms

    def now_ms(self) -> int:
        self.now += 250
        return self.now


class ManualClock:
    """A clock that moves only when the test sets `now`."""

    def __init__(self, now: int) -> None:
        self.now = now

    def now_ms(self) -> int:
        return self.now


class ManualTimers:
    """The driver's timers, kept for the test to fire: the test is the clock."""

    def __init__(self) -> None:
        self.latest: tuple[int, int, int] | None = None  # the round timer: (height, round, delay_ms)
        self.pending: dict[TimerKind, tuple[Timer, int]] = {}

    def set_timer(self, timer: Timer, delay_ms: int) -> None:
        self.pending[timer.kind] = (timer, delay_ms)
        if timer.kind is TimerKind.ROUND:
            self.latest = (timer.height, timer.round, delay_ms)


def node_driver(chain: ChainParts, key: bytes, transport, timers, resume, clock, *,
                config: DriverConfig | None = None, max_txs: int = 5_000,
                next_block: NextBlockPolicy | None = None) -> ConsensusDriver:
    """The network's ConsensusDriver on a real engine, as node/launch/parts.py wires it."""
    adapter = EngineChain(chain, PrivateKeySigner(key).address, max_txs, next_block=next_block)
    return ConsensusDriver(adapter, PrivateKeySigner(key), NodeBlockCodec(), transport, timers, resume, clock, config)


class Producer:
    """A lone validator's consensus driver stepped by hand: one produce_once() runs QBFT for one height."""

    def __init__(self, chain: ChainParts, *, allow_empty: bool = False, clock: object | None = None,
                 key: bytes = VALIDATOR) -> None:
        self.timers = ManualTimers()
        self.resume = MemoryResumeStore()
        self.driver = node_driver(chain, key, LoopbackTransport(), self.timers, self.resume,
                                  clock or Clock(chain.engine.head.timestamp_ms),
                                  config=DriverConfig(period_ms=0, allow_empty=allow_empty))
        self.chain: EngineChain = self.driver.chain  # type: ignore[assignment]
        self.driver.start()

    def produce_once(self) -> Block | None:
        """Propose, execute, finalize and commit one block; None when there was nothing to include."""
        return self.chain.last_block if self.driver.try_build() else None


def producer(chain: ChainParts, **kwargs: object) -> Producer:
    return Producer(chain, **kwargs)  # type: ignore[arg-type]


def tx(key: bytes, nonce: int, to: bytes | None, data: bytes = b"", gas: int = 1_000_000) -> bytes:
    return sign_dynamic_fee(key, CHAIN_ID, nonce, to, data, gas)


def legacy_tx(key: bytes, nonce: int, to: bytes, data: bytes = b"", gas: int = 1_000_000,
              chain_id: int = CHAIN_ID) -> bytes:
    """Signed by eth-account, an implementation independent of the node's decoder."""
    signed = Account.from_key(key).sign_transaction(
        {"nonce": nonce, "gasPrice": 0, "gas": gas, "to": to_checksum_address(to), "value": 0, "data": data,
         "chainId": chain_id})
    return bytes(signed.raw_transaction)


def mine(chain: ChainParts, raws: list[bytes]) -> Block:
    for raw in raws:
        chain.front.submit(raw)
    block = producer(chain).produce_once()
    assert block is not None
    return block
