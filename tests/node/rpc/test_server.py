"""The aiohttp app: HTTP framing, size limits, WebSocket requests and subscriptions, shutdown."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer
from eth_account.signers.local import LocalAccount

from node.rpc.limits import RpcLimits
from node.rpc.server import DISPATCHER, bound_port, create_app, serve
from tests.node.rpc.memory_backend import MemoryBackend, log_data
from tests.node.rpc.test_methods import OTHER, TOPIC_A

CHAIN_ID_CALL = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}


async def still_serving(client: TestClient) -> None:
    resp = await client.post("/", json=CHAIN_ID_CALL)
    assert resp.status == 200
    assert await resp.json() == {"jsonrpc": "2.0", "id": 1, "result": "0x539"}


async def test_http_call_and_content_type(client: TestClient) -> None:
    resp = await client.post("/", data=json.dumps(CHAIN_ID_CALL), headers={"Content-Type": "text/plain"})
    assert resp.status == 200 and resp.content_type == "application/json"
    assert (await resp.json())["result"] == "0x539"


async def test_http_notification_is_204_without_body(client: TestClient) -> None:
    resp = await client.post("/", json={"jsonrpc": "2.0", "method": "eth_chainId"})
    assert resp.status == 204 and await resp.read() == b""


async def test_body_over_the_limit_is_an_error_not_a_crash(backend: MemoryBackend) -> None:
    app = create_app(backend, limits=RpcLimits(max_body_bytes=1024))
    async with TestClient(TestServer(app)) as client:
        big = {**CHAIN_ID_CALL, "params": ["0x" + "00" * 2000]}
        resp = await client.post("/", json=big)
        assert resp.status == 413
        body = await resp.json()
        assert body["error"]["code"] == -32600 and "too large" in body["error"]["message"]

        async def chunks():  # no Content-Length: the limit must hold while streaming too
            for _ in range(10):
                yield b" " * 512

        resp = await client.post("/", data=chunks())
        assert resp.status == 413 and (await resp.json())["error"]["code"] == -32600
        await still_serving(client)


async def test_other_paths_and_verbs_get_json_errors(client: TestClient) -> None:
    resp = await client.post("/elsewhere", json=CHAIN_ID_CALL)
    assert resp.status == 404 and (await resp.json())["error"]["code"] == -32601
    resp = await client.get("/")
    assert resp.status == 405 and "WebSocket" in (await resp.json())["error"]["message"]
    resp = await client.put("/", data=b"{}")
    assert resp.status == 405 and (await resp.json())["error"]["code"] == -32600
    await still_serving(client)


async def test_websocket_requests_batches_and_bad_input(client: TestClient) -> None:
    async with client.ws_connect("/") as ws:
        await ws.send_json(CHAIN_ID_CALL)
        assert (await ws.receive_json(timeout=5))["result"] == "0x539"
        await ws.send_str("not json")
        assert (await ws.receive_json(timeout=5))["error"]["code"] == -32700
        await ws.send_bytes(json.dumps([CHAIN_ID_CALL, {**CHAIN_ID_CALL, "id": 2}]).encode())
        assert [r["id"] for r in await ws.receive_json(timeout=5)] == [1, 2]
        await ws.send_json({"jsonrpc": "2.0", "method": "eth_chainId"})  # notification: no reply
        await ws.send_json({**CHAIN_ID_CALL, "id": 3})
        assert (await ws.receive_json(timeout=5))["id"] == 3


async def test_websocket_subscriptions_deliver_in_order(client: TestClient, backend: MemoryBackend, key: LocalAccount) -> None:
    async with client.ws_connect("/") as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]})
        heads = (await ws.receive_json(timeout=5))["result"]
        await ws.send_json(
            {"jsonrpc": "2.0", "id": 2, "method": "eth_subscribe", "params": ["logs", {"address": OTHER}]}
        )
        logs = (await ws.receive_json(timeout=5))["result"]
        raw = key.sign_transaction(
            {"chainId": 1337, "nonce": 0, "to": OTHER, "value": 0, "gas": 100_000, "gasPrice": 0,
             "data": log_data([TOPIC_A])}
        ).raw_transaction
        backend.send_raw_transaction(raw)
        block = backend.mine()
        first, second = await ws.receive_json(timeout=5), await ws.receive_json(timeout=5)
        assert first["method"] == "eth_subscription" and first["params"]["subscription"] == heads
        assert first["params"]["result"]["hash"] == block["hash"]
        assert second["params"]["subscription"] == logs
        assert second["params"]["result"]["topics"] == ["0x" + TOPIC_A.hex()]
        await ws.send_json({"jsonrpc": "2.0", "id": 3, "method": "eth_unsubscribe", "params": [heads]})
        assert (await ws.receive_json(timeout=5))["result"] is True
    await asyncio.sleep(0)  # let the handler's cleanup run
    for _ in range(50):
        if not backend._log_subs:
            break
        await asyncio.sleep(0.02)
    assert not backend._head_subs and not backend._log_subs  # closing the socket unsubscribed everything


async def test_notifications_from_another_thread_reach_the_socket(client: TestClient, backend: MemoryBackend) -> None:
    async with client.ws_connect("/") as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]})
        sub = (await ws.receive_json(timeout=5))["result"]
        callback = next(iter(backend._head_subs.values()))
        worker = threading.Thread(target=lambda: [callback({"number": hex(n)}) for n in range(3)])
        worker.start()
        worker.join()
        got = [await ws.receive_json(timeout=5) for _ in range(3)]
        assert [m["params"]["result"]["number"] for m in got] == ["0x0", "0x1", "0x2"]
        assert {m["params"]["subscription"] for m in got} == {sub}


async def test_slow_websocket_consumer_is_disconnected_not_buffered(backend: MemoryBackend) -> None:
    app = create_app(backend, limits=RpcLimits(ws_outbox_size=2))
    async with TestClient(TestServer(app)) as client, client.ws_connect("/") as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]})
        await ws.receive_json(timeout=5)
        callback = next(iter(backend._head_subs.values()))
        for n in range(50):  # all queued in one loop turn: the outbox overflows
            callback({"number": hex(n)})
        await asyncio.sleep(0.05)
        kinds = []
        while (msg := await ws.receive(timeout=5)).type not in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
            kinds.append(msg.type)
        assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
        assert len(kinds) <= 2
        await still_serving(client)


async def test_websocket_message_over_the_limit_closes_that_socket_only(backend: MemoryBackend) -> None:
    app = create_app(backend, limits=RpcLimits(max_body_bytes=1024))
    async with TestClient(TestServer(app)) as client:
        async with client.ws_connect("/") as ws:
            await ws.send_str(json.dumps({**CHAIN_ID_CALL, "params": ["0x" + "00" * 2000]}))
            msg = await ws.receive(timeout=5)
            assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
        await still_serving(client)


async def test_websocket_connections_are_bounded(backend: MemoryBackend) -> None:
    app = create_app(backend, limits=RpcLimits(max_ws_connections=1))
    async with TestClient(TestServer(app)) as client, client.ws_connect("/"):
        resp = await client.get("/", headers={"Connection": "Upgrade", "Upgrade": "websocket",
                                              "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
        assert resp.status == 503 and (await resp.json())["error"]["code"] == -32005


async def test_serve_listens_and_cleans_up(backend: MemoryBackend) -> None:
    runner = await serve(backend, "127.0.0.1", 0)
    try:
        port = bound_port(runner)
        for garbage in (b"\x00\xff" * 100 + b"\r\n\r\n", b"POST / HTTP/1.1\r\nContent-Length: nope\r\n\r\n"):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(garbage)
            assert (await reader.read()).startswith(b"HTTP/1.")  # refused (4xx), not a dropped server
            writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        body = json.dumps(CHAIN_ID_CALL).encode()
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        response = await reader.read()
        writer.close()
        assert response.startswith(b"HTTP/1.1 200") and b'"result":"0x539"' in response
    finally:
        await runner.cleanup()


async def test_unexpected_handler_failure_is_a_logged_500(backend: MemoryBackend, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def handle(self, body: bytes, session: object, peer: str) -> str:
            raise RuntimeError("dispatcher bug\nwith a second line")

    app = create_app(backend)
    app[DISPATCHER] = Broken()  # type: ignore[assignment]
    async with TestClient(TestServer(app)) as client:
        resp = await client.post("/", json=CHAIN_ID_CALL)
        assert resp.status == 500
        assert (await resp.json())["error"] == {
            "code": -32603, "message": "internal error", "data": {"code": "node.internal_error"},
        }
    (line,) = [r.getMessage() for r in caplog.records if "rpc_http_internal_error" in r.getMessage()]
    assert 'exc_type=RuntimeError exc="dispatcher bug\\nwith a second line"' in line


async def test_a_websocket_acknowledgement_waits_for_the_durability_barrier(
    client: TestClient, backend: MemoryBackend, key: LocalAccount
) -> None:
    raw = key.sign_transaction(
        {"chainId": 1337, "nonce": 0, "to": OTHER, "value": 0, "gas": 21_000, "gasPrice": 0}).raw_transaction
    async with client.ws_connect("/") as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": ["0x" + raw.hex()]})
        reply = await ws.receive_json(timeout=5)
    assert backend.durable_calls == [[bytes.fromhex(reply["result"][2:])]]
