"""kill -9 a lone validator mid-consensus: on restart it resumes QBFT at the height after its head and one
round past the round it last persisted, so it never votes twice in a round, and the chain goes on."""

from __future__ import annotations

import re
import time

import pytest

from node.consensus.resume_file import ResumeFile
from node.rpc.client import JsonRpcClient
from node.tx.signing import sign_dynamic_fee
from tests.e2e.node_process import NodeProcess

pytestmark = pytest.mark.e2e
CHAIN_ID = 777
STARTED = re.compile(r"event=consensus_started height=(\d+) round=(\d+) resumed=(\w+)")
ROUND_WAIT_S = 15


def consensus_start(node: NodeProcess) -> tuple[int, int, bool]:
    for line in node.startup_lines:
        if found := STARTED.search(line):
            return int(found[1]), int(found[2]), found[3] == "True"
    raise AssertionError("no event=consensus_started before event=node_started")


def send_and_wait(node: NodeProcess, rpc: JsonRpcClient, nonce: int) -> int:
    raw = sign_dynamic_fee(node.key("WEBANK"), CHAIN_ID, nonce, b"\x22" * 20, b"", gas=100_000)
    tx_hash = rpc.call("eth_sendRawTransaction", "0x" + raw.hex())
    while (receipt := rpc.call("eth_getTransactionReceipt", tx_hash)) is None:
        pass
    return int(receipt["blockNumber"], 16)


def test_a_killed_validator_resumes_at_the_persisted_height_and_next_round(tmp_path):
    node = NodeProcess(tmp_path / "node", block_period_ms=30)
    resume = ResumeFile(node.root / "data" / "consensus.resume")
    node.start()
    try:
        assert consensus_start(node) == (1, 0, False)
        rpc = JsonRpcClient(node.port)
        assert send_and_wait(node, rpc, 0) == 1
        deadline = time.monotonic() + ROUND_WAIT_S
        while (state := resume.load()).round < 1:  # idle: height 2's round-0 timer (1 s) runs out
            assert time.monotonic() < deadline, f"consensus stuck at {state}"
            time.sleep(0.05)
        rpc.close()
        node.kill9()
        state = resume.load()
        assert state.height == 2 and state.round >= 1

        node.start()
        assert consensus_start(node) == (2, state.round + 1, True)
        assert resume.load().round == state.round + 1  # the new round is durable before anything else
        rpc = JsonRpcClient(node.port)
        assert send_and_wait(node, rpc, 1) == 2
        rpc.close()

        node.kill9()  # right after a block: the persisted state may still be that height's, or the next one's
        head_state = resume.load()
        node.start()
        height, round_, resumed = consensus_start(node)
        assert height == 3
        assert (round_, resumed) == ((head_state.round + 1, True) if head_state.height == 3 else (0, False))
    finally:
        if node.proc and node.proc.poll() is None:
            assert node.stop() == 0
