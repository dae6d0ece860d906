"""Polled filters: what eth_getFilterChanges reports, idle expiry counted in blocks, and the bound on count."""

from __future__ import annotations

import re

from eth_account.signers.local import LocalAccount

from node.rpc.dispatch import Dispatcher
from node.rpc.limits import RpcLimits
from tests.node.rpc.conftest import Rpc
from tests.node.rpc.memory_backend import MemoryBackend, log_data
from tests.node.rpc.test_methods import TO, TOPIC_A, TOPIC_B, send

A = "0x" + TOPIC_A.hex()


def test_block_filter_reports_each_new_block_once(rpc: Rpc, backend: MemoryBackend) -> None:
    filter_id = rpc.result("eth_newBlockFilter")
    assert re.fullmatch(r"0x[1-9a-f][0-9a-f]{0,31}", filter_id)  # a 128-bit quantity, no leading zeros (execution-apis)
    assert rpc.result("eth_getFilterChanges", filter_id) == []
    hashes = [backend.mine()["hash"], backend.mine()["hash"]]
    assert rpc.result("eth_getFilterChanges", filter_id) == hashes
    assert rpc.result("eth_getFilterChanges", filter_id) == []
    assert rpc.error("eth_getFilterLogs", filter_id)["code"] == -32000


def test_log_filter_reports_only_new_matching_logs(rpc: Rpc, backend: MemoryBackend, key: LocalAccount) -> None:
    send(rpc, key, 0, data=log_data([TOPIC_A]))
    backend.mine()  # before the filter: not a change, but part of eth_getFilterLogs
    filter_id = rpc.result("eth_newFilter", {"fromBlock": "0x0", "address": TO, "topics": [A]})
    send(rpc, key, 1, data=log_data([TOPIC_B]))
    send(rpc, key, 2, data=log_data([TOPIC_A], b"\x02"))
    backend.mine()
    changes = rpc.result("eth_getFilterChanges", filter_id)
    assert [log["data"] for log in changes] == ["0x02"]
    assert rpc.result("eth_getFilterChanges", filter_id) == []
    assert [log["blockNumber"] for log in rpc.result("eth_getFilterLogs", filter_id)] == ["0x1", "0x2"]
    assert rpc.result("eth_uninstallFilter", filter_id) is True
    assert rpc.result("eth_uninstallFilter", filter_id) is False
    assert rpc.error("eth_getFilterChanges", filter_id) == {
        "code": -32000, "message": "filter not found", "data": {"code": "node.filter_not_found"},
    }


def test_log_filter_respects_its_block_range(rpc: Rpc, backend: MemoryBackend, key: LocalAccount) -> None:
    filter_id = rpc.result("eth_newFilter", {"fromBlock": "0x2", "toBlock": "0x2"})
    for nonce in range(3):
        send(rpc, key, nonce, data=log_data([TOPIC_A], bytes([nonce])))
        backend.mine()
    assert [log["data"] for log in rpc.result("eth_getFilterChanges", filter_id)] == ["0x01"]


def test_idle_filters_expire_after_the_configured_blocks(backend: MemoryBackend) -> None:
    rpc = Rpc(Dispatcher(backend, RpcLimits(filter_idle_blocks=2)))
    idle = rpc.result("eth_newBlockFilter")
    busy = rpc.result("eth_newBlockFilter")
    for _ in range(3):
        backend.mine()
        rpc.result("eth_getFilterChanges", busy)
    assert rpc.error("eth_getFilterChanges", idle)["message"] == "filter not found"
    assert len(rpc.result("eth_getFilterChanges", busy)) == 0


def test_filter_count_is_bounded_and_frees_on_expiry(backend: MemoryBackend) -> None:
    rpc = Rpc(Dispatcher(backend, RpcLimits(max_filters=2, filter_idle_blocks=1)))
    rpc.result("eth_newBlockFilter")
    rpc.result("eth_newFilter", {})
    full = rpc.error("eth_newBlockFilter")
    assert full["code"] == -32005 and "too many filters" in full["message"]
    backend.mine()
    backend.mine()
    assert rpc.result("eth_newBlockFilter")  # the idle two expired


def test_filter_ids_are_validated(rpc: Rpc) -> None:
    for bad in (5, "abc", "0x", "0xzz", "0x" + "1" * 65, None):
        assert rpc.error("eth_getFilterChanges", bad)["code"] == -32602
    assert rpc.error("eth_getFilterChanges", "0x1")["message"] == "filter not found"
    assert "blockHash is not supported" in rpc.error("eth_newFilter", {"blockHash": "0x" + "00" * 32})["message"]


def test_filter_ids_are_case_insensitive(rpc: Rpc, backend: MemoryBackend) -> None:
    filter_id = rpc.result("eth_newBlockFilter")
    backend.mine()
    assert len(rpc.result("eth_getFilterChanges", filter_id.upper().replace("0X", "0x"))) == 1
