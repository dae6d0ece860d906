"""schemathesis against a running service beside a real node: generated requests (valid and invalid) to
every operation of /v1/openapi.json; no 5xx, and every response matches its documented schema and content
type. Bounded (examples per operation) so both roles run in about a minute on two cores."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from contracts.rpc_client import SuiteClient
from tests.e2e.node_process import ROOT, NodeProcess
from tests.e2e.service_process import BOOKS_HEADER, ServiceProcess
from tests.e2e.test_service import drive_ledger

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
MAX_EXAMPLES = "10"
# the regulator views serve clearing.policy (built on another branch); until it is in this build they
# answer 503 clearing.not_ready by design, so they are fuzzed only once the module is there
POLICY_MISSING = importlib.util.find_spec("clearing.policy") is None


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    node = NodeProcess(tmp_path_factory.mktemp("schema") / "node", block_period_ms=20)
    node.start()
    try:
        drive_ledger(node, SuiteClient(Web3(Web3.HTTPProvider(f"http://127.0.0.1:{node.port}")), node.info["contracts"]))
        yield node
    finally:
        node.stop()


@pytest.mark.parametrize("role", ["CLEARING_OFFICER", "REGULATOR"])
def test_no_server_errors_and_responses_match_the_schema(node: NodeProcess, tmp_path: Path, role: str) -> None:
    key_file = node.root / "keys" / "webank.key"
    service = ServiceProcess(tmp_path, bank="WEBANK", node_url=f"http://127.0.0.1:{node.port}", key_file=key_file)
    service.books.write_text(BOOKS_HEADER + "CLEARING_ENTRY,NOT-ON-CHAIN,100,2026-11-21,MYBANK,1\n")
    key = service.add_key("fuzz", role)
    service.start()
    try:
        service.wait_for("ready", lambda: service.request("GET", "/v1/ready")[1]["ready"])
        done = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", service.url + "/v1/openapi.json", "--url", service.url,
             "--checks", "not_a_server_error,response_schema_conformance,content_type_conformance",
             "--max-examples", MAX_EXAMPLES, "--phases", "examples,coverage,fuzzing", "--generation-deterministic",
             "--workers", "1", "--suppress-health-check", "filter_too_much", "-H", f"X-API-Key: {key}", "--request-timeout", "30",
             *(["--exclude-tag", "regulator"] if POLICY_MISSING else [])],
            cwd=ROOT, capture_output=True, text=True, timeout=280,
        )  # fmt: skip
    finally:
        service.stop()
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert [line for line in service.lines if "request_crashed" in line] == []
