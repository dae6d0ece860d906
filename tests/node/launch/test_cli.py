import json
import os
import stat
from dataclasses import replace

import pytest
import tomli_w

from colend.cli import main
from node.config import DEFAULT_GROUP, GroupConfig, NodeConfig, load_config
from node.defaults import EXECUTION_NICENESS
from node.keyfiles import read_key
from node.launch.parts import close_chains, node_parts, open_node_chain
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


def test_a_config_without_groups_holds_the_default_group_and_is_written_as_before(tmp_path):
    root = tmp_path / "n"
    assert main(["init", "--dir", str(root), "--rpc-port", "0"]) == 0
    text = (root / "node.toml").read_text()
    config = load_config(root / "node.toml")
    assert config.groups == (GroupConfig(DEFAULT_GROUP, "genesis.json", "data"),) and "groups" not in text
    assert tomli_w.dumps(config.to_toml()) == text  # byte for byte
    moved = replace(config, data_dir="elsewhere", genesis="g.json")  # the default group is [node]'s files, always
    assert moved.groups == (GroupConfig(DEFAULT_GROUP, "g.json", "elsewhere"),) and "groups" not in moved.to_toml()


def test_groups_round_trip_through_node_toml(tmp_path):
    groups = (GroupConfig("webank-xwbank", "groups/webank-xwbank/genesis.json", "data/webank-xwbank"),
              GroupConfig("mybank-webank", "groups/mybank-webank/genesis.json", "data/mybank-webank"))
    config = NodeConfig(node_id="webank-0", groups=groups, base_dir=str(tmp_path))
    config.write(tmp_path / "node.toml")
    text = (tmp_path / "node.toml").read_text()
    assert text.count("[[groups]]") == 2 and 'name = "webank-xwbank"' in text
    assert "genesis =" not in text.split("[rpc]")[0]  # no [node] genesis pointing at a file no one writes
    assert load_config(tmp_path / "node.toml") == config
    with_default = replace(config, groups=(GroupConfig(DEFAULT_GROUP, "ignored", "ignored"), *groups))
    assert with_default.groups[0] == GroupConfig(DEFAULT_GROUP, "genesis.json", "data")
    with_default.write(tmp_path / "node.toml")
    assert load_config(tmp_path / "node.toml") == with_default


@pytest.mark.parametrize(("groups", "refusal"), [
    ('name = "WeBank"\ngenesis = "g.json"\ndata_dir = "d"', r"groups\[0\]\.name must be 1 to 40 lowercase"),
    ('name = "a/b"\ngenesis = "g.json"\ndata_dir = "d"', r"groups\[0\]\.name must be"),
    ('name = ""\ngenesis = "g.json"\ndata_dir = "d"', r"groups\[0\]\.name must be"),
    (f'name = "{"a" * 41}"\ngenesis = "g.json"\ndata_dir = "d"', r"groups\[0\]\.name must be"),
    ('name = "a"\ngenesis = "g.json"\ndata_dir = "d"\n[[groups]]\nname = "a"\ngenesis = "h.json"\ndata_dir = "e"',
     r"groups\[1\]\.name 'a' is also groups\[0\]'s"),
    ('name = "a"\ngenesis = "g.json"\ndata_dir = "d"\n[[groups]]\nname = "b"\ngenesis = "h.json"\ndata_dir = "d/"',
     r"groups\[1\]\.data_dir 'd/' is also groups\[0\]'s"),
    ('name = "a"\ndata_dir = "d"', r"groups\[0\]\.genesis must be a string"),
    ('name = "a"\ngenesis = "g.json"\ndata_dir = "d"\nport = 1', r"groups\[0\] has unknown keys: port"),
    (f'name = "{DEFAULT_GROUP}"\ndata_dir = "other"', rf"groups\[0\]: the '{DEFAULT_GROUP}' group's genesis and data_dir"),
])
def test_a_bad_groups_table_is_refused_naming_the_key(tmp_path, groups, refusal):
    path = tmp_path / "node.toml"
    path.write_text(f"[node]\nrole = \"validator\"\n\n[[groups]]\n{groups}\n")
    with pytest.raises(ValueError, match=refusal):
        load_config(path)


def test_each_group_opens_its_own_chain_on_its_own_genesis_and_store_folder(tmp_path):
    root, other = tmp_path / "n", tmp_path / "o"
    assert main(["init", "--dir", str(root), "--rpc-port", "0", "--chain-id", "4301"]) == 0
    assert main(["init", "--dir", str(other), "--rpc-port", "0", "--chain-id", "4302"]) == 0
    for name, source in (("a-b", root), ("a-c", other)):
        (root / "groups" / name).mkdir(parents=True)
        (source / "genesis.json").rename(root / "groups" / name / "genesis.json")
    groups = (GroupConfig("a-b", "groups/a-b/genesis.json", "data/a-b"),
              GroupConfig("a-c", "groups/a-c/genesis.json", "data/a-c"))
    replace(load_config(root / "node.toml"), groups=groups, execution_process=False).write(root / "node.toml")
    parts = node_parts(load_config(root / "node.toml"))
    try:
        assert [g.name for g in parts.groups] == ["a-b", "a-c"] and parts.peering is None
        assert [g.chain.genesis.chain_id for g in parts.groups] == [4301, 4302]
        assert all(g.chain.engine.head.number == 0 for g in parts.groups)
        assert (root / "data" / "a-b" / "chain").is_dir() and (root / "data" / "a-c" / "chain").is_dir()
        assert not (root / "data" / "chain").exists()  # no store of a default group the config does not name
    finally:
        close_chains([g.chain for g in parts.groups])
