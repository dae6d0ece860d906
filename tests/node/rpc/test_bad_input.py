"""Hostile and broken input over HTTP: each gets a JSON-RPC error, and a valid call works right after."""

from __future__ import annotations

import json

import pytest
import rlp
from aiohttp.test_utils import TestClient
from eth_account.signers.local import LocalAccount

from tests.node.rpc.conftest import CHAIN_ID
from tests.node.rpc.memory_backend import MemoryBackend
from tests.node.rpc.test_server import still_serving

TO = "0x" + "22" * 20


def signed(key: LocalAccount, **overrides: object) -> bytes:
    tx = {"chainId": CHAIN_ID, "nonce": 0, "to": TO, "value": 1, "gas": 21_000, "gasPrice": 0, **overrides}
    tx = {k: v for k, v in tx.items() if v is not None}
    return bytes(key.sign_transaction(tx).raw_transaction)


def call(method: str, *params: object) -> dict:
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}


async def post(client: TestClient, body: object) -> dict:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    resp = await client.post("/", data=data, headers={"Content-Type": "application/json"})
    assert resp.status == 200
    return await resp.json()


def raw_cases(key: LocalAccount) -> dict[str, tuple[str, int, str]]:
    """name -> (0x raw tx, expected code, expected message fragment)."""
    good = signed(key)
    fields = rlp.decode(good)
    high_s = rlp.encode([*fields[:8], (2**256 - 1).to_bytes(32, "big")])
    zero_r = rlp.encode([*fields[:7], b"", fields[8]])
    typed = signed(key, type=2, maxFeePerGas=0, maxPriorityFeePerGas=0, gasPrice=None)
    return {
        "not hex": ("0xnothex", -32602, "invalid hex string"),
        "odd hex": ("0x" + good.hex()[:-1], -32602, "odd length"),
        "no prefix": (good.hex(), -32602, "without 0x prefix"),
        "empty": ("0x", -32602, "rlp"),
        "truncated rlp": ("0x" + good.hex()[:-6], -32602, "rlp"),
        "rlp not a tx": ("0x" + rlp.encode([b"a", b"b"]).hex(), -32602, "rlp"),
        "unknown tx type": ("0x05" + good.hex(), -32602, "rlp"),
        "garbage typed": ("0x02" + "ff" * 40, -32602, "rlp"),
        "wrong chain id": ("0x" + signed(key, chainId=CHAIN_ID + 1).hex(), -32000, "invalid chain id"),
        "wrong chain id typed": (
            "0x" + signed(key, chainId=1, type=2, maxFeePerGas=0, maxPriorityFeePerGas=0, gasPrice=None).hex(),
            -32000, "invalid chain id",
        ),
        "bad signature high s": ("0x" + high_s.hex(), -32000, "invalid sender"),
        "bad signature zero r": ("0x" + zero_r.hex(), -32000, "invalid sender"),
        "flipped byte in typed sig": ("0x" + typed[:-1].hex() + f"{typed[-1] ^ 0xFF:02x}", -32000, ""),
        "oversized": ("0x" + "00" * (128 * 1024 + 1), -32000, "oversized data"),
        "number": (5, -32602, "got number"),
        "null": (None, -32602, "got null"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "not hex", "odd hex", "no prefix", "empty", "truncated rlp", "rlp not a tx", "unknown tx type",
        "garbage typed", "wrong chain id", "wrong chain id typed", "bad signature high s",
        "bad signature zero r", "flipped byte in typed sig", "oversized", "number", "null",
    ],
)
async def test_bad_raw_transactions(client: TestClient, backend: MemoryBackend, key: LocalAccount, case: str) -> None:
    raw, code, fragment = raw_cases(key)[case]
    reply = await post(client, call("eth_sendRawTransaction", raw))
    if case == "flipped byte in typed sig":
        # A flipped s byte either fails recovery or recovers some other account: never the signer's.
        pooled = [tx.sender.hex() for tx in backend.pool]
        assert reply.get("error", {}).get("code") == -32000 or key.address[2:].lower() not in pooled
    else:
        error = reply["error"]
        assert error["code"] == code, error
        assert fragment in error["message"], error
        assert not backend.pool
    await still_serving(client)


async def test_unprotected_legacy_tx_is_refused(client: TestClient, key: LocalAccount) -> None:
    fields = rlp.decode(signed(key))
    unsigned = rlp.encode(fields[:6])
    from eth_account import Account
    from eth_hash.auto import keccak

    sig = Account._keys.PrivateKey(key.key).sign_msg_hash(keccak(unsigned))
    raw = rlp.encode([*fields[:6], 27 + sig.v, sig.r, sig.s])
    error = (await post(client, call("eth_sendRawTransaction", "0x" + raw.hex())))["error"]
    assert error["code"] == -32000 and "EIP-155" in error["message"]
    await still_serving(client)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"this is not json", -32700),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"', -32700),
        (b"\x00\x01\x02", -32700),
        (b"[" * 10_000, -32700),
        (call("eth_noSuchMethod"), -32601),
        (call("debug_traceTransaction", "0x" + "00" * 32), -32601),
        (call("eth_getBalance", "0x1234"), -32602),
        (call("eth_getBalance", 1234), -32602),
        (call("eth_getBalance", ["0x" + "00" * 20]), -32602),
        (call("eth_getBlockByNumber", "0x1", "yes"), -32602),
        (call("eth_getBlockByNumber", 1, False), -32602),
        (call("eth_getBlockByNumber", "0x01", False), -32602),
        (call("eth_getTransactionByHash", "0x" + "00" * 31), -32602),
        (call("eth_getStorageAt", "0x" + "00" * 20, {}), -32602),
        (call("eth_call", "0x00"), -32602),
        (call("eth_call", {"to": 5}), -32602),
        (call("eth_call", {"value": "12"}), -32602),
        (call("eth_getLogs", "latest"), -32602),
        (call("eth_getLogs", {"fromBlock": True}), -32602),
        (call("eth_chainId", "extra"), -32602),
        ({"jsonrpc": "2.0", "id": 1, "method": ["eth_chainId"]}, -32600),
        ({"jsonrpc": 2, "id": 1, "method": "eth_chainId"}, -32600),
        ({"jsonrpc": "2.0", "id": [1], "method": "eth_chainId"}, -32600),
        ({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": "x"}, -32600),
        ("eth_chainId", -32600),
        (12, -32600),
        (True, -32600),
        ([], -32600),
        ([call("eth_chainId")] * 1001, -32600),
    ],
)
async def test_bad_requests(client: TestClient, body: object, code: int) -> None:
    reply = await post(client, body)
    assert isinstance(reply, dict), reply
    assert reply["error"]["code"] == code, reply
    assert reply["id"] in (None, 1)
    await still_serving(client)


async def test_wrong_types_inside_a_batch_are_answered_one_by_one(client: TestClient) -> None:
    reply = await post(client, [call("eth_getBalance", 5), "x", call("eth_chainId")])
    assert [r.get("error", {}).get("code") for r in reply] == [-32602, -32600, None]
    assert reply[2]["result"] == "0x539"
