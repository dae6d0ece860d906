import json
import os
import stat

import pytest

from colend.cli import main
from node.config import load_config
from node.defaults import EXECUTION_NICENESS
from node.keyfiles import read_key
from node.launch.parts import open_node_chain
from tests.node.support import execution_process


def test_init_writes_private_keys_genesis_and_config(tmp_path, capsys):
    root = tmp_path / "n"
    assert main(["init", "--dir", str(root), "--chain-id", "4242", "--banks", "WEBANK,MYBANK",
                 "--observers", "REGULATOR", "--rpc-port", "0"]) == 0
    out = json.loads(capsys.readouterr().out)
    keys = sorted(p.name for p in (root / "keys").iterdir())
    assert keys == ["mybank.key", "regulator.key", "validator.key", "webank.key"]
    for p in (root / "keys").iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
        assert read_key(p).hex() not in json.dumps(out)  # keys never printed
    genesis = json.loads((root / "genesis.json").read_text())
    assert genesis["chainId"] == 4242 and set(genesis["contracts"]) == {"Consortium", "Clearing", "CoLending"}
    assert [m["role"] for m in genesis["members"]] == ["BANK", "BANK", "OBSERVER"]
    config = load_config(root / "node.toml")
    assert config.block_period_ms == 200 and config.rpc_port == 0
    chain = open_node_chain(config)  # the node builds the same contracts the document pins
    permitted = chain.front.permissions.permitted
    assert chain.engine.head.number == 0 and permitted(bytes.fromhex(out["members"]["WEBANK"]["account"][2:]))
    assert not permitted(bytes.fromhex(out["members"]["REGULATOR"]["account"][2:]))
    chain.store.close()
    assert main(["init", "--dir", str(root)]) == 1  # never overwrites a node


def test_the_execution_niceness_is_configured_and_checked(tmp_path):
    root = tmp_path / "n"
    assert main(["init", "--dir", str(root), "--rpc-port", "0"]) == 0
    path = root / "node.toml"
    config = load_config(path)
    assert config.execution_niceness == EXECUTION_NICENESS  # written out by init, so an operator sees the knob
    assert f"execution_niceness = {EXECUTION_NICENESS}" in path.read_text()
    for bad in ("-1", "20", '"10"', "true"):
        path.write_text(path.read_text().replace(f"execution_niceness = {EXECUTION_NICENESS}",
                                                 f"execution_niceness = {bad}"))
        with pytest.raises(ValueError, match="execution_niceness must be an integer from 0 to 19"):
            load_config(path)
        path.write_text(path.read_text().replace(f"execution_niceness = {bad}",
                                                 f"execution_niceness = {EXECUTION_NICENESS}"))
    path.write_text(path.read_text().replace(f"execution_niceness = {EXECUTION_NICENESS}", "execution_niceness = 0"))
    config = load_config(path)
    chain = open_node_chain(config)
    try:
        pid = execution_process(chain).pid
        assert config.execution_niceness == 0 and os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(
            os.PRIO_PROCESS, 0)
    finally:
        chain.engine.close()
        chain.store.close()


def test_a_validator_key_others_can_read_refuses_to_start_with_one_clear_line(tmp_path, caplog):
    root = tmp_path / "n"
    assert main(["init", "--dir", str(root), "--rpc-port", "0"]) == 0
    key = root / load_config(root / "node.toml").validator_key
    key.chmod(0o644)
    assert main(["node", "run", "--config", str(root / "node.toml")]) == 2
    refused = [r.getMessage() for r in caplog.records if "node_refused_to_start" in r.getMessage()]
    assert len(refused) == 1 and "code=contracts.key_file_invalid" in refused[0]
    assert not (root / load_config(root / "node.toml").data_dir / "chain").exists()  # refused before opening anything
