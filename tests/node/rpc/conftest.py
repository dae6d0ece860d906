"""Fixtures: an in-memory chain with a funded key, a dispatcher over it, and the app served for real."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from eth_account import Account
from eth_account.signers.local import LocalAccount

from node.rpc.dispatch import Dispatcher
from node.rpc.limits import RpcLimits
from node.rpc.server import create_app
from tests.node.rpc.memory_backend import MemoryBackend

CHAIN_ID = 1337
FUNDED = 10**21


@pytest.fixture
def key() -> LocalAccount:
    return Account.from_key("0x" + "4c" * 32)


@pytest.fixture
def backend(key: LocalAccount) -> MemoryBackend:
    return MemoryBackend(chain_id=CHAIN_ID, balances={bytes.fromhex(key.address[2:]): FUNDED})


@dataclass
class Rpc:
    """Calls the dispatcher the way a client would, returning the decoded response."""

    dispatcher: Dispatcher

    def raw(self, body: object) -> object:
        text = self.dispatcher.handle(body if isinstance(body, bytes | str) else json.dumps(body))
        return None if text is None else json.loads(text)

    def __call__(self, method: str, *params: object) -> dict:
        reply = self.raw({"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)})
        assert isinstance(reply, dict) and reply["id"] == 7 and reply["jsonrpc"] == "2.0"
        return reply

    def result(self, method: str, *params: object) -> object:
        reply = self(method, *params)
        assert "error" not in reply, reply
        return reply["result"]

    def error(self, method: str, *params: object) -> dict:
        reply = self(method, *params)
        assert "result" not in reply, reply
        return reply["error"]


@pytest.fixture
def limits() -> RpcLimits:
    return RpcLimits()


@pytest.fixture
def rpc(backend: MemoryBackend, limits: RpcLimits) -> Rpc:
    return Rpc(Dispatcher(backend, limits))


@pytest.fixture
async def client(backend: MemoryBackend, limits: RpcLimits) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(backend, limits=limits))) as test_client:
        yield test_client


@pytest.fixture
def served_url(backend: MemoryBackend, limits: RpcLimits) -> Iterator[str]:
    """The app on a real port in its own thread, for synchronous clients such as web3.py's HTTPProvider.

    The backend is then touched only from the server thread, so tests drive it through RPC alone.
    """
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, object] = {}

    async def start() -> None:
        runner = web.AppRunner(create_app(backend, limits=limits))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        holder["runner"] = runner
        holder["port"] = runner.addresses[0][1]
        started.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10), "server thread did not start"
    try:
        yield f"http://127.0.0.1:{holder['port']}/"
    finally:
        asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(10)  # type: ignore[union-attr]
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
