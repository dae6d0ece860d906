"""The deployment file and the code check behind `colend contracts deploy`, on the in-process EVM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.abi import ContractCodec
from contracts.artifacts import SUITE, load_artifact
from contracts.deploy import expected_code_hash
from contracts.deployment import DeployedContract, Deployment, initcode_hash, load_deployment
from contracts.errors import DeploymentFileInvalid
from contracts.evm import EvmSession
from contracts.suite import MemberSpec, Suite, SuitePlan
from tests.contracts.conftest import ACCOUNTS, DEPLOYER, VALIDATOR

PLAN = SuitePlan(
    (
        MemberSpec("WEBANK", "WeBank", "BANK", (ACCOUNTS["WEBANK"],)),
        MemberSpec("MYBANK", "MYbank", "BANK", (ACCOUNTS["MYBANK"],)),
    ),
    (VALIDATOR,),
)


def constructor_args(name: str, addresses: dict[str, str]) -> bytes:
    return ContractCodec(load_artifact(name).abi, name).encode_deploy(b"", *PLAN.constructor_args(name, addresses))


def test_the_replayed_code_hash_is_the_deployed_code_including_immutables() -> None:
    session = EvmSession()
    suite = Suite.deploy(session, DEPLOYER, PLAN.members, PLAN.validators)
    addresses = suite.addresses.as_dict()
    for name in SUITE:
        deployed = "0x" + bytes(session.evm.basic(addresses[name]).code_hash).hex()
        assert expected_code_hash(name, constructor_args(name, addresses), DEPLOYER) == deployed
    # Clearing keeps its deployer and Consortium's address as immutables: other values, other code.
    assert expected_code_hash("Clearing", constructor_args("Clearing", addresses), "0x" + "77" * 20) != expected_code_hash(
        "Clearing", constructor_args("Clearing", addresses), DEPLOYER)  # fmt: skip
    other = dict(addresses, Consortium="0x" + "55" * 20)
    assert expected_code_hash("CoLending", constructor_args("CoLending", other), DEPLOYER) != expected_code_hash(
        "CoLending", constructor_args("CoLending", addresses), DEPLOYER)  # fmt: skip


def sample() -> Deployment:
    contracts = {
        name: DeployedContract(
            "0x" + f"{i + 1:02x}" * 20, 7 + i, "0x" + "ab" * 32, bytes([i]) * 32, initcode_hash(name), "0x" + "cd" * 32
        )
        for i, name in enumerate(SUITE)
    }
    return Deployment(31337, "0x" + "de" * 20, "0.8.28", contracts, bound=True)


def test_a_deployment_file_round_trips_and_is_written_atomically(tmp_path: Path) -> None:
    d = sample()
    d.save(tmp_path / "deployment.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deployment.json"]  # no temp file left behind
    loaded = load_deployment(tmp_path / "deployment.json")
    assert loaded == Deployment.from_json(json.loads(json.dumps(d.to_json())))
    assert loaded.addresses()["Clearing"] == d.contracts["Clearing"].address and loaded.complete and loaded.block == 7
    doc = json.loads((tmp_path / "deployment.json").read_text())
    assert doc["format"] == "colend-deployment/1" and doc["chainId"] == 31337 and doc["block"] == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "cannot read deployment file"),
        ('{"format": "colend-genesis/1"}', "is not a colend-deployment/1 document"),
        ('{"format": "colend-deployment/1", "chainId": 1}', "is damaged"),
        ('{"format": "colend-deployment/1", "chainId": 1, "deployer": "0x12", "compiler": "x", "contracts": {}}', "is damaged"),
    ],
)
def test_a_damaged_deployment_file_is_refused(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "d.json").write_text(text)
    with pytest.raises(DeploymentFileInvalid, match=message) as err:
        load_deployment(tmp_path / "d.json")
    assert err.value.code == "contracts.deployment_file_invalid"


def test_an_unfinished_deployment_is_not_used(tmp_path: Path) -> None:
    d = sample()
    unfinished = Deployment(d.chain_id, d.deployer, d.compiler, {"Consortium": d.contracts["Consortium"]})
    with pytest.raises(DeploymentFileInvalid, match="not complete: run `colend contracts deploy` again"):
        unfinished.check_node(None)  # type: ignore[arg-type]  # refused before any call to the node
    with pytest.raises(DeploymentFileInvalid, match="no deployment file at"):
        load_deployment(tmp_path / "missing.json")


def test_a_sent_tx_is_recorded_until_its_step_is_confirmed(tmp_path: Path) -> None:
    d = sample()
    started = Deployment(d.chain_id, d.deployer, d.compiler).with_pending("Consortium", "0x" + "12" * 32)
    started.save(tmp_path / "d.json")
    assert load_deployment(tmp_path / "d.json").pending == {"Consortium": "0x" + "12" * 32}
    confirmed = started.with_contract("Consortium", d.contracts["Consortium"]).with_pending("bind", "0x" + "34" * 32)
    assert confirmed.pending == {"bind": "0x" + "34" * 32}
    assert "pending" not in confirmed.with_pending("bind", None).to_json()
