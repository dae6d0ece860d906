"""A small blocking JSON-RPC client over one keep-alive HTTP connection: for `colend node status`, the
benchmarks and the end-to-end tests, where web3's import and per-call overhead would be the thing measured."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

from node.errors import NodeError

Call = tuple[str, list]


class RemoteError(NodeError):
    """The node answered a call with a JSON-RPC error; `data` is that error object."""

    code = "node.remote_error"


class JsonRpcClient:
    """Batches are lists of (method, params); replies come back in request order."""

    def __init__(self, url_or_port: str | int, *, timeout_s: float = 120.0) -> None:
        if isinstance(url_or_port, int):
            host, port, self.path = "127.0.0.1", url_or_port, "/"
        else:  # the path picks the ledger group (/g/<name>); none: the node's default group
            parts = urlsplit(url_or_port)
            host, port, self.path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
        self._next_id = 0

    def encode_batch(self, calls: list[Call]) -> tuple[bytes, list[int]]:
        """One HTTP body for a JSON-RPC batch, and its request ids in order (encode ahead, post later)."""
        body = []
        for method, params in calls:
            self._next_id += 1
            body.append({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        return json.dumps(body).encode(), [b["id"] for b in body]

    def post(self, body: bytes, ids: list[int]) -> list[dict]:
        self.conn.request("POST", self.path, body, {"Content-Type": "application/json"})
        reply = json.loads(self.conn.getresponse().read())
        if not isinstance(reply, list):
            raise RemoteError(f"batch refused: {reply.get('error') if isinstance(reply, dict) else reply}",
                              data=reply.get("error") if isinstance(reply, dict) else None)
        by_id = {r.get("id"): r for r in reply}
        return [by_id[i] for i in ids]

    def batch(self, calls: list[Call]) -> list[dict]:
        return self.post(*self.encode_batch(calls))

    def call(self, method: str, *params: object) -> object:
        reply = self.batch([(method, list(params))])[0]
        if "error" in reply:
            error = reply["error"]
            raise RemoteError(f"{method}: {error.get('message')}", data=error)
        return reply["result"]

    def close(self) -> None:
        self.conn.close()
