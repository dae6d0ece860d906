"""`colend consortium init --groups --nodes-per-bank` and add-node: a ledger per lending relationship, each bank's
folder holding its own groups only."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from colend.cli import main
from colend.consortium.layout import MANIFEST, NodeEntry, read_manifest
from colend.consortium.operate import NodeStatus, format_rows, status_rows
from network.qbft import PrivateKeySigner
from node.config import DEFAULT_GROUP, GroupConfig, load_config
from node.keyfiles import read_key

BANKS = ["WEBANK", "MYBANK", "XWBANK", "HRBANK"]
GROUPS = {"webank-xwbank": ("WEBANK", "XWBANK"), "webank-hrbank": ("WEBANK", "HRBANK"),
          "mybank-xwbank": ("MYBANK", "XWBANK"), "mybank-webank": ("MYBANK", "WEBANK")}
CHAIN_ID = 4000


def init(root: Path, *extra: str) -> int:
    return main(["consortium", "init", "--banks", ",".join(BANKS), "--observers", "REGULATOR", "--out", str(root),
                 "--base-port", "0", "--chain-id", str(CHAIN_ID), *extra])


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("groups") / "c"
    assert init(root, "--groups", ",".join("+".join(m) for m in GROUPS.values()), "--nodes-per-bank", "2") == 0
    return root


def genesis_of(folder: Path, group: str) -> dict:
    return json.loads((folder / "groups" / group / "genesis.json").read_text())


def test_each_group_is_its_own_chain_of_its_banks_and_the_observers(grouped: Path) -> None:
    manifest = read_manifest(grouped)
    assert [g.name for g in manifest.groups] == list(GROUPS)
    assert [g.chain_id for g in manifest.groups] == [CHAIN_ID + 1 + i for i in range(len(GROUPS))]
    accounts = {m: "0x" + PrivateKeySigner(read_key(grouped / m / "keys" / "account.key")).address.hex()
                for m in (*BANKS, "REGULATOR")}
    for group in manifest.groups:
        doc = genesis_of(grouped, group.name)
        assert doc["chainId"] == group.chain_id and group.members == GROUPS[group.name]
        assert [(m["bankId"], m["role"]) for m in doc["members"]] == [
            *((b, "BANK") for b in GROUPS[group.name]), ("REGULATOR", "OBSERVER")]
        assert all(m["accounts"][0].lower() == accounts[m["bankId"]] for m in doc["members"])  # one account per bank
        validators = [n.address for n in manifest.nodes if n.member in group.members]
        assert doc["validators"] == list(group.validators) == validators and len(validators) == 4  # 2 banks x 2
        assert set(doc["contracts"]) == {"Consortium", "Clearing", "CoLending"}
    assert not (grouped / "genesis.json").exists()  # no chain of everyone


def test_every_node_holds_the_groups_of_its_bank_and_peers_the_nodes_it_shares_one_with(grouped: Path) -> None:
    manifest = read_manifest(grouped)
    assert [n.name for n in manifest.nodes] == [
        *(f"{b.lower()}-{i}" for b in BANKS for i in (0, 1)), "regulator-0"]
    for entry in manifest.nodes:
        held = list(GROUPS) if entry.role == "observer" else [g for g, m in GROUPS.items() if entry.member in m]
        assert list(entry.groups) == held
        config = load_config(entry.config(grouped))
        assert config.groups == tuple(GroupConfig(g, f"groups/{g}/genesis.json", f"data/{g}") for g in held)
        for group in held:
            assert genesis_of(entry.folder(grouped), group) == genesis_of(grouped, group)
        assert {p.name for p in (entry.folder(grouped) / "groups").iterdir()} == set(held)
        sharing = {n.address for n in manifest.nodes if n.name != entry.name and set(n.groups) & set(held)}
        assert config.p2p is not None and {p.address for p in config.p2p.peers} == sharing
    regulator = load_config(manifest.node("regulator-0").config(grouped))
    assert regulator.p2p is not None and len(regulator.p2p.peers) == len(manifest.nodes) - 1
    hrbank = load_config(manifest.node("hrbank-0").config(grouped))
    assert hrbank.p2p is not None and {p.member for p in hrbank.p2p.peers} == {"WEBANK", "HRBANK", "REGULATOR"}


def test_consortium_json_lists_the_groups_and_each_nodes_rpc_url_per_group(grouped: Path) -> None:
    doc = json.loads((grouped / MANIFEST).read_text())
    assert doc["chainId"] == CHAIN_ID
    assert doc["groups"][0] == {"name": "webank-xwbank", "chainId": CHAIN_ID + 1, "members": ["WEBANK", "XWBANK"],
                                "observers": ["REGULATOR"], "validators": doc["groups"][0]["validators"],
                                "genesis": "groups/webank-xwbank/genesis.json"}
    xwbank = next(n for n in doc["nodes"] if n["name"] == "xwbank-1")
    assert xwbank["rpcUrls"] == {g: f"http://127.0.0.1:{xwbank['rpc_port']}/g/{g}"
                                 for g in ("webank-xwbank", "mybank-xwbank")}
    assert "rpcUrl" not in xwbank  # no default group at the port's root


def test_keys_are_0600_and_a_banks_folder_holds_nothing_of_another_bank_or_of_a_group_it_is_not_in(grouped: Path) -> None:
    keys = list(grouped.rglob("*.key"))
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in keys)
    geneses = {g: (grouped / "groups" / g / "genesis.json").read_bytes() for g in GROUPS}
    for member in (*BANKS, "REGULATOR"):
        folder = grouped / member
        mine = [g for g, m in GROUPS.items() if member in m or member == "REGULATOR"]
        others = [p.read_bytes().strip() for p in keys if not p.is_relative_to(folder)]
        for path in (p for p in folder.rglob("*") if p.is_file()):
            content = path.read_bytes()
            assert not any(secret in content for secret in others), path
            assert not any(content == text for g, text in geneses.items() if g not in mine), path


@pytest.mark.parametrize(("groups", "code", "says"), [
    ("WEBANK", "colend.group_too_small", "fewer than 2 banks"),
    ("WEBANK+XWBANK,MYBANK+HRBANK,WEBANK+CNBANK", "colend.group_unknown_bank", "CNBANK, not a bank of the consortium"),
    ("WEBANK+XWBANK,MYBANK+HRBANK+REGULATOR", "colend.group_unknown_bank", "observers are in every group"),
    ("WEBANK+XWBANK,MYBANK+HRBANK,XWBANK+WEBANK", "colend.group_duplicate", "same banks as webank-xwbank"),
    ("WEBANK+XWBANK,MYBANK+XWBANK", "colend.bank_in_no_group", "HRBANK in no group"),
    ("WEBANK+XWBANK,,MYBANK+HRBANK", "colend.invalid_groups", "is not a group"),
    ("WEBANK+XWBANK,MYBANK+MYBANK+HRBANK", "colend.invalid_groups", "names a bank twice"),
])
def test_bad_groups_are_refused_with_a_stable_code_before_anything_is_written(tmp_path: Path, capsys, groups: str,
                                                                              code: str, says: str) -> None:
    assert init(tmp_path / "c", "--groups", groups) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error [{code}]: ") and says in err
    assert not (tmp_path / "c").exists()


def test_nodes_per_bank_must_be_positive(tmp_path: Path, capsys) -> None:
    assert init(tmp_path / "c", "--nodes-per-bank", "0") == 2
    assert "error [colend.bad_arguments]: --nodes-per-bank must be at least 1" in capsys.readouterr().err


def test_add_node_joins_its_banks_groups_and_the_nodes_sharing_one(grouped: Path, capsys) -> None:
    before = read_manifest(grouped)
    hrbank_peers = load_config(before.node("hrbank-0").config(grouped)).p2p
    assert main(["consortium", "add-node", str(grouped), "--member", "XWBANK"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["name"] == "xwbank-2" and out["groups"] == ["webank-xwbank", "mybank-xwbank"]
    manifest = read_manifest(grouped)
    entry = manifest.node("xwbank-2")
    assert manifest.groups == before.groups and entry.groups == ("webank-xwbank", "mybank-xwbank")
    for group in entry.groups:
        assert genesis_of(entry.folder(grouped), group) == genesis_of(grouped, group)
    assert load_config(entry.config(grouped)).groups[1] == GroupConfig(
        "mybank-xwbank", "groups/mybank-xwbank/genesis.json", "data/mybank-xwbank")
    for other in before.nodes:
        config = load_config(other.config(grouped))
        assert config.p2p is not None and (entry.address in {p.address for p in config.p2p.peers}) == (
            other.member != "HRBANK")
    assert load_config(before.node("hrbank-0").config(grouped)).p2p == hrbank_peers


def test_without_groups_one_group_of_everyone_and_a_manifest_written_before_groups_still_reads(tmp_path: Path) -> None:
    root = tmp_path / "c"
    assert init(root) == 0
    manifest = read_manifest(root)
    (group,) = manifest.groups
    assert (group.name, group.chain_id, group.members, group.observers) == (
        DEFAULT_GROUP, CHAIN_ID, tuple(BANKS), ("REGULATOR",))
    assert group.validators == tuple(n.address for n in manifest.nodes if n.role == "validator")
    assert all(n.groups == (DEFAULT_GROUP,) for n in manifest.nodes)
    doc = json.loads((root / MANIFEST).read_text())
    assert doc["nodes"][0]["rpcUrl"] == f"http://127.0.0.1:{doc['nodes'][0]['rpc_port']}"
    old_keys = {f for f in NodeEntry.__dataclass_fields__ if f != "groups"}
    old = {"chainId": doc["chainId"], "nodes": [{k: v for k, v in n.items() if k in old_keys} for n in doc["nodes"]]}
    (root / MANIFEST).write_text(json.dumps(old))
    assert read_manifest(root) == manifest


def test_status_has_a_row_per_node_and_group_with_the_lag_in_its_group() -> None:
    a = NodeEntry("webank-0", "WEBANK", "validator", "0x1", 1, 2, 3, "1", ("a-b", "a-c"))
    b = NodeEntry("xwbank-0", "XWBANK", "validator", "0x2", 4, 5, 6, "2", ("a-b",))

    def status(entry: NodeEntry, group: str, height: int) -> NodeStatus:
        return NodeStatus(entry, {"head": {"number": hex(height)}, "stateCommitment": "0x00", "peers": 1}, group=group)

    rows = status_rows([status(a, "a-b", 7), status(a, "a-c", 3), status(b, "a-b", 5)])
    assert [(r["node"], r["group"], r["height"], r["lag"]) for r in rows] == [
        ("webank-0", "a-b", 7, 0), ("webank-0", "a-c", 3, 0), ("xwbank-0", "a-b", 5, 2)]
    assert format_rows(rows).split()[:3] == ["node", "group", "member"]
    single = status_rows([status(b, DEFAULT_GROUP, 5)])
    assert "group" not in single[0] and format_rows(single).split()[:2] == ["node", "member"]
