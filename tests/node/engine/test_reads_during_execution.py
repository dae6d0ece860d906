"""Reads never wait for a block: while a block is executing (held mid-way by a hook in the executor, with the
engine's lock taken), eth_call, eth_getBalance, eth_getTransactionCount and colend_status are answered through
the JSON-RPC dispatcher from the last committed state."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from node.engine.chain_parts import ChainParts
from node.execution.evm import create_address
from node.rpc.backend.engine_backend import EngineBackend
from node.rpc.dispatch import Dispatcher
from node.rpc.limits import RpcLimits
from tests.node.store_contract import STORE_BYTECODE, call_data
from tests.node.support import BANK_A, addr, mine, open_engine, producer, tx

WAIT_S = 3  # a bound on waiting for the other thread, never an assertion about time


class HeldExecution:
    """Wraps the engine's executor so that block execution stops half-way until released."""

    def __init__(self, chain: ChainParts) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        inner = chain.executor.execute_block

        def execute_block(*args, **kwargs):  # type: ignore[no-untyped-def]
            out = inner(*args, **kwargs)
            self.started.set()
            assert self.release.wait(WAIT_S), "the test never released the block"
            return out

        chain.executor.execute_block = execute_block  # type: ignore[method-assign]


@pytest.fixture
def chain(tmp_path) -> Iterator[ChainParts]:
    chain = open_engine(tmp_path / "db")
    yield chain
    chain.store.close()


def rpc(dispatcher: Dispatcher, method: str, *params: object) -> object:
    reply = json.loads(dispatcher.handle(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})))
    assert "error" not in reply, reply
    return reply["result"]


def test_reads_are_answered_while_a_block_executes(chain: ChainParts) -> None:
    store = create_address(addr(BANK_A), 0)
    mine(chain, [tx(BANK_A, 0, None, STORE_BYTECODE), tx(BANK_A, 1, store, call_data("set(uint256,uint256)", 7, 42))])
    dispatcher = Dispatcher(EngineBackend(chain), RpcLimits())
    # The next block rewrites vals[7] many times over and is held half-way through.
    for nonce in range(2, 42):
        chain.front.submit(tx(BANK_A, nonce, store, call_data("set(uint256,uint256)", 7, 1_000 + nonce)))
    held = HeldExecution(chain)
    block_thread = threading.Thread(target=lambda: producer(chain).produce_once(), daemon=True)
    block_thread.start()
    assert held.started.wait(WAIT_S)
    assert not chain.engine.lock.acquire(blocking=False)  # the block holds the engine's lock right now

    answers: dict[str, object] = {}

    def read() -> None:
        call = {"to": "0x" + store.hex(), "data": "0x" + call_data("vals(uint256)", 7).hex()}
        answers["call"] = rpc(dispatcher, "eth_call", call, "latest")
        answers["nonce"] = rpc(dispatcher, "eth_getTransactionCount", "0x" + addr(BANK_A).hex(), "latest")
        answers["balance"] = rpc(dispatcher, "eth_getBalance", "0x" + addr(BANK_A).hex(), "latest")
        answers["status"] = rpc(dispatcher, "colend_status")

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(WAIT_S)
    try:
        assert not reader.is_alive(), "a read waited for the executing block"
        assert block_thread.is_alive() and not held.release.is_set()  # answered while the block was still held
        assert int(str(answers["call"]), 16) == 42  # the committed value, not one of the block's
        assert answers["nonce"] == "0x2"
        assert answers["status"]["head"]["number"] == "0x1"  # type: ignore[index]
    finally:
        held.release.set()
        block_thread.join(WAIT_S)
    assert rpc(dispatcher, "eth_blockNumber") == "0x2"
    call = {"to": "0x" + store.hex(), "data": "0x" + call_data("vals(uint256)", 7).hex()}
    assert int(str(rpc(dispatcher, "eth_call", call, "latest")), 16) == 1_041  # and the new block is read once committed
