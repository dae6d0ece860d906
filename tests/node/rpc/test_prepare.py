"""Big batches of eth_sendRawTransaction prepared by a worker answer exactly as the dispatcher alone does."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from node.engine.chain_parts import ChainParts
from node.rpc.backend.engine_backend import EngineBackend
from node.rpc.backend.peer_backends import ObserverBackend
from node.rpc.dispatch import Dispatcher
from node.rpc.limits import RpcLimits
from node.rpc.prepare import MIN_BODY_BYTES, prepare_batch
from node.tx.signing import sign_dynamic_fee
from tests.node.support import BANK_A, BANK_B, OUTSIDER, addr, open_engine, tx

PADDING = b"\x01" * 400  # calldata, so that a few dozen txs make a batch worth preparing


class InProcessWorkers:
    """Stands in for node.proc.workers.WorkerPool: runs the worker's function here, or fails like a dead one."""

    def __init__(self, limits: object, broken: bool = False) -> None:
        self.limits, self.broken, self.calls = limits, broken, 0

    def call(self, fn: Callable[..., object], *args: object) -> object:
        self.calls += 1
        if self.broken:
            raise BrokenPipeError("worker died")
        return fn(self.limits, *args)

    def prefetch(self, raws: object) -> object:
        from contextlib import nullcontext
        return nullcontext()

    def take(self, raw: bytes) -> None:
        return None


def request(id_: object, method: str, *params: object, notification: bool = False) -> dict:
    out: dict = {"jsonrpc": "2.0", "method": method, "params": list(params)}
    if not notification:
        out["id"] = id_
    return out


def hexed(raw: bytes) -> str:
    return "0x" + raw.hex()


def mixed_batch() -> bytes:
    """Good sends among everything the worker must leave to the dispatcher, and pool refusals."""
    to = addr(BANK_B)
    good = [hexed(tx(BANK_A, n, to, PADDING)) for n in range(24)]
    items = [request(i, "eth_sendRawTransaction", raw) for i, raw in enumerate(good[:20])]
    items += [
        request("dup", "eth_sendRawTransaction", good[3]),  # already known
        request(None, "eth_sendRawTransaction", good[20]),  # a null id is still a call
        request(0, "eth_sendRawTransaction", good[21], notification=True),  # admitted, never answered
        request(2.5, "eth_sendRawTransaction", good[22], "extra"),  # too many params
        {"jsonrpc": "2.0", "id": 7, "method": "eth_sendRawTransaction", "params": {"tx": good[23]}},  # named
        request(8, "eth_sendRawTransaction", "0x02zz"),  # not hex
        request(9, "eth_sendRawTransaction", "0x02c0"),  # not a tx
        request(10, "eth_sendRawTransaction", hexed(sign_dynamic_fee(BANK_A, 1, 30, to, PADDING, 1_000_000))),
        request(11, "eth_sendRawTransaction", hexed(tx(OUTSIDER, 0, to, PADDING))),  # not permitted
        request(12, "eth_sendRawTransaction", hexed(tx(BANK_A, 0, to, PADDING + b"\x02"))),  # replaces nonce 0
        request(13, "eth_blockNumber"),
        {"jsonrpc": "1.0", "id": 14, "method": "eth_sendRawTransaction", "params": [good[23]]},
        ["not", "an", "object"],
        request(True, "eth_sendRawTransaction", good[23]),  # a boolean id is not an id
        request(15, "eth_sendRawTransaction", good[23]),
    ]
    body = json.dumps(items).encode()
    assert len(body) >= MIN_BODY_BYTES
    return body


def answer(chain: ChainParts, body: bytes) -> tuple[object, list[bytes]]:
    """The replies, and the hashes of what the pool holds after."""
    reply = Dispatcher(EngineBackend(chain), RpcLimits()).handle(body)
    pooled = sorted(t.hash for t in chain.front.pool.pending())
    return json.loads(reply) if reply else None, pooled


def test_prepared_batch_answers_and_admits_exactly_as_the_dispatcher_alone(tmp_path: Path) -> None:
    body = mixed_batch()
    alone = open_engine(tmp_path / "alone")
    with_workers = open_engine(tmp_path / "workers")
    with_workers.front.workers = workers = InProcessWorkers(with_workers.limits)  # type: ignore[assignment]
    expected = answer(alone, body)
    assert answer(with_workers, body) == expected and workers.calls == 1
    replies, pooled = expected
    codes = [r["error"]["data"]["code"] if "error" in r else "ok" for r in replies]  # type: ignore[union-attr]
    assert codes == ["ok"] * 20 + [
        "node.already_known", "ok", "node.invalid_params", "node.invalid_params", "node.invalid_params",
        "node.malformed_tx", "node.wrong_chain_id", "node.not_permitted", "ok", "ok", "node.invalid_request",
        "node.invalid_request", "node.invalid_request", "ok"]
    assert len(pooled) == 23  # 20, the null id's, the notification's and id 15's; id 12 replaced nonce 0


def test_a_failing_worker_falls_back_to_the_dispatcher(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    body = mixed_batch()
    expected = answer(open_engine(tmp_path / "alone"), body)
    chain = open_engine(tmp_path / "broken")
    chain.front.workers = InProcessWorkers(chain.limits, broken=True)  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING, logger="colend.rpc"):
        assert answer(chain, body) == expected
    assert "rpc_prepare_failed" in caplog.text


def test_an_observer_refuses_prepared_sends_too(tmp_path: Path) -> None:
    chain = open_engine(tmp_path / "observer")
    chain.front.workers = InProcessWorkers(chain.limits)  # type: ignore[assignment]
    body = json.dumps([request(n, "eth_sendRawTransaction", hexed(tx(BANK_A, n, addr(BANK_B), PADDING)))
                       for n in range(24)]).encode()
    backend = ObserverBackend(chain, extra_status={})
    replies = json.loads(Dispatcher(backend, RpcLimits()).handle(body) or "[]")
    assert [r["error"]["data"]["code"] for r in replies] == ["node.read_only_node"] * 24 and len(chain.front.pool) == 0


def test_bodies_that_are_not_batches_are_left_to_the_dispatcher(tmp_path: Path) -> None:
    chain = open_engine(tmp_path / "db")
    single = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "x", "pad": "0" * 20_000}).encode()
    for body in (b"{", b"[]", single, b"[" * 100 + b"]" * 100, b"\xff\xfe", b"[NaN]"):
        assert prepare_batch(chain.limits, body, RpcLimits()) is None, body[:20]
    assert prepare_batch(chain.limits, json.dumps([1] * 2_000).encode(), RpcLimits(max_batch=1_000)) is None
