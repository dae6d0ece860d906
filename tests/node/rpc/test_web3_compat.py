"""Unmodified web3.py against the server (in-memory chain): the calls its HTTP and WebSocket providers make."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestServer
from eth_account.signers.local import LocalAccount
from web3 import AsyncWeb3, Web3
from web3.exceptions import Web3RPCError
from web3.providers.persistent import WebSocketProvider

from node.rpc.server import create_app
from tests.node.rpc.conftest import CHAIN_ID
from tests.node.rpc.memory_backend import MemoryBackend, log_data

TO = "0x" + "22" * 20
TOPIC = b"\x5a" * 32


@pytest.fixture
def backend(key: LocalAccount) -> MemoryBackend:
    return MemoryBackend(chain_id=CHAIN_ID, balances={bytes.fromhex(key.address[2:]): 10**21}, auto_mine=True)


def test_web3_http_provider_sends_waits_and_filters(served_url: str, key: LocalAccount) -> None:
    w3 = Web3(Web3.HTTPProvider(served_url, request_kwargs={"timeout": 10}))
    assert w3.is_connected()
    assert w3.eth.chain_id == CHAIN_ID
    assert w3.eth.gas_price == 0 and w3.eth.max_priority_fee == 0
    block_filter = w3.eth.filter("latest")
    log_filter = w3.eth.filter({"address": Web3.to_checksum_address(TO), "topics": ["0x" + TOPIC.hex()]})
    start = w3.eth.block_number
    nonce = w3.eth.get_transaction_count(key.address, "pending")
    tx = {
        "chainId": CHAIN_ID, "nonce": nonce, "to": Web3.to_checksum_address(TO), "value": 7,
        "gas": 100_000, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0, "data": log_data([TOPIC], b"hi"),
    }
    tx_hash = w3.eth.send_raw_transaction(key.sign_transaction(tx).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10, poll_latency=0.05)
    assert receipt.status == 1 and receipt.blockNumber == start + 1
    assert w3.eth.get_balance(Web3.to_checksum_address(TO)) == 7
    assert w3.eth.get_transaction(tx_hash)["from"] == key.address
    assert w3.eth.get_block("latest", full_transactions=True).transactions[0]["hash"] == tx_hash
    assert block_filter.get_new_entries() == [w3.eth.get_block("latest").hash]
    entries = log_filter.get_new_entries()
    assert [bytes(e["data"]) for e in entries] == [b"hi"]
    assert log_filter.get_new_entries() == []
    assert [e["transactionHash"] for e in log_filter.get_all_entries()] == [tx_hash]
    assert w3.eth.uninstall_filter(log_filter.filter_id) is True
    assert len(w3.eth.get_logs({"fromBlock": 0, "topics": ["0x" + TOPIC.hex()]})) == 1
    history = w3.eth.fee_history(1, "latest", [50])
    assert history["oldestBlock"] == start + 1
    with pytest.raises(Web3RPCError, match="already known"):
        w3.eth.send_raw_transaction(key.sign_transaction(tx).raw_transaction)
    with pytest.raises(Web3RPCError, match="nonce too low"):
        w3.eth.send_raw_transaction(key.sign_transaction({**tx, "value": 8}).raw_transaction)


async def test_web3_websocket_provider_subscribes(backend: MemoryBackend, key: LocalAccount) -> None:
    async with TestServer(create_app(backend)) as server:
        url = f"ws://{server.host}:{server.port}/"
        async with AsyncWeb3(WebSocketProvider(url)) as w3:
            assert await w3.eth.chain_id == CHAIN_ID
            heads = await w3.eth.subscribe("newHeads")
            logs = await w3.eth.subscribe("logs", {"topics": ["0x" + TOPIC.hex()]})
            tx = {"chainId": CHAIN_ID, "nonce": 0, "to": TO, "value": 1, "gas": 100_000, "gasPrice": 0,
                  "data": log_data([TOPIC])}
            await w3.eth.send_raw_transaction(key.sign_transaction(tx).raw_transaction)
            seen: dict[str, object] = {}

            async def collect() -> None:
                async for message in w3.socket.process_subscriptions():
                    seen[message["subscription"]] = message["result"]
                    if len(seen) == 2:
                        return

            await asyncio.wait_for(collect(), timeout=10)
            assert seen[heads]["number"] == 1
            assert seen[logs]["topics"] == [TOPIC]
            assert await w3.eth.unsubscribe(heads) is True
