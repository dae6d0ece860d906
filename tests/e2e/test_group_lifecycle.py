"""A running node starts a ledger group its node.toml newly lists, and stops one it no longer lists, without a
restart: the new group finalizes while the node's other group goes on, and a stopped group's data stays."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
import tomli_w

from network.qbft import PrivateKeySigner
from node.chain.genesis import GenesisMember
from node.config import GroupConfig, NodeConfig, load_config
from node.engine.genesis_build import new_genesis
from node.keyfiles import read_key
from node.rpc.client import JsonRpcClient
from node.tx.signing import sign_dynamic_fee
from tests.e2e.node_process import NodeProcess
from tests.node.store_contract import STORE_BYTECODE

pytestmark = pytest.mark.e2e
MAIN_CHAIN, EXTRA_CHAIN = 777, 778
WAIT_S = 30.0  # a bound on waiting for the node, never an assertion about time


def write_atomically(path: Path, text: str) -> None:
    """As `colend consortium add-group` writes a node's config: the node never reads half a file."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def eventually(check, what: str) -> object:
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            value = check()
        except (OSError, ValueError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WAIT_S} s: {what}")
        time.sleep(0.05)


def post(url: str, method: str, *params: object) -> tuple[int, dict]:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def deploy(rpc: JsonRpcClient, key: bytes, chain_id: int) -> str:
    """A contract deployment from the bank's account (nonce 0 or next), final once its receipt is there."""
    sender = "0x" + PrivateKeySigner(key).address.hex()
    nonce = int(str(rpc.call("eth_getTransactionCount", sender, "latest")), 16)
    tx_hash = str(rpc.call("eth_sendRawTransaction",
                           "0x" + sign_dynamic_fee(key, chain_id, nonce, None, STORE_BYTECODE, gas=2_000_000).hex()))
    eventually(lambda: rpc.call("eth_getTransactionReceipt", tx_hash), f"receipt of {tx_hash} on chain {chain_id}")
    return tx_hash


def test_a_group_listed_while_the_node_runs_starts_finalizing_and_one_delisted_stops_keeping_its_data(tmp_path):
    node = NodeProcess(tmp_path / "n")
    root, config_path = node.root, node.root / "node.toml"
    config = load_config(config_path)
    validator = PrivateKeySigner(read_key(root / "keys" / "validator.key")).address
    webank = node.key("WEBANK")
    bank = GenesisMember("WEBANK", "Webank", "BANK", (PrivateKeySigner(webank).address,))
    (root / "groups" / "extra").mkdir(parents=True)
    (root / "groups" / "extra" / "genesis.json").write_text(
        json.dumps(new_genesis(EXTRA_CHAIN, (validator,), (bank,)).to_json()))
    base = f"http://127.0.0.1:{node.port}"
    node.start()
    try:
        main, extra_url = JsonRpcClient(base + "/"), base + "/g/extra"
        assert post(extra_url, "eth_chainId")[0] == 404  # not held yet
        deploy(main, webank, MAIN_CHAIN)
        main_height = int(str(main.call("eth_blockNumber")), 16)

        extra = GroupConfig("extra", "groups/extra/genesis.json", "data/extra")
        write_atomically(config_path, _toml(replace(config, groups=(config.default_group, extra))))
        eventually(lambda: post(extra_url, "eth_chainId") == (200, {"jsonrpc": "2.0", "id": 1, "result": hex(EXTRA_CHAIN)}),
                   "the added group's endpoint")
        deploy(JsonRpcClient(extra_url), webank, EXTRA_CHAIN)  # the new group finalizes
        deploy(main, webank, MAIN_CHAIN)  # and the node's first group goes on
        assert int(str(main.call("eth_blockNumber")), 16) > main_height
        assert int(str(JsonRpcClient(extra_url).call("eth_blockNumber")), 16) >= 1

        write_atomically(config_path, _toml(config))
        gone = eventually(lambda: (lambda r: r if r[0] == 404 else None)(post(extra_url, "eth_blockNumber")),
                          "the delisted group's endpoint gone")
        assert gone[1]["error"]["data"]["code"] == "node.unknown_group"
        assert (root / "data" / "extra" / "chain").is_dir()  # its data stays
        deploy(main, webank, MAIN_CHAIN)  # the first group is untouched
    finally:
        code = node.stop()
    log = (root / "node.log").read_text()
    assert code == 0
    assert "event=group_started group=extra chain_id=778" in log and "event=group_stopped group=extra" in log
    assert any("group=extra event=block_committed" in line for line in log.splitlines())  # its thread's lines


def _toml(config: NodeConfig) -> str:
    return tomli_w.dumps(config.to_toml())
