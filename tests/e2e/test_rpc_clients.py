"""Standard Ethereum clients against a real Colend node process: unmodified web3.py (HTTP and WebSocket) and
ethers v6 (Node.js) deploy a contract, send txs, wait for receipts and filter logs; broken input is refused
with the usual codes while the node keeps serving. Both also talk to the node's group endpoint (/g/<group>),
which answers exactly as / does for the node's one group, and get a clear 404 for a group the node does not hold.

The node is started once per module with the CLI exactly as an operator would (`colend init`, then
`colend node run`), on an ephemeral port read from its `event=rpc_listening` log line. Needs Node.js, the
solc-js of contracts/ (`npm ci` in contracts/) and ethers (`npm ci` in tests/e2e/js/).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import rlp
import tomli_w
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import AsyncWeb3, Web3
from web3.exceptions import BlockNotFound, ContractCustomError, ContractLogicError, ProviderConnectionError
from web3.middleware import SignAndSendRawMiddlewareBuilder
from web3.providers.persistent import WebSocketProvider

from colend.errors import NodeStartFailed
from colend.launcher import NodeLauncher
from contracts.compiler import EVM_VERSION, SOLC_JS_DIR  # the pinned solc-js and the fork the node runs
from node.rpc.endpoints import DEFAULT_GROUP  # the one group of a node configured without groups

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
JS_DIR = Path(__file__).resolve().parent / "js"
NODE_START_TIMEOUT = 60
BLOCK_PERIOD_MS = 100
UNKNOWN_GROUP = "NOBANK+XWBANK"


@dataclass
class RunningNode:
    url: str
    ws_url: str
    chain_id: int
    bank: LocalAccount  # an active BANK member: may write
    other_bank: LocalAccount
    observer: LocalAccount  # an OBSERVER (regulator): must never write
    log_lines: list[str]


def _run_cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "colend", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"colend {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


def _account(key_file: str) -> LocalAccount:
    return Account.from_key(Path(key_file).read_text().strip())


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """A real node process with a fresh chain; its stderr is kept for the checks at the end."""
    root = tmp_path_factory.mktemp("rpc-node")
    info = json.loads(
        _run_cli(
            "init", "--dir", str(root / "node"), "--rpc-port", "0", "--block-period-ms", str(BLOCK_PERIOD_MS),
            "--banks", "BANKA,BANKB", "--observers", "REGULATOR",
        )
    )
    config = Path(info["config"])
    settings = tomllib.loads(config.read_text())
    # Blocks keep coming, as on a QBFT network: ethers' tx.wait() only re-checks a receipt on a new block,
    # so on a chain that goes quiet a tx mined just before its block poller starts is never seen.
    settings["chain"]["allow_empty_blocks"] = True
    config.write_bytes(tomli_w.dumps(settings).encode())
    runner = NodeLauncher(config, root / "node" / "node.log", start_timeout_s=NODE_START_TIMEOUT)
    try:
        try:
            address = runner.start().removeprefix("http://")
        except NodeStartFailed as err:
            pytest.fail(err.message)
        members = info["members"]
        yield RunningNode(
            url=f"http://{address}/", ws_url=f"ws://{address}/", chain_id=info["chainId"],
            bank=_account(members["BANKA"]["keyFile"]), other_bank=_account(members["BANKB"]["keyFile"]),
            observer=_account(members["REGULATOR"]["keyFile"]), log_lines=runner.lines,
        )
    finally:
        if runner.running():
            runner.stop(timeout_s=15)


@pytest.fixture(scope="module")
def probe() -> dict:
    """RpcProbe compiled with the pinned solc-js for the node's fork: {abi, bytecode}."""
    assert SOLC_JS_DIR.exists(), f"solc-js missing: run `npm ci` in {REPO / 'contracts'}"
    done = subprocess.run(
        ["node", str(JS_DIR / "compile_probe.mjs"), str(SOLC_JS_DIR), EVM_VERSION],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _group_url(node: RunningNode, name: str = DEFAULT_GROUP, *, ws: bool = False) -> str:
    return f"{node.ws_url if ws else node.url}g/{name}"


def _web3(node: RunningNode, signer: LocalAccount, url: str | None = None) -> Web3:
    w3 = Web3(Web3.HTTPProvider(url or node.url, request_kwargs={"timeout": 30}))
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(signer), layer=0)
    w3.eth.default_account = signer.address
    return w3


def _wait(w3: Web3, tx_hash: bytes) -> dict:
    return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.05)


def test_web3_http_provider_deploys_sends_waits_and_filters_logs(node: RunningNode, probe: dict) -> None:
    w3 = _web3(node, node.bank)
    assert w3.is_connected()
    assert w3.eth.chain_id == node.chain_id
    assert w3.net.version == str(node.chain_id)
    assert w3.eth.accounts == []
    start = w3.eth.block_number

    factory = w3.eth.contract(abi=probe["abi"], bytecode=probe["bytecode"])
    deploy = _wait(w3, factory.constructor().transact())
    assert deploy.status == 1 and deploy.contractAddress
    contract = w3.eth.contract(address=deploy.contractAddress, abi=probe["abi"])
    assert w3.eth.get_code(contract.address) != b""

    event_filter = contract.events.Stored.create_filter(from_block=deploy.blockNumber)
    block_filter = w3.eth.filter("latest")
    receipt = _wait(w3, contract.functions.store(7, 42, "from web3").transact())
    assert receipt.status == 1 and receipt.blockNumber > start
    assert w3.eth.get_transaction(receipt.transactionHash)["from"] == node.bank.address
    block = w3.eth.get_block(receipt.blockNumber, full_transactions=True)
    assert receipt.transactionHash in [tx["hash"] for tx in block.transactions]

    (stored,) = contract.events.Stored().process_receipt(receipt)
    assert (stored.args.who, stored.args.key, stored.args.value, stored.args.note) == (
        node.bank.address, 7, 42, "from web3"
    )
    new_entries = event_filter.get_new_entries()
    assert [(e.args.key, e.args.note, e.transactionHash) for e in new_entries] == [
        (7, "from web3", receipt.transactionHash)
    ]
    assert event_filter.get_new_entries() == []
    assert receipt.blockHash in block_filter.get_new_entries()
    second = _wait(w3, contract.functions.store(8, 43, "second").transact())
    assert [e.args.key for e in event_filter.get_new_entries()] == [8]
    assert [e.args.key for e in event_filter.get_all_entries()] == [7, 8]
    assert w3.eth.uninstall_filter(event_filter.filter_id) is True

    by_topic = contract.events.Stored().get_logs(
        from_block=deploy.blockNumber, argument_filters={"key": 8}
    )
    assert [log.transactionHash for log in by_topic] == [second.transactionHash]
    raw_logs = w3.eth.get_logs({"address": contract.address, "fromBlock": start, "toBlock": "latest"})
    assert len(raw_logs) == 2

    assert contract.functions.values(7).call() == 42
    assert contract.functions.count().call() == 2
    assert int.from_bytes(w3.eth.get_storage_at(contract.address, 0), "big") == 2  # `count` is slot 0
    assert w3.eth.get_transaction_count(node.bank.address) == w3.eth.get_transaction_count(
        node.bank.address, "pending"
    )

    with pytest.raises(ContractLogicError, match="probe says no"):
        contract.functions.mustFail().call()
    with pytest.raises(ContractCustomError):
        contract.functions.store(1, 5000, "too big").call()
    with pytest.raises(ContractCustomError):
        contract.functions.store(1, 5000, "too big").estimate_gas()


def test_web3_websocket_provider_gets_heads_and_logs(node: RunningNode, probe: dict) -> None:
    w3 = _web3(node, node.other_bank)
    factory = w3.eth.contract(abi=probe["abi"], bytecode=probe["bytecode"])
    contract_address = _wait(w3, factory.constructor().transact()).contractAddress
    contract = w3.eth.contract(address=contract_address, abi=probe["abi"])

    async def run() -> tuple[dict, dict]:
        async with AsyncWeb3(WebSocketProvider(node.ws_url)) as aw3:
            assert await aw3.eth.chain_id == node.chain_id
            heads = await aw3.eth.subscribe("newHeads")
            logs = await aw3.eth.subscribe("logs", {"address": contract_address})
            tx_hash = await asyncio.to_thread(contract.functions.store(9, 44, "ws").transact)
            seen: dict[str, dict] = {}
            async for message in aw3.socket.process_subscriptions():
                seen.setdefault(message["subscription"], message["result"])
                if len(seen) == 2:
                    break
            assert await aw3.eth.unsubscribe(logs) is True
            return seen[heads], {**seen[logs], "sent": tx_hash}

    head, log = asyncio.run(asyncio.wait_for(run(), timeout=60))
    assert log["address"] == contract_address
    sent = log.pop("sent")
    assert log["transactionHash"] == sent
    assert contract.events.Stored().process_log(log)["args"]["note"] == "ws"
    # web3.py formats a notification as a block only if its keys overlap a block's by >= 90%; more than two
    # non-standard header fields make it hand the raw hex through.
    assert isinstance(head["number"], int), f"web3.py did not recognise newHeads as a block header: {sorted(head)}"
    assert head["number"] >= 1 and len(head["hash"]) == 32


def test_ethers_v6_deploys_sends_waits_and_queries_logs(node: RunningNode, probe: dict, tmp_path: Path) -> None:
    assert (JS_DIR / "node_modules" / "ethers").exists(), f"ethers missing: run `npm ci` in {JS_DIR}"
    artifact = tmp_path / "RpcProbe.json"
    artifact.write_text(json.dumps(probe))
    done = subprocess.run(
        ["node", str(JS_DIR / "ethers_client.mjs"), node.url, node.other_bank.key.hex(), str(artifact)],
        capture_output=True, text=True, timeout=180, cwd=JS_DIR,
    )
    assert done.returncode == 0, f"ethers client failed:\n{done.stderr}"
    out = json.loads(done.stdout)
    assert out["chainId"] == str(node.chain_id)
    assert out["storeStatus"] == 1 and out["receiptLogs"] == 1
    assert out["value"] == "42" and out["count"] == "2" and out["code"] is True
    assert out["logs"] == [
        {"who": node.other_bank.address, "key": "7", "value": "42", "note": "from ethers",
         "tx": out["storeTx"], "block": out["storeBlock"]}
    ]
    assert out["watched"] == {"who": node.other_bank.address, "key": "8", "value": "43", "note": "watched"}
    assert out["reasonRevert"]["code"] == "CALL_EXCEPTION" and out["reasonRevert"]["reason"] == "probe says no"
    assert out["customRevert"]["name"] == "TooBig" and out["customRevert"]["args"] == ["5000", "1000"]

    # What ethers reports is what the chain holds, read back through another client.
    w3 = Web3(Web3.HTTPProvider(node.url))
    receipt = w3.eth.get_transaction_receipt(out["storeTx"])
    assert receipt.status == 1 and receipt.blockNumber == out["storeBlock"]
    assert w3.eth.get_transaction_receipt(out["deployTx"]).contractAddress == out["address"]
    assert w3.eth.get_transaction_count(node.other_bank.address) == out["nonce"]


def test_web3_at_the_group_endpoint_gets_the_answers_of_slash_and_block_receipts(node: RunningNode, probe: dict) -> None:
    group = _web3(node, node.bank, _group_url(node))
    root = Web3(Web3.HTTPProvider(node.url))
    assert group.eth.chain_id == root.eth.chain_id == node.chain_id
    factory = group.eth.contract(abi=probe["abi"], bytecode=probe["bytecode"])
    contract = group.eth.contract(address=_wait(group, factory.constructor().transact()).contractAddress, abi=probe["abi"])
    receipt = _wait(group, contract.functions.store(3, 33, "via the group").transact())
    assert receipt.status == 1 and contract.functions.values(3).call() == 33

    block = group.eth.get_block(receipt.blockNumber, full_transactions=True)
    assert block == root.eth.get_block(receipt.blockNumber, full_transactions=True)
    mined = group.eth.get_transaction(receipt.transactionHash)
    assert mined == root.eth.get_transaction(receipt.transactionHash) and mined in block.transactions
    assert int(mined["blockTimestamp"], 16) == block.timestamp  # execution-apis' TransactionInfo
    receipts = group.eth.get_block_receipts(receipt.blockNumber)
    assert receipts == root.eth.get_block_receipts(receipt.blockNumber) == group.eth.get_block_receipts(block.hash)
    assert receipts == [group.eth.get_transaction_receipt(t["hash"]) for t in block.transactions]
    assert receipt in receipts
    with pytest.raises(BlockNotFound):
        group.eth.get_block_receipts(group.eth.block_number + 1000)

    async def over_websocket() -> int:
        async with AsyncWeb3(WebSocketProvider(_group_url(node, ws=True))) as aw3:
            return await aw3.eth.chain_id

    assert asyncio.run(asyncio.wait_for(over_websocket(), timeout=30)) == node.chain_id


def test_a_group_the_node_does_not_hold_is_a_clear_404_to_web3(node: RunningNode) -> None:
    stranger = Web3(Web3.HTTPProvider(_group_url(node, UNKNOWN_GROUP)))
    assert not stranger.is_connected()
    with pytest.raises(requests.HTTPError) as info:
        stranger.eth.chain_id  # noqa: B018 - the property makes the request
    response = info.value.response
    assert response is not None and response.status_code == 404
    error = response.json()["error"]
    assert error["data"] == {"code": "node.unknown_group", "group": UNKNOWN_GROUP} and UNKNOWN_GROUP in error["message"]

    async def over_websocket() -> None:
        provider = WebSocketProvider(_group_url(node, UNKNOWN_GROUP, ws=True), max_connection_retries=1)
        async with AsyncWeb3(provider) as aw3:
            await aw3.eth.chain_id

    with pytest.raises(ProviderConnectionError) as refused:
        asyncio.run(asyncio.wait_for(over_websocket(), timeout=30))
    assert "HTTP 404" in str(refused.value.__cause__)  # the upgrade is refused: no socket to another group
    _assert_serving(node)


def test_ethers_v6_at_the_group_endpoint_gets_the_answers_of_slash_and_block_receipts(node: RunningNode) -> None:
    done = subprocess.run(
        ["node", str(JS_DIR / "ethers_group.mjs"), node.url, _group_url(node), _group_url(node, UNKNOWN_GROUP),
         node.other_bank.key.hex()],
        capture_output=True, text=True, timeout=120, cwd=JS_DIR,
    )
    assert done.returncode == 0, f"ethers client failed:\n{done.stderr}"
    out = json.loads(done.stdout)
    assert out["status"] == 1 and out["formattedBlockNumber"] == out["blockNumber"]
    assert out["group"] == out["root"]
    seen = out["group"]
    assert seen["chainId"] == str(node.chain_id) and seen["tx"]["blockTimestamp"] == seen["block"]["timestamp"]
    assert seen["blockReceipts"] == seen["blockReceiptsByHash"]
    assert [r["transactionHash"] for r in seen["blockReceipts"]] == [t["hash"] for t in seen["block"]["transactions"]]
    assert seen["receipt"] in seen["blockReceipts"]
    refused = out["refused"]
    assert refused["code"] == "SERVER_ERROR" and refused["status"].startswith("404")
    assert refused["body"]["error"]["data"] == {"code": "node.unknown_group", "group": UNKNOWN_GROUP}


def _rpc(node: RunningNode, body: object) -> object:
    import urllib.request

    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(node.url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
    return json.loads(text) if text else None


def _send_raw(node: RunningNode, raw: str) -> dict:
    return _rpc(node, {"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": [raw]})


def _assert_serving(node: RunningNode) -> None:
    reply = _rpc(node, {"jsonrpc": "2.0", "id": 2, "method": "eth_chainId", "params": []})
    assert reply == {"jsonrpc": "2.0", "id": 2, "result": hex(node.chain_id)}


def test_real_node_refuses_bad_transactions_and_keeps_serving(node: RunningNode) -> None:
    w3 = Web3(Web3.HTTPProvider(node.url))
    bank = node.bank
    nonce = w3.eth.get_transaction_count(bank.address, "pending")

    def signed(signer: LocalAccount = bank, **fields: object) -> bytes:
        tx = {"chainId": node.chain_id, "nonce": nonce, "to": "0x" + "22" * 20, "value": 0, "gas": 50_000,
              "maxFeePerGas": 0, "maxPriorityFeePerGas": 0, **fields}
        return bytes(signer.sign_transaction(tx).raw_transaction)

    good = signed()
    fields = rlp.decode(good[1:])
    high_s = good[:1] + rlp.encode([*fields[:11], (2**256 - 1).to_bytes(32, "big")])
    cases = {
        "malformed hex": ("0xzz", -32602, ""),
        "malformed rlp": ("0x02" + "ff" * 20, -32602, ""),
        "truncated": ("0x" + good.hex()[:-10], -32602, ""),
        "wrong chain id": ("0x" + signed(chainId=node.chain_id + 1).hex(), -32000, "chain id"),
        "bad signature": ("0x" + high_s.hex(), None, ""),
        "oversized": ("0x" + "00" * (128 * 1024 + 1), -32000, "oversized"),
        "observer may not write": ("0x" + signed(node.observer, nonce=0).hex(), -32000, "not permitted"),
        "stranger may not write": ("0x" + signed(Account.create(), nonce=0).hex(), -32000, "not permitted"),
    }
    for name, (raw, code, fragment) in cases.items():
        reply = _send_raw(node, raw)
        assert "error" in reply, (name, reply)
        if code is not None:
            assert reply["error"]["code"] == code, (name, reply)
        else:
            assert reply["error"]["code"] in (-32000, -32602), (name, reply)
        assert fragment in reply["error"]["message"].lower(), (name, reply)
        _assert_serving(node)

    accepted = _send_raw(node, "0x" + good.hex())
    assert accepted.get("result") == "0x" + Web3.keccak(good).hex().removeprefix("0x"), accepted
    again = _send_raw(node, "0x" + good.hex())
    assert again["error"]["code"] == -32000 and "already known" in again["error"]["message"], again
    w3.eth.wait_for_transaction_receipt(Web3.keccak(good), timeout=30, poll_latency=0.05)
    stale = _send_raw(node, "0x" + signed(to="0x" + "33" * 20).hex())  # same nonce, other content
    assert stale["error"]["code"] == -32000 and "nonce too low" in stale["error"]["message"], stale

    for body in (b"not json", b"[]", [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(1001)],
                 {"jsonrpc": "2.0", "id": 1, "method": "eth_nope"}, {"jsonrpc": "2.0", "id": 1, "method": 7},
                 {"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": ["0x1234", "latest"]}):
        reply = _rpc(node, body)
        assert isinstance(reply, dict) and reply["error"]["code"] in (-32700, -32600, -32601, -32602), reply
        _assert_serving(node)


def test_node_logged_no_internal_errors(node: RunningNode) -> None:
    """Runs last in the module: nothing any client sent made the RPC layer fail inside."""
    _assert_serving(node)
    bad = [line for line in node.log_lines if "rpc_internal_error" in line or "Traceback" in line]
    assert not bad, "\n".join(bad)
