"""One server, one endpoint per ledger group: /g/<group> and / (the default group), each its own chain; an unknown
group is a clear 404; a group's filters and subscriptions never see another group's; endpoints come and go live."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer
from eth_account.signers.local import LocalAccount

from node.errors import NodeError
from node.rpc.endpoints import DEFAULT_GROUP, RpcEndpoints, group_path
from node.rpc.errors import GroupAlreadyServed, InvalidGroupName, UnknownGroup
from node.rpc.limits import RpcLimits
from node.rpc.server import add_endpoint, bound_port, create_app, remove_endpoint, serve
from tests.node.rpc.memory_backend import MemoryBackend, log_data
from tests.node.rpc.test_methods import OTHER, TOPIC_A

PAIR = "WEBANK+XWBANK"
CHAIN_ID_CALL = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}


def call(method: str, *params: object, request_id: int = 1) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}


def signed(key: LocalAccount, chain_id: int, nonce: int = 0) -> str:
    raw = key.sign_transaction({"chainId": chain_id, "nonce": nonce, "to": OTHER, "value": 0, "gas": 100_000,
                                "gasPrice": 0, "data": log_data([TOPIC_A])}).raw_transaction
    return "0x" + raw.hex()


@pytest.fixture
def pair(key: LocalAccount) -> MemoryBackend:
    return MemoryBackend(chain_id=4242, balances={bytes.fromhex(key.address[2:]): 10**21})


@pytest.fixture
async def two_groups(backend: MemoryBackend, pair: MemoryBackend) -> AsyncIterator[TestClient]:
    """The default group (chain 1337, the `backend` fixture) and PAIR (chain 4242) on one server."""
    app = create_app(backend)
    add_endpoint(app, PAIR, pair)
    async with TestClient(TestServer(app)) as client:
        yield client


async def result(client: TestClient, path: str, body: dict) -> object:
    resp = await client.post(path, json=body)
    assert resp.status == 200, await resp.text()
    reply = await resp.json()
    assert "error" not in reply, reply
    return reply["result"]


async def assert_unknown_group(resp: aiohttp.ClientResponse, name: str) -> None:
    assert resp.status == 404 and resp.content_type == "application/json"
    body = await resp.json()
    assert body["jsonrpc"] == "2.0" and body["id"] is None
    error = body["error"]
    assert error["code"] == -32601 and error["data"] == {"code": "node.unknown_group", "group": name}
    assert f"unknown group '{name}'" in error["message"]


def test_the_table_names_checks_and_finds_groups(backend: MemoryBackend, pair: MemoryBackend) -> None:
    table = RpcEndpoints(RpcLimits())
    assert table.default == DEFAULT_GROUP == "main" and len(table) == 0
    with pytest.raises(UnknownGroup):
        table.default_endpoint()
    first = table.add(DEFAULT_GROUP, backend)
    table.add(PAIR, pair)
    assert table.default_endpoint() is first and table.endpoint(PAIR).backend is pair
    assert table.names == ("WEBANK+XWBANK", "main") and PAIR in table
    assert table.endpoint(PAIR).dispatcher is not first.dispatcher  # each group its own filters
    with pytest.raises(GroupAlreadyServed):
        table.add(PAIR, backend)
    for bad in ("", "a/b", "../x", "-lead", "a b", "x" * 65, "%2F"):
        with pytest.raises(InvalidGroupName):
            table.add(bad, backend)
    with pytest.raises(UnknownGroup) as info:
        table.endpoint("webank+xwbank")  # names are exact
    assert isinstance(info.value, NodeError) and info.value.data == {"group": "webank+xwbank"}
    assert table.remove(PAIR).backend is pair and PAIR not in table
    with pytest.raises(UnknownGroup):
        table.remove(PAIR)
    assert group_path(PAIR) == "/g/WEBANK+XWBANK"


async def test_each_group_is_its_own_chain_and_slash_is_the_default(two_groups: TestClient) -> None:
    assert await result(two_groups, "/", CHAIN_ID_CALL) == "0x539"
    assert await result(two_groups, "/g/main", CHAIN_ID_CALL) == "0x539"
    assert await result(two_groups, f"/g/{PAIR}", CHAIN_ID_CALL) == "0x1092"
    assert await result(two_groups, "/g/WEBANK%2BXWBANK", CHAIN_ID_CALL) == "0x1092"  # a client quoting the +
    batch = await two_groups.post(f"/g/{PAIR}", json=[call("net_version"), call("eth_blockNumber", request_id=2)])
    assert [r["result"] for r in await batch.json()] == ["4242", "0x0"]


async def test_a_group_the_node_does_not_hold_is_a_clear_404_over_http_and_websocket(two_groups: TestClient) -> None:
    await assert_unknown_group(await two_groups.post("/g/MYBANK+HRBANK", json=CHAIN_ID_CALL), "MYBANK+HRBANK")
    await assert_unknown_group(await two_groups.post("/g/webank+xwbank", json=CHAIN_ID_CALL), "webank+xwbank")
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await two_groups.ws_connect("/g/MYBANK+HRBANK")
    assert info.value.status == 404
    for path in ("/g/", "/g", f"/g/{PAIR}/extra"):
        resp = await two_groups.post(path, json=CHAIN_ID_CALL)
        assert resp.status == 404 and (await resp.json())["error"]["code"] == -32601
    assert await result(two_groups, f"/g/{PAIR}", CHAIN_ID_CALL) == "0x1092"


async def test_txs_and_filters_stay_in_their_group(
    two_groups: TestClient, backend: MemoryBackend, pair: MemoryBackend, key: LocalAccount
) -> None:
    pair_filter = await result(two_groups, f"/g/{PAIR}", call("eth_newBlockFilter"))
    resp = await two_groups.post("/", json=call("eth_getFilterChanges", pair_filter))
    assert (await resp.json())["error"]["data"]["code"] == "node.filter_not_found"
    wrong_chain = await two_groups.post("/", json=call("eth_sendRawTransaction", signed(key, 4242)))
    assert "chain id" in (await wrong_chain.json())["error"]["message"]
    tx_hash = await result(two_groups, f"/g/{PAIR}", call("eth_sendRawTransaction", signed(key, 4242)))
    pair.mine()
    assert (await result(two_groups, f"/g/{PAIR}", call("eth_getTransactionReceipt", tx_hash)))["status"] == "0x1"
    assert await result(two_groups, "/", call("eth_getTransactionReceipt", tx_hash)) is None
    assert await result(two_groups, "/", call("eth_blockNumber")) == "0x0"
    assert len(await result(two_groups, f"/g/{PAIR}", call("eth_getFilterChanges", pair_filter))) == 1
    assert backend.pool == [] and backend.durable_calls == []


async def test_a_groups_subscriptions_see_only_its_own_heads_and_logs(
    two_groups: TestClient, backend: MemoryBackend, pair: MemoryBackend, key: LocalAccount
) -> None:
    async with two_groups.ws_connect("/") as home, two_groups.ws_connect(f"/g/{PAIR}") as away:
        for ws in (home, away):
            await ws.send_json(call("eth_subscribe", "newHeads"))
            await ws.receive_json(timeout=5)
            await ws.send_json(call("eth_subscribe", "logs", {}, request_id=2))
            await ws.receive_json(timeout=5)
        assert len(backend._head_subs) == len(pair._head_subs) == 1
        pair.send_raw_transaction(bytes.fromhex(signed(key, 4242)[2:]))
        block = pair.mine()
        head, log = await away.receive_json(timeout=5), await away.receive_json(timeout=5)
        assert head["params"]["result"]["hash"] == block["hash"]
        assert log["params"]["result"]["topics"] == ["0x" + TOPIC_A.hex()]
        # Had the default group's socket been subscribed to PAIR, its notifications would be queued before this reply.
        await home.send_json(call("eth_chainId", request_id=9))
        assert await home.receive_json(timeout=5) == {"jsonrpc": "2.0", "id": 9, "result": "0x539"}
        backend.mine()
        assert (await home.receive_json(timeout=5))["params"]["result"]["number"] == "0x1"
        await away.send_json(call("eth_chainId", request_id=9))
        assert (await away.receive_json(timeout=5))["result"] == "0x1092"


async def test_endpoints_are_added_and_removed_while_the_server_runs(
    backend: MemoryBackend, pair: MemoryBackend
) -> None:
    app = create_app(backend)
    async with TestClient(TestServer(app)) as client:
        await assert_unknown_group(await client.post(f"/g/{PAIR}", json=CHAIN_ID_CALL), PAIR)
        add_endpoint(app, PAIR, pair)
        assert await result(client, f"/g/{PAIR}", CHAIN_ID_CALL) == "0x1092"
        ws = await client.ws_connect(f"/g/{PAIR}")
        await ws.send_json(call("eth_subscribe", "newHeads"))
        await ws.receive_json(timeout=5)
        assert len(pair._head_subs) == 1
        await remove_endpoint(app, PAIR)
        msg = await ws.receive(timeout=5)
        assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
        await ws.close()
        for _ in range(50):  # the socket's handler unsubscribes as it ends
            if not pair._head_subs:
                break
            await asyncio.sleep(0.02)
        assert not pair._head_subs
        await assert_unknown_group(await client.post(f"/g/{PAIR}", json=CHAIN_ID_CALL), PAIR)
        assert await result(client, "/", CHAIN_ID_CALL) == "0x539"
        await remove_endpoint(app, DEFAULT_GROUP)  # / is the default group: gone with it, never another group
        add_endpoint(app, PAIR, pair)
        await assert_unknown_group(await client.post("/", json=CHAIN_ID_CALL), DEFAULT_GROUP)
        add_endpoint(app, DEFAULT_GROUP, MemoryBackend(chain_id=99))
        assert await result(client, "/", CHAIN_ID_CALL) == "0x63"


async def test_serve_returns_a_server_whose_endpoints_change_live(backend: MemoryBackend, pair: MemoryBackend) -> None:
    server = await serve(backend, "127.0.0.1", 0, group="all")
    url = f"http://127.0.0.1:{bound_port(server)}"
    try:
        server.add_endpoint(PAIR, pair)
        assert server.endpoints.names == (PAIR, "all") and server.endpoints.default == "all"
        async with aiohttp.ClientSession() as session:
            for path, chain_id in (("/", "0x539"), ("/g/all", "0x539"), (f"/g/{PAIR}", "0x1092")):
                async with session.post(url + path, json=CHAIN_ID_CALL) as resp:
                    assert (await resp.json())["result"] == chain_id
            await server.remove_endpoint(PAIR)
            async with session.post(f"{url}/g/{PAIR}", json=CHAIN_ID_CALL) as resp:
                await assert_unknown_group(resp, PAIR)
            async with session.post(f"{url}/g/main", json=CHAIN_ID_CALL) as resp:
                await assert_unknown_group(resp, "main")
    finally:
        await server.cleanup()
