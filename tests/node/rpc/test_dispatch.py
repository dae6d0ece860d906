"""JSON-RPC 2.0 framing without a socket: envelopes, batches, notifications, ids and error mapping."""

from __future__ import annotations

import json
import logging
import time

import pytest
from eth_account.signers.local import LocalAccount
from hypothesis import given, settings
from hypothesis import strategies as st

from node.errors import ExecutionReverted, NodeError, PoolJournalWriteFailed, StateCommitmentMismatch
from node.rpc.dispatch import Dispatcher
from node.rpc.limits import RpcLimits
from tests.node.rpc.conftest import Rpc
from tests.node.rpc.memory_backend import MemoryBackend


def req(method: str, *params: object, id_: object = 1) -> dict:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": list(params)}


def test_single_call_echoes_id_of_any_valid_type(rpc: Rpc) -> None:
    for id_ in (1, "abc", 2.5, None, 0, -3):
        assert rpc.raw(req("eth_chainId", id_=id_)) == {"jsonrpc": "2.0", "id": id_, "result": "0x539"}


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        (b"{", -32700, "parse error"),
        (b"\xff\xfe", -32700, "parse error"),
        (b"", -32700, "parse error"),
        (b'{"a": NaN}', -32700, "NaN is not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, -32700, "parse error"),
        (b"1" * 5000, -32700, "parse error"),  # beyond int() digit limit
        (b"[]", -32600, "empty batch"),
        (b'"eth_chainId"', -32600, "expected an object, got string"),
        (b"null", -32600, "expected an object, got null"),
        (b"42", -32600, "got number"),
        (b'{"id": 1, "method": "eth_chainId"}', -32600, '"jsonrpc" must be exactly "2.0"'),
        (b'{"jsonrpc": "1.0", "id": 1, "method": "eth_chainId"}', -32600, '"jsonrpc"'),
        (b'{"jsonrpc": "2.0", "id": 1, "method": 5}', -32600, '"method" must be a non-empty string'),
        (b'{"jsonrpc": "2.0", "id": 1, "method": ""}', -32600, '"method"'),
        (b'{"jsonrpc": "2.0", "id": {}, "method": "eth_chainId"}', -32600, "id must be"),
        (b'{"jsonrpc": "2.0", "id": true, "method": "eth_chainId"}', -32600, "id must be"),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": 3}', -32600, '"params"'),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": {"a": 1}}', -32602, "named params"),
    ],
)
def test_bad_envelopes_get_the_standard_codes(rpc: Rpc, body: bytes, code: int, fragment: str) -> None:
    reply = rpc.raw(body)
    assert isinstance(reply, dict), reply
    assert reply["error"]["code"] == code
    assert fragment in reply["error"]["message"]
    assert rpc.result("eth_chainId") == "0x539"


def test_invalid_request_keeps_a_valid_id(rpc: Rpc) -> None:
    reply = rpc.raw({"jsonrpc": "2.0", "id": 9, "method": 1})
    assert reply["id"] == 9 and reply["error"]["code"] == -32600


def test_notifications_get_no_response_even_on_error(rpc: Rpc) -> None:
    assert rpc.raw({"jsonrpc": "2.0", "method": "eth_chainId"}) is None
    assert rpc.raw({"jsonrpc": "2.0", "method": "no_such_method"}) is None
    assert rpc.raw({"jsonrpc": "2.0", "method": "eth_getBalance", "params": ["0x1"]}) is None


def test_batch_answers_in_order_and_skips_notifications(rpc: Rpc) -> None:
    reply = rpc.raw(
        [
            req("eth_chainId", id_="a"),
            {"jsonrpc": "2.0", "method": "eth_blockNumber"},
            req("eth_nope", id_="b"),
            7,
            req("net_version", id_="c"),
        ]
    )
    assert [r["id"] for r in reply] == ["a", "b", None, "c"]
    assert reply[0]["result"] == "0x539"
    assert reply[1]["error"]["code"] == -32601
    assert reply[2]["error"]["code"] == -32600
    assert reply[3]["result"] == "1337"


def test_batch_of_notifications_only_gets_no_response(rpc: Rpc) -> None:
    assert rpc.raw([{"jsonrpc": "2.0", "method": "eth_chainId"}] * 3) is None


def test_huge_batch_is_refused_whole(backend: MemoryBackend) -> None:
    rpc = Rpc(Dispatcher(backend, RpcLimits(max_batch=10)))
    ok = rpc.raw([req("eth_chainId", id_=i) for i in range(10)])
    assert len(ok) == 10
    reply = rpc.raw([req("eth_chainId", id_=i) for i in range(11)])
    assert reply["error"] == {
        "code": -32600, "message": "batch too large: 11 requests, limit 10",
        "data": {"code": "node.invalid_request", "limit": 10},
    }


def test_param_count_rules(rpc: Rpc) -> None:
    assert rpc.error("eth_chainId", 1)["message"] == "too many arguments, want at most 0"
    assert rpc.error("eth_getBalance")["message"] == "missing value for required argument 0 (address)"
    assert rpc.error("eth_getBalance", None)["message"] == (
        "invalid argument 0 (address): expected a 0x-prefixed hex string, got null"
    )
    # trailing optional params may be absent or null
    assert rpc.result("eth_getBalance", "0x" + "00" * 20) == "0x0"
    assert rpc.result("eth_getBalance", "0x" + "00" * 20, None) == "0x0"


def test_unknown_method_is_32601_and_truncated(rpc: Rpc) -> None:
    error = rpc.error("x" * 10_000)
    assert error["code"] == -32601
    assert len(error["message"]) < 200


class Exploding(MemoryBackend):
    """A backend whose reads fail in the ways a real one can."""

    def get_balance(self, address: bytes, tag: str) -> int:
        raise RuntimeError("disk on fire\nsecond line")

    def get_code(self, address: bytes, tag: str) -> bytes:
        raise StateCommitmentMismatch("state commitment mismatch at height 3")

    def call(self, tx: dict, tag: str) -> bytes:
        raise ExecutionReverted("execution reverted: nope", data=b"\x08\xc3\x79\xa0")

    def status(self) -> dict:
        return {"bad": object()}

    def get_storage_at(self, address: bytes, slot: int, tag: str) -> bytes:
        raise NodeError("custom", data={"x": float("nan")})


INTERNAL = {"code": -32603, "message": "internal error", "data": {"code": "node.internal_error"}}


def test_backend_failures_map_to_codes_and_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    rpc = Rpc(Dispatcher(Exploding(), RpcLimits()))
    addr = "0x" + "11" * 20
    with caplog.at_level(logging.INFO, logger="colend.rpc"):
        assert rpc.error("eth_getBalance", addr) == INTERNAL
        assert rpc.error("eth_getCode", addr) == {
            "code": -32603, "message": "state commitment mismatch at height 3",
            "data": {"code": "node.state_commitment_mismatch"},
        }
        assert rpc.error("eth_call", {"to": addr}) == {
            "code": 3, "message": "execution reverted: nope", "data": "0x08c379a0",
        }
        assert rpc.error("colend_status") == INTERNAL
        assert rpc.error("eth_getStorageAt", addr, "0x0")["message"] == "custom"
    lines = [r.getMessage() for r in caplog.records]
    assert all("\n" not in line for line in lines)
    internal = [line for line in lines if line.startswith("event=rpc_internal_error method=eth_getBalance")]
    assert len(internal) == 1
    assert 'exc_type=RuntimeError exc="disk on fire"' in internal[0]
    assert "at=" in internal[0]
    assert any(line.startswith("event=rpc_error method=eth_call code=3 kind=node.execution_reverted") for line in lines)
    assert rpc.result("eth_chainId") == "0x539"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
METHOD_NAMES = sorted(Dispatcher(MemoryBackend(), RpcLimits()).methods)
envelopes = st.fixed_dictionaries(
    {"jsonrpc": st.just("2.0"), "id": st.integers(0, 10), "method": st.sampled_from(METHOD_NAMES)},
    optional={"params": st.lists(json_values, max_size=4)},
)


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(json_values, envelopes, st.lists(envelopes, min_size=1, max_size=3)))
def test_any_json_gets_a_well_formed_answer(body: object) -> None:
    rpc = Rpc(Dispatcher(MemoryBackend(), RpcLimits()))
    reply = rpc.raw(json.dumps(body))
    replies = reply if isinstance(reply, list) else [reply]
    for item in replies:
        if item is None:
            continue
        assert item["jsonrpc"] == "2.0" and "id" in item
        assert ("result" in item) != ("error" in item)
        if "error" in item:
            assert item["error"]["code"] != -32603, item  # bad input is the caller's error, never ours
            assert isinstance(item["error"]["message"], str)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=64))
def test_any_bytes_get_an_answer(body: bytes) -> None:
    reply = Rpc(Dispatcher(MemoryBackend(), RpcLimits())).raw(body)
    assert reply is None or isinstance(reply, dict | list)


def test_batch_stops_running_calls_once_replies_pass_the_size_limit(backend: MemoryBackend) -> None:
    rpc = Rpc(Dispatcher(backend, RpcLimits(max_batch_response_bytes=200)))
    backend.calls.clear()
    reply = rpc.raw([req("eth_getBlockByNumber", "latest", False, id_=i) for i in range(3)]
                    + [{"jsonrpc": "2.0", "method": "eth_chainId"}])
    assert "result" in reply[0]  # one block is already past 200 bytes
    assert [r["error"]["code"] for r in reply[1:]] == [-32003, -32003]
    assert [r["id"] for r in reply] == [0, 1, 2]
    assert backend.calls == ["get_block_by_number:latest"]


@pytest.mark.parametrize(
    "hostile",
    [
        "[]" * 40 + '"' + '\\"' * 200_000,  # one unterminated string full of escaped quotes
        "[]" * 40 + '"a\\' * 200_000,
        "[]" * 40 + '"' * 400_000,
    ],
)
def test_depth_guard_is_linear_on_hostile_strings(rpc: Rpc, hostile: str) -> None:
    started = time.perf_counter()
    assert rpc.raw(hostile)["error"]["code"] == -32700
    assert time.perf_counter() - started < 2.0  # a backtracking scan takes minutes here


def test_brackets_inside_strings_do_not_count_as_depth(rpc: Rpc) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": [], "x": "[" * 1000})
    assert rpc.raw(body)["result"] == "0x539"
    nested = "[" * 65 + "]" * 65
    assert "nested deeper than 64" in rpc.raw(nested)["error"]["message"]


def _raw(key: LocalAccount, nonce: int) -> str:
    tx = {"chainId": 1337, "nonce": nonce, "to": "0x" + "22" * 20, "value": 0, "gas": 21_000, "gasPrice": 0}
    return "0x" + bytes(key.sign_transaction(tx).raw_transaction).hex()


def test_one_durability_barrier_per_request_before_any_reply(rpc: Rpc, backend: MemoryBackend, key: LocalAccount) -> None:
    batch = [req("eth_sendRawTransaction", _raw(key, n), id_=n) for n in range(3)]
    replies = rpc.raw([*batch, req("eth_chainId", id_=9), {**req("eth_sendRawTransaction", _raw(key, 0)), "id": 8}])
    assert [r.get("result", "-")[:2] for r in replies] == ["0x", "0x", "0x", "0x", "-"]  # the last: already known
    assert backend.durable_calls == [[bytes.fromhex(r["result"][2:]) for r in replies[:3]]]
    rpc.raw(req("eth_sendRawTransaction", _raw(key, 3)))
    rpc.raw({"jsonrpc": "2.0", "method": "eth_sendRawTransaction", "params": [_raw(key, 4)]})  # a notification too
    rpc.raw([req("eth_chainId"), req("eth_blockNumber")])  # nothing admitted: no barrier
    assert [len(hashes) for hashes in backend.durable_calls] == [3, 1, 1]


def test_when_the_barrier_fails_the_acknowledgements_become_errors(rpc: Rpc, backend: MemoryBackend, key: LocalAccount) -> None:
    backend.durable_error = PoolJournalWriteFailed("the tx pool journal could not be written: disk full")
    replies = rpc.raw([req("eth_sendRawTransaction", _raw(key, 0), id_="a"), req("eth_chainId", id_="b"),
                       req("eth_sendRawTransaction", "0x00", id_="c")])
    assert replies[0] == {"jsonrpc": "2.0", "id": "a", "error": {
        "code": -32603, "message": "the tx pool journal could not be written: disk full",
        "data": {"code": "node.pool_journal_write_failed"}}}
    assert replies[1]["result"] == "0x539" and replies[2]["error"]["code"] == -32602  # untouched
    assert backend.pool == []
    backend.durable_error = None
    assert rpc.result("eth_sendRawTransaction", _raw(key, 0)).startswith("0x")  # a retry starts afresh


def test_what_json_allows_beyond_the_fast_codec_still_parses_and_echoes(rpc: Rpc) -> None:
    """Integers past 64 bits and lone surrogate escapes are JSON: the standard codec takes what orjson refuses."""
    big = 2**64 + 1
    body = b'{"jsonrpc": "2.0", "id": %d, "method": "eth_chainId"}' % big
    assert rpc.raw(body) == {"jsonrpc": "2.0", "id": big, "result": "0x539"}
    reply = rpc.raw(b'{"jsonrpc": "2.0", "id": "\\ud800", "method": "eth_chainId"}')
    assert reply["result"] == "0x539"


def test_depth_is_checked_on_both_parsing_paths(rpc: Rpc) -> None:
    """64 levels pass; 65 are refused, whether the fast parser took the body or the standard one (a big integer
    sends the body there)."""
    for filler in ("0", str(2**70)):
        ok = "[" * 62 + filler + "]" * 62  # inside a batch and a request object: 64 levels
        deep = "[" * 65 + filler + "]" * 65
        body = '[{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "x": ' + ok + "}]"
        assert rpc.raw(body)[0]["result"] == "0x539"
        assert "nested deeper than 64" in rpc.raw(deep)["error"]["message"]
