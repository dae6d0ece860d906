"""SubscriptionSession without a socket: what is pushed, to whom, and that closing cancels at the backend."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount

from node.errors import InvalidParams
from node.rpc.errors import LimitExceeded
from node.rpc.limits import RpcLimits
from node.rpc.subscriptions import SubscriptionSession
from tests.node.rpc.conftest import Rpc
from tests.node.rpc.memory_backend import MemoryBackend, log_data
from tests.node.rpc.test_methods import OTHER, TOPIC_A, send


def test_new_heads_and_logs_are_pushed_until_unsubscribed(rpc: Rpc, backend: MemoryBackend, key: LocalAccount) -> None:
    sent: list[dict] = []
    session = SubscriptionSession(backend, RpcLimits(), sent.append)
    heads = session.subscribe("newHeads")
    logs = session.subscribe("logs", {"address": OTHER, "topics": ["0x" + TOPIC_A.hex()]})
    send(rpc, key, 0, to=OTHER, data=log_data([TOPIC_A]))
    send(rpc, key, 1, data=log_data([TOPIC_A]))  # another address: not for this subscription
    block = backend.mine()
    assert [m["params"]["subscription"] for m in sent] == [heads, logs]
    assert sent[0] == {
        "jsonrpc": "2.0", "method": "eth_subscription",
        "params": {"subscription": heads, "result": sent[0]["params"]["result"]},
    }
    assert sent[0]["params"]["result"]["hash"] == block["hash"]
    assert sent[1]["params"]["result"]["address"] == OTHER
    assert session.unsubscribe(heads) is True
    assert session.unsubscribe(heads) is False
    session.close()
    backend.mine()
    assert len(sent) == 2
    assert not backend._head_subs and not backend._log_subs  # cancelled at the backend, not just muted


@pytest.mark.parametrize(
    ("kind", "options", "fragment"),
    [
        ("newPendingTransactions", None, "unsupported subscription type"),
        (5, None, "unsupported subscription type"),
        ("newHeads", {}, "takes no options"),
        ("logs", {"fromBlock": "0x1"}, "only address and topics"),
        ("logs", {"address": "0x1"}, "address"),
        ("logs", [], "expected a filter object"),
    ],
)
def test_bad_subscriptions_are_invalid_params(backend: MemoryBackend, kind: object, options: object, fragment: str) -> None:
    session = SubscriptionSession(backend, RpcLimits(), lambda m: None)
    with pytest.raises(InvalidParams, match=fragment):
        session.subscribe(kind, options)
    assert len(session) == 0


def test_subscriptions_per_connection_are_bounded(backend: MemoryBackend) -> None:
    session = SubscriptionSession(backend, RpcLimits(max_subscriptions_per_connection=2), lambda m: None)
    session.subscribe("newHeads")
    session.subscribe("newHeads")
    with pytest.raises(LimitExceeded):
        session.subscribe("newHeads")
    session.close()
    with pytest.raises(LimitExceeded):
        session.subscribe("newHeads")
