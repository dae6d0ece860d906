"""The suite on a foreign Ethereum node (anvil), as a consortium on Besu or Quorum would run it: deploy with
`colend contracts deploy`, three banks lend, clear and settle through standard JSON-RPC with gas priced by the
node, then index and reconcile from the deployment file; a deployment file that does not fit the node is refused.

The module fixture `ledger` holds the settled chain and its deployment file: further steps build on it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import Web3RPCError

from bench.support.anvil import Anvil
from clearing.indexer.follower import locate_suite, sync_from_node
from clearing.indexer.store import IndexStore
from colend.ports import free_loopback_port as free_port
from contracts.deploy import deploy
from contracts.deployment import Deployment, load_deployment
from contracts.errors import ArtifactsChanged, BytecodeMismatch, ChainIdMismatch, ContractReverted, DeploymentDiffers
from contracts.ids import bank_id, id_text, text_id
from contracts.members_file import load_members, parse_members
from contracts.rpc_client import SuiteClient
from contracts.tx_sender import TxSender
from node.keyfiles import write_key
from tests.e2e.anvil_node import anvil_account, foreign_anvil
from tests.e2e.test_indexer_follow import RECON_MAPPING

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
CHAIN_ID = 31_337
BANKS = {"WEBANK": 1, "MYBANK": 2, "XWBANK": 3}  # anvil account index of each bank
REGULATOR = 4
SERVICE_START_TIMEOUT_S = 60
BLOCKS_BEFORE_DEPLOY = 5  # the chain has history before the suite: the index must start at the deployment
SETTLED = 5


def colend(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "colend", *args], capture_output=True, text=True, timeout=180, cwd=ROOT)


def members_toml(accounts: dict[str, LocalAccount], observers: dict[str, LocalAccount]) -> str:
    rows = [(b, "BANK", a) for b, a in accounts.items()] + [(b, "OBSERVER", a) for b, a in observers.items()]
    return "".join(f'[[members]]\nbank_id = "{b}"\nname = "{b.title()}"\nrole = "{role}"\naccounts = ["{a.address}"]\n\n'
                   for b, role, a in rows)  # fmt: skip


@dataclass
class Ledger:
    anvil: Anvil
    w3: Web3
    deployment_file: Path
    deployment: Deployment
    client: SuiteClient
    banks: dict[str, LocalAccount]
    deploy_stdout: str


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    root = tmp_path_factory.mktemp("foreign")
    anvil = foreign_anvil(root / "anvil.log", chain_id=CHAIN_ID)
    anvil.start()
    try:
        anvil.rpc("anvil_mine", hex(BLOCKS_BEFORE_DEPLOY))
        write_key(root / "deployer.key", bytes(anvil_account(0).key))
        banks = {name: anvil_account(i) for name, i in BANKS.items()}
        (root / "members.toml").write_text(members_toml(banks, {"REGULATOR": anvil_account(REGULATOR)}))
        done = colend("contracts", "deploy", "--rpc", anvil.url, "--key-file", str(root / "deployer.key"),
                      "--members", str(root / "members.toml"), "--out", str(root / "deployment.json"))  # fmt: skip
        assert done.returncode == 0, done.stderr
        w3 = Web3(Web3.HTTPProvider(anvil.url))
        deployment = load_deployment(root / "deployment.json")
        client = SuiteClient.from_deployment(w3, deployment)
        drive_ledger(client, banks, anvil_account(REGULATOR))
        yield Ledger(anvil, w3, root / "deployment.json", deployment, client, banks, done.stdout)
    finally:
        anvil.stop()


def drive_ledger(client: SuiteClient, banks: dict[str, LocalAccount], regulator: LocalAccount) -> None:
    """Each bank writes from its own account: two servicers' loans, a fee, then one cycle to SETTLED."""
    for n, (servicer, partner) in enumerate((("WEBANK", "MYBANK"), ("MYBANK", "XWBANK"))):
        loan = text_id(f"LN-X{n}")
        client.send(banks[servicer], "CoLending", "registerLoan", {
            "loanId": loan, "servicer": bank_id(servicer), "currency": b"CNY", "principal": 1_200_000 + n * 3_333,
            "borrowerHash": bytes([n + 1]) * 32, "termsHash": b"\x02" * 32,
            "tranches": [{"bank": bank_id(servicer), "shareBps": 3_000}, {"bank": bank_id(partner), "shareBps": 7_000}],
        })  # fmt: skip
        client.send(banks[servicer], "CoLending", "drawdown",
                    {"loanId": loan, "drawdownId": text_id(f"DD-X{n}"), "amount": 1_200_000 + n * 3_333,
                     "valueDate": 20261120})  # fmt: skip
        client.send(banks[servicer], "CoLending", "repay", {
            "loanId": loan, "repaymentId": text_id(f"RP-X{n}"), "principal": 100_001, "interest": 5_432,
            "penalty": 0, "valueDate": 20261122,
        })  # fmt: skip
    client.send(banks["XWBANK"], "Clearing", "postEntry", {
        "entryId": text_id("FEE-X1"), "payer": bank_id("XWBANK"), "payee": bank_id("WEBANK"), "amount": 7_777,
        "kind": 2, "loanId": b"\0" * 32, "valueDate": 20261123, "ref": b"\0" * 32,
    })  # fmt: skip
    with pytest.raises(ContractReverted, match="ObserverCannotWrite"):
        client.send(regulator, "Clearing", "closeCycle")
    client.send(banks["XWBANK"], "Clearing", "closeCycle")
    netted = client.send(banks["WEBANK"], "Clearing", "netCycle", 1)
    for name, account in banks.items():
        if client.call("Clearing", "position", 1, bank_id(name)) != 0:
            client.send(account, "Clearing", "confirmCycle", 1)
    for ins in netted.named("SettlementInstruction"):
        payer, payee = id_text(ins["payer"]), id_text(ins["payee"])
        client.send(banks[payer], "Clearing", "recordPayment", 1, ins["index"], text_id(f"CNAPS-X-{ins['index']}"))
        client.send(banks[payee], "Clearing", "acknowledgePayment", 1, ins["index"])


def test_the_cycle_settles_with_gas_estimated_and_priced_by_the_node(ledger: Ledger) -> None:
    assert ledger.client.call("Clearing", "cycleStatus", 1) == SETTLED
    block = ledger.w3.eth.get_block("latest", full_transactions=True)
    tx = block["transactions"][-1]  # the last acknowledgement
    receipt = ledger.w3.eth.get_transaction_receipt(tx["hash"])
    assert tx["type"] == 2 and tx["maxPriorityFeePerGas"] > 0 and receipt["effectiveGasPrice"] > 0
    assert receipt["gasUsed"] < tx["gas"] <= receipt["gasUsed"] * 2  # an estimate with headroom, not a flat limit
    for account in ledger.banks.values():  # every bank paid for its own writes
        assert ledger.w3.eth.get_balance(account.address) < 10_000 * 10**18


def test_deploy_wrote_a_deployment_file_that_a_rerun_leaves_alone(ledger: Ledger, tmp_path: Path) -> None:
    d = ledger.deployment
    assert d.chain_id == CHAIN_ID and d.complete and d.deployer == anvil_account(0).address
    assert d.block == BLOCKS_BEFORE_DEPLOY + 1
    assert [line.split()[0] for line in ledger.deploy_stdout.splitlines() if " deployed at " in line] == [
        "Consortium", "Clearing", "CoLending"]  # fmt: skip
    before = ledger.deployment_file.read_bytes()
    head = ledger.w3.eth.block_number
    root = ledger.deployment_file.parent
    done = colend("contracts", "deploy", "--rpc", ledger.anvil.url, "--key-file", str(root / "deployer.key"),
                  "--members", str(root / "members.toml"), "--out", str(ledger.deployment_file))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "already deployed" in done.stdout and "nothing to do" in done.stdout
    assert ledger.deployment_file.read_bytes() == before and ledger.w3.eth.block_number == head


def test_a_tx_the_node_refuses_does_not_use_up_a_nonce(ledger: Ledger) -> None:
    """An unfunded sender on a priced chain is refused at send; once funded, its next tx goes out with nonce 0
    (a nonce kept from the refused one would leave it pending forever)."""
    sender, poor = TxSender(ledger.w3), Account.create()
    empty_contract = bytes.fromhex("60006000f3")
    with pytest.raises(Web3RPCError, match=r"(?i)insufficient funds"):
        sender.send(poor, None, empty_contract, timeout_s=10)
    ledger.anvil.rpc("anvil_setBalance", poor.address, hex(10**18))
    receipt = sender.send(poor, None, empty_contract, timeout_s=10)
    assert receipt["status"] == 1 and ledger.w3.eth.get_transaction(receipt["transactionHash"])["nonce"] == 0


def test_index_and_recon_follow_the_deployment_and_find_the_planted_breaks(ledger: Ledger, tmp_path: Path) -> None:
    url = ledger.anvil.url
    with IndexStore(tmp_path / "truth") as truth:
        report = asyncio.run(sync_from_node(url, truth, suite=locate_suite(url, ledger.deployment_file)))
        assert report.first_block == ledger.deployment.block and report.lag == 0
        position = truth.get("MYBANK", "CYCLE_POSITION", "1/MYBANK")
        assert position is not None and position.amount == ledger.client.call("Clearing", "position", 1, bank_id("MYBANK"))
        books = truth.bank_frame("MYBANK").sort("kind", "key")
    wrong_key = books.filter(pl.col("kind") == "REPAYMENT_ALLOCATION")["key"][0]
    dropped_key = books.filter(pl.col("kind") == "DRAWDOWN_ALLOCATION")["key"][0]
    books = books.with_columns(
        pl.when(pl.col("key") == wrong_key).then(pl.col("amount") - 1).otherwise(pl.col("amount")).alias("amount_fen")
    ).filter(pl.col("key") != dropped_key)
    books.drop("amount", "bank", "currency").write_csv(tmp_path / "books.csv")
    (tmp_path / "mapping.toml").write_text(RECON_MAPPING)

    synced = colend("index", "sync", "--node", url, "--deployment", str(ledger.deployment_file), "--index", str(tmp_path / "idx"))
    assert synced.returncode == 0, synced.stderr
    assert json.loads(synced.stdout)["lag"] == 0
    done = colend("recon", "run", "--node", url, "--deployment", str(ledger.deployment_file), "--index", str(tmp_path / "idx"),
                  "--bank", "MYBANK", "--books", str(tmp_path / "books.csv"), "--mapping", str(tmp_path / "mapping.toml"),
                  "--format", "json", "--as-of", "2026-11-24")  # fmt: skip
    assert done.returncode == 1, done.stderr
    overall = json.loads(done.stdout)["statement"]["overall"]
    assert {kind: b["count"] for kind, b in overall["breaks"].items() if b["count"]} == {
        "AMOUNT_MISMATCH": 1, "MISSING_IN_BOOKS": 1}  # fmt: skip
    assert overall["residual"] == 0


def _altered(ledger: Ledger, tmp_path: Path, change: str) -> Path:
    doc = json.loads(ledger.deployment_file.read_text())
    if change == "chain id":
        doc["chainId"] = 999
    elif change == "bytecode":  # two addresses swapped: each holds the other contract's code
        c = doc["contracts"]
        c["Clearing"]["address"], c["CoLending"]["address"] = c["CoLending"]["address"], c["Clearing"]["address"]
    else:
        doc["contracts"]["CoLending"]["initcodeHash"] = "0x" + "ab" * 32
    path = tmp_path / f"{change.replace(' ', '_')}.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(
    ("change", "error", "code", "message"),
    [
        ("chain id", ChainIdMismatch, "contracts.chain_id_mismatch",
         "the node is chain 31337, but the deployment file is for chain 999"),
        ("bytecode", BytecodeMismatch, "contracts.bytecode_mismatch", "is not the deployed Clearing"),
        ("artifacts", ArtifactsChanged, "contracts.artifacts_changed", "CoLending was deployed from other artifacts"),
    ],
)  # fmt: skip
def test_a_deployment_file_that_does_not_fit_the_node_is_refused(
    ledger: Ledger, tmp_path: Path, change: str, error: type[Exception], code: str, message: str
) -> None:
    bad = _altered(ledger, tmp_path, change)
    with pytest.raises(error, match=message):
        SuiteClient.from_deployment(ledger.w3, load_deployment(bad))
    synced = colend("index", "sync", "--node", ledger.anvil.url, "--deployment", str(bad), "--index", str(tmp_path / "idx"))
    assert synced.returncode == 2 and code in synced.stderr and message in synced.stderr
    assert "Traceback" not in synced.stderr
    if change != "chain id":  # the deploy says it in its own words: test_deploy_refuses_a_deployment_file_of_another_chain
        before, head = bad.read_bytes(), ledger.w3.eth.block_number
        plan = load_members(ledger.deployment_file.parent / "members.toml")
        with pytest.raises(error, match=message):
            deploy(ledger.w3, anvil_account(0), plan, bad)
        assert bad.read_bytes() == before and ledger.w3.eth.block_number == head  # nothing sent, nothing rewritten


def test_deploy_refuses_a_deployment_file_of_another_chain(ledger: Ledger, tmp_path: Path) -> None:
    bad = _altered(ledger, tmp_path, "chain id")
    before = bad.read_bytes()
    root = ledger.deployment_file.parent
    done = colend("contracts", "deploy", "--rpc", ledger.anvil.url, "--key-file", str(root / "deployer.key"),
                  "--members", str(root / "members.toml"), "--out", str(bad))  # fmt: skip
    assert done.returncode == 2
    assert "error [contracts.chain_id_mismatch]" in done.stderr and "is for chain 999, but the node is chain 31337" in done.stderr
    assert bad.read_bytes() == before


class Interrupted(Exception):
    pass


def test_zero_gas_chain_unfunded_accounts_and_an_interrupted_deploy_resumes(tmp_path: Path) -> None:
    """A free-gas chain (gas price 0): accounts with no balance deploy and write; a deploy stopped after its first
    contract resumes with the rest, and members that differ from the deployed ones are refused."""
    anvil = foreign_anvil(tmp_path / "anvil.log", chain_id=CHAIN_ID + 1, zero_gas=True)
    anvil.start()
    try:
        w3 = Web3(Web3.HTTPProvider(anvil.url))
        deployer, bank = Account.create(), Account.create()
        plan = parse_members({"members": [{"bank_id": "WEBANK", "name": "WeBank", "role": "BANK", "accounts": [bank.address]},
                                          {"bank_id": "MYBANK", "name": "MYbank", "role": "BANK",
                                           "accounts": [Account.create().address]}]}, "members")  # fmt: skip
        out = tmp_path / "deployment.json"

        def stop_after_first(line: str) -> None:
            raise Interrupted(line)

        with pytest.raises(Interrupted, match="Consortium deployed"):
            deploy(w3, deployer, plan, out, say=stop_after_first)
        first = load_deployment(out)
        assert list(first.contracts) == ["Consortium"] and not first.complete
        resumed = deploy(w3, deployer, plan, out)
        assert [a.split()[0] for a in resumed.actions] == ["Clearing", "CoLending", "CoLending"]
        assert resumed.deployment.contracts["Consortium"] == first.contracts["Consortium"]
        client = SuiteClient.from_deployment(w3, resumed.deployment)
        sent = client.send(bank, "Clearing", "postEntry", {
            "entryId": text_id("FEE-Z1"), "payer": bank_id("WEBANK"), "payee": bank_id("MYBANK"), "amount": 1,
            "kind": 2, "loanId": b"\0" * 32, "valueDate": 20261123, "ref": b"\0" * 32,
        })  # fmt: skip
        assert sent.named("EntryPosted") and w3.eth.get_balance(bank.address) == 0
        assert w3.eth.get_transaction(sent.tx_hash)["gasPrice"] == 0
        assert deploy(w3, deployer, plan, out).no_op
        renamed = parse_members({"members": [{"bank_id": "WEBANK", "name": "WeBank Ltd", "role": "BANK",
                                              "accounts": [bank.address]}]}, "members")  # fmt: skip
        with pytest.raises(DeploymentDiffers, match="WEBANK is on chain as 'WeBank'"):
            deploy(w3, deployer, renamed, out)
    finally:
        anvil.stop()


def test_a_chain_whose_evm_predates_the_contracts_is_refused_before_any_tx(tmp_path: Path) -> None:
    anvil = foreign_anvil(tmp_path / "anvil.log", chain_id=CHAIN_ID + 2, hardfork="paris")  # no PUSH0
    anvil.start()
    try:
        write_key(tmp_path / "deployer.key", bytes(anvil_account(0).key))
        (tmp_path / "members.toml").write_text(members_toml({"WEBANK": anvil_account(1)}, {}))
        done = colend("contracts", "deploy", "--rpc", anvil.url, "--key-file", str(tmp_path / "deployer.key"),
                      "--members", str(tmp_path / "members.toml"), "--out", str(tmp_path / "deployment.json"))  # fmt: skip
        assert done.returncode == 2 and "error [contracts.evm_too_old]" in done.stderr and "PUSH0" in done.stderr
        assert not (tmp_path / "deployment.json").exists() and anvil.rpc("eth_getTransactionCount", anvil_account(0).address,
                                                                         "latest") == "0x0"  # fmt: skip
    finally:
        anvil.stop()


def get_json(url: str, key: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"X-API-Key": key} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def start_service(tmp_path: Path, name: str, node_url: str, deployment: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    """`colend serve` for MYBANK beside the foreign node, with an officer's API key; returns (process, base URL, key)."""
    root = tmp_path / name
    root.mkdir()
    write_key(root / "mybank.key", bytes(anvil_account(BANKS["MYBANK"]).key))
    port = free_port()
    (root / "service.toml").write_text(
        f'[service]\nmode = "bank"\nbank = "MYBANK"\nport = {port}\n\n'
        f'[node]\nurl = "{node_url}"\ndeployment = "{deployment}"\naccount_key_file = "mybank.key"\npoll_s = 0.2\n'
    )
    added = colend("serve-key", "add", "--config", str(root / "service.toml"), "--id", "officer", "--role", "CLEARING_OFFICER")
    assert added.returncode == 0, added.stderr
    with open(root / "service.log", "wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-m", "colend", "serve", "--config", str(root / "service.toml")],
                                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    return proc, f"http://127.0.0.1:{port}/v1", added.stdout.strip()


def wait_for(proc: subprocess.Popen[bytes], base: str, ready: bool) -> dict:
    """The service's /ready answer once it says `ready` (or, for ready=False, once the follower reports an error)."""
    deadline = time.monotonic() + SERVICE_START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, "colend serve exited"
        try:
            status, body = get_json(f"{base}/ready")
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
            continue
        if (status == 200) == ready and (ready or body["follower_error"]):
            return body
        time.sleep(0.1)
    raise AssertionError(f"the service was not {'ready' if ready else 'refusing'} within {SERVICE_START_TIMEOUT_S} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_the_clearing_service_serves_the_foreign_chain_from_the_deployment_file(ledger: Ledger, tmp_path: Path) -> None:
    proc, base, key = start_service(tmp_path, "served", ledger.anvil.url, ledger.deployment_file)
    try:
        ready = wait_for(proc, base, ready=True)
        assert ready["follower_error"] is None and ready["chain_head"] == ledger.w3.eth.block_number
        status, cycle = get_json(f"{base}/cycles/1", key)
        assert status == 200 and cycle["cycle"]["status"] == "SETTLED"
        assert cycle["cycle"]["opened_block"] == ledger.deployment.contracts["Clearing"].block  # followed from the deployment
        mine = {p["bank"]: p["position_fen"] for p in cycle["positions"]["multilateral"]}
        assert mine["MYBANK"] == ledger.client.call("Clearing", "position", 1, bank_id("MYBANK"))
        assert all(i["state"] == "ACKNOWLEDGED" for i in cycle["settlement"]["instructions"])
    finally:
        stop(proc)


def test_the_clearing_service_refuses_a_deployment_file_of_another_chain(ledger: Ledger, tmp_path: Path) -> None:
    proc, base, _key = start_service(tmp_path, "refused", ledger.anvil.url, _altered(ledger, tmp_path, "chain id"))
    try:
        refused = wait_for(proc, base, ready=False)
        assert refused["follower_error"].startswith("contracts.chain_id_mismatch: the node is chain 31337")
        assert refused["index_block"] is None  # nothing was indexed from the wrong chain
    finally:
        stop(proc)


def test_a_deploy_killed_with_a_tx_in_flight_resumes_without_sending_it_again(tmp_path: Path) -> None:
    """kill -9 while the Consortium tx waits to be mined: the file names that tx, and the re-run waits for it
    instead of deploying a second Consortium."""
    anvil = foreign_anvil(tmp_path / "anvil.log", chain_id=CHAIN_ID + 3)
    anvil.start()
    try:
        deployer = anvil_account(0)
        write_key(tmp_path / "deployer.key", bytes(deployer.key))
        (tmp_path / "members.toml").write_text(members_toml({"WEBANK": anvil_account(1), "MYBANK": anvil_account(2)}, {}))
        out = tmp_path / "deployment.json"
        args = [sys.executable, "-m", "colend", "contracts", "deploy", "--rpc", anvil.url, "--key-file",
                str(tmp_path / "deployer.key"), "--members", str(tmp_path / "members.toml"), "--out", str(out)]  # fmt: skip
        anvil.rpc("evm_setAutomine", False)  # txs wait in the pool until mined by hand
        proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + SERVICE_START_TIMEOUT_S
        while not (out.exists() and "pending" in json.loads(out.read_text())):
            assert proc.poll() is None and time.monotonic() < deadline, "the deploy never recorded its tx"
            time.sleep(0.05)
        proc.kill()
        proc.wait()
        in_flight = load_deployment(out).pending["Consortium"]
        anvil.rpc("evm_setAutomine", True)
        anvil.rpc("evm_mine")
        done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        finished = load_deployment(out)
        assert finished.complete and not finished.pending and finished.contracts["Consortium"].tx_hash == in_flight
        assert anvil.rpc("eth_getTransactionCount", deployer.address, "latest") == hex(4)  # 3 contracts and the bind
        SuiteClient.from_deployment(Web3(Web3.HTTPProvider(anvil.url)), finished)  # chain id and code check out
    finally:
        anvil.stop()
