"""node/rpc/client.py: calls go to the URL's path (a group's endpoint, /g/<group>), to / without one."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from node.defaults import DEFAULT_GROUP
from node.rpc.client import JsonRpcClient, RemoteError


class _PathEcho(BaseHTTPRequestHandler):
    """Answers every call of a batch with the path it was posted to."""

    def do_POST(self) -> None:
        calls = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        reply = json.dumps([{"jsonrpc": "2.0", "id": c["id"], "result": self.path} for c in calls]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PathEcho)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("target", "path"), [("/g/webank-xwbank", "/g/webank-xwbank"), ("", "/"), (None, "/")])
def test_a_call_is_posted_to_the_urls_path(port: int, target: str | None, path: str) -> None:
    client = JsonRpcClient(port if target is None else f"http://127.0.0.1:{port}{target}")
    try:
        assert client.call("eth_chainId") == path
    finally:
        client.close()


def test_the_client_posts_to_its_urls_group_path(served_url: str) -> None:
    root = served_url.rstrip("/")
    assert JsonRpcClient(f"{root}/g/{DEFAULT_GROUP}").call("eth_chainId") == JsonRpcClient(root).call("eth_chainId")
    with pytest.raises(RemoteError) as refused:
        JsonRpcClient(f"{root}/g/another-group").call("eth_chainId")
    assert refused.value.data["data"]["code"] == "node.unknown_group"
